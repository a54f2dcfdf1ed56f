import { raisePartHoldBack, withPartHoldBack } from '../../src/manifest/hold-back';
import { parseManifest } from '../../src/manifest/load';
import { render } from '../../src/manifest/template';

const ORIGIN = 'http://origin.example/live/';

const ll = (control: string, end = ''): string =>
  '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n' +
  `${control}\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:50\n` +
  '#EXTINF:1.0,\ns50.ts\n#EXT-X-PART:DURATION=0.2,URI="s51.ts",BYTERANGE="100@0",INDEPENDENT=YES\n' +
  `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s51.ts",BYTERANGE-START=100\n${end}`;

const parsed = (text: string) => parseManifest(text, ORIGIN + 'v0/index.m3u8', ORIGIN, undefined);
/** The playlist as the template renders it with every URI as written (no prefixes). */
const text = (t: ReturnType<typeof parsed>['template']): string => render(t, (s) => s.original);

describe('raisePartHoldBack', () => {
  test('raises a smaller PART-HOLD-BACK to the floor, every other byte kept', () => {
    const src = ll('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,CAN-SKIP-UNTIL=6.0');
    const out = text(raisePartHoldBack(parsed(src).template, 2000));
    expect(out).toBe(src.replace('PART-HOLD-BACK=0.600', 'PART-HOLD-BACK=2'));
  });
  test('keeps a PART-HOLD-BACK at or above the floor (the same template)', () => {
    const { template } = parsed(ll('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.0'));
    expect(raisePartHoldBack(template, 2000)).toBe(template);
    expect(raisePartHoldBack(template, 3000)).toBe(template);
  });
  test('adds PART-HOLD-BACK to a SERVER-CONTROL without one; a playlist without SERVER-CONTROL is kept', () => {
    const src = ll('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
    expect(text(raisePartHoldBack(parsed(src).template, 1500))).toBe(
      src.replace('CAN-BLOCK-RELOAD=YES', 'CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5'),
    );
    const bare = parsed(ll('#EXT-X-INDEPENDENT-SEGMENTS')).template;
    expect(raisePartHoldBack(bare, 1500)).toBe(bare);
  });
  test('CRLF line ends and HOLD-BACK beside it are kept; only PART-HOLD-BACK changes', () => {
    const src = ll('#EXT-X-SERVER-CONTROL:HOLD-BACK=3.0,PART-HOLD-BACK=0.6').replace(/\n/g, '\r\n');
    const out = text(raisePartHoldBack(parsed(src).template, 1250));
    expect(out).toBe(src.replace('PART-HOLD-BACK=0.6', 'PART-HOLD-BACK=1.25'));
  });
});

describe('withPartHoldBack', () => {
  test('a live LL-HLS media playlist: raised, once per cached manifest and floor', () => {
    const m = parsed(ll('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6'));
    const out = withPartHoldBack(m, 2000);
    expect(out).not.toBe(m);
    expect(out.info).toBe(m.info);
    expect(out.encoded.head.toString()).toContain('PART-HOLD-BACK=2\n');
    expect(withPartHoldBack(m, 2000)).toBe(out);
    expect(withPartHoldBack(m, undefined)).toBe(m);
  });
  test('ended, non-LL and master playlists are left alone', () => {
    const ended = parsed(ll('#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=0.6', '#EXT-X-ENDLIST\n'));
    expect(withPartHoldBack(ended, 2000)).toBe(ended);
    const plain = parsed('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n');
    expect(withPartHoldBack(plain, 2000)).toBe(plain);
    const master = parsed('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n');
    expect(withPartHoldBack(master, 2000)).toBe(master);
  });
});
