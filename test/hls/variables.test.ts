/** EXT-X-DEFINE: URIs with {$variable} references stay resolvable for the player after the rewrite. */
import { parseHls } from '../../src/manifest/hls';

const ORIGIN = 'http://origin.test/live/';
const URL = 'http://origin.test/live/a/media.m3u8';

function slots(text: string) {
  return parseHls(text, URL, ORIGIN).template.slots.map((s) => ({ original: s.original, path: s.path }));
}

const media = (defines: string, uri: string) =>
  `#EXTM3U\n#EXT-X-VERSION:11\n#EXT-X-TARGETDURATION:4\n${defines}#EXTINF:4,\n${uri}\n`;

describe('HLS variable substitution', () => {
  it('places a URI led by a variable whose value makes it a relative path, reference kept', () => {
    expect(slots(media('#EXT-X-DEFINE:NAME="p",VALUE="hd"\n', '{$p}/s1.ts'))).toEqual([
      { original: '{$p}/s1.ts', path: 'a/{$p}/s1.ts' },
    ]);
  });

  it('leaves a URI led by a variable whose value is absolute exactly as written', () => {
    expect(slots(media('#EXT-X-DEFINE:NAME="h",VALUE="https://elsewhere.test/x"\n', '{$h}/s1.ts'))).toEqual([
      { original: '{$h}/s1.ts', path: undefined },
    ]);
    expect(slots(media('#EXT-X-DEFINE:NAME="h",VALUE="/root"\n', '{$h}/s1.ts'))).toEqual([
      { original: '{$h}/s1.ts', path: undefined },
    ]);
  });

  it('leaves a URI led by an IMPORTed or QUERYPARAM variable (value unknown here) as written', () => {
    expect(slots(media('#EXT-X-DEFINE:IMPORT="p"\n', '{$p}/s1.ts'))).toEqual([
      { original: '{$p}/s1.ts', path: undefined },
    ]);
    expect(slots(media('#EXT-X-DEFINE:QUERYPARAM="p"\n', '{$p}/s1.ts'))).toEqual([
      { original: '{$p}/s1.ts', path: undefined },
    ]);
  });

  it('keeps references inside the URI and its query through resolution', () => {
    expect(slots(media('#EXT-X-DEFINE:QUERYPARAM="tok"\n', '../b/s_{$x}.ts?tok={$tok}'))).toEqual([
      { original: '../b/s_{$x}.ts?tok={$tok}', path: 'b/s_{$x}.ts?tok={$tok}' },
    ]);
  });

  it('a variable is known only after its definition', () => {
    const text = `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n{$p}/s0.ts\n#EXT-X-DEFINE:NAME="p",VALUE="hd"\n#EXTINF:4,\n{$p}/s1.ts\n`;
    expect(slots(text).map((s) => s.path)).toEqual([undefined, 'a/{$p}/s1.ts']);
  });
});
