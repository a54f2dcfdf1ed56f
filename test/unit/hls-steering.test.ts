import { Parser } from 'm3u8-parser';
import { parseHls } from '../../src/manifest/hls';
import {
  hasContentSteering,
  redundantMaster,
  setQuotedAttribute,
  steeringMaster,
} from '../../src/manifest/hls-steering';
import type { Slot } from '../../src/manifest/template';

const MASTER = [
  '#EXTM3U',
  '#EXT-X-CONTENT-STEERING:SERVER-URI="https://old.example/steer"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio/index.m3u8"',
  '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="cc1",INSTREAM-ID="CC1"',
  '#EXT-X-STREAM-INF:BANDWIDTH=100000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud",CLOSED-CAPTIONS="cc"',
  'v0/index.m3u8?tok=~hmac=1',
  '#EXT-X-STREAM-INF:BANDWIDTH=200000,AUDIO="aud",CLOSED-CAPTIONS=NONE',
  '# a comment inside the block',
  'v1/index.m3u8',
  '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=30000,URI="v0/iframes.m3u8"',
  '',
].join('\r\n');

const pathwayMapper =
  (id: string) =>
  (slot: Slot): string =>
    slot.path === undefined ? slot.absolute : `/s/tok-${id}/live/${slot.path}`;

test('every variant, I-frame variant and rendition is repeated per pathway; the rest once', () => {
  const { template } = parseHls(MASTER, 'http://o/live/master.m3u8', 'http://o/live/');
  const out = steeringMaster(
    template,
    [
      { id: 'a', mapSlot: pathwayMapper('a') },
      { id: 'b', mapSlot: pathwayMapper('b') },
    ],
    { serverUri: '/s/tok/steering.json', initialPathway: 'b' },
  );
  const lines = out.split('\r\n');
  expect(lines[0]).toBe('#EXTM3U');
  expect(lines[1]).toBe('#EXT-X-CONTENT-STEERING:SERVER-URI="/s/tok/steering.json",PATHWAY-ID="b"');
  expect(out).not.toContain('old.example');
  expect(lines.filter((l) => l.startsWith('#EXT-X-MEDIA:TYPE=AUDIO'))).toEqual([
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud-a",NAME="en",URI="/s/tok-a/live/audio/index.m3u8",STABLE-RENDITION-ID="r0"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud-b",NAME="en",URI="/s/tok-b/live/audio/index.m3u8",STABLE-RENDITION-ID="r0"',
  ]);
  expect(lines).toContain(
    '#EXT-X-STREAM-INF:BANDWIDTH=100000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud-a",CLOSED-CAPTIONS="cc-a",PATHWAY-ID="a",STABLE-VARIANT-ID="v0"',
  );
  expect(lines).toContain(
    '#EXT-X-STREAM-INF:BANDWIDTH=200000,AUDIO="aud-b",CLOSED-CAPTIONS=NONE,PATHWAY-ID="b",STABLE-VARIANT-ID="v1"',
  );
  expect(lines.filter((l) => l === '# a comment inside the block')).toHaveLength(2);
  expect(lines).toContain('/s/tok-a/live/v0/index.m3u8?tok=~hmac=1');
  expect(lines).toContain(
    '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=30000,URI="/s/tok-b/live/v0/iframes.m3u8",PATHWAY-ID="b",STABLE-VARIANT-ID="i0"',
  );

  const p = new Parser();
  p.push(out);
  p.end();
  expect(p.manifest.playlists).toHaveLength(4);
  expect(Object.keys(p.manifest.mediaGroups?.AUDIO ?? {}).sort()).toEqual(['aud-a', 'aud-b']);
});

test('setQuotedAttribute replaces an existing value or appends a new one', () => {
  expect(setQuotedAttribute('#EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID="x"', 'PATHWAY-ID', 'a')).toBe(
    '#EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID="a"',
  );
  expect(setQuotedAttribute('#EXT-X-STREAM-INF:BANDWIDTH=1\r', 'PATHWAY-ID', 'a')).toBe(
    '#EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID="a"\r',
  );
});

test('redundant variants: the session copy as the origin wrote it, then one pinned copy per backup CDN', () => {
  const master = MASTER.replace(/#EXT-X-CONTENT-STEERING:[^\r]*\r\n/, '');
  const { template } = parseHls(master, 'http://o/live/master.m3u8', 'http://o/live/');
  expect(hasContentSteering(template)).toBe(false);
  expect(hasContentSteering(parseHls(MASTER, 'http://o/live/master.m3u8', 'http://o/live/').template)).toBe(
    true,
  );
  const out = redundantMaster(template, { id: 'a', mapSlot: pathwayMapper('s') }, [
    { id: 'b', mapSlot: pathwayMapper('b') },
    { id: 'c', mapSlot: pathwayMapper('c') },
  ]);
  const lines = out.split('\r\n');
  expect(out).not.toContain('PATHWAY-ID');
  expect(out).not.toContain('EXT-X-CONTENT-STEERING');
  expect(lines.filter((l) => l.startsWith('#EXT-X-MEDIA:TYPE=AUDIO'))).toEqual([
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="/s/tok-s/live/audio/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud-b",NAME="en",URI="/s/tok-b/live/audio/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud-c",NAME="en",URI="/s/tok-c/live/audio/index.m3u8"',
  ]);
  expect(lines.filter((l) => !l.startsWith('#') && l !== '')).toEqual([
    '/s/tok-s/live/v0/index.m3u8?tok=~hmac=1',
    '/s/tok-b/live/v0/index.m3u8?tok=~hmac=1',
    '/s/tok-c/live/v0/index.m3u8?tok=~hmac=1',
    '/s/tok-s/live/v1/index.m3u8',
    '/s/tok-b/live/v1/index.m3u8',
    '/s/tok-c/live/v1/index.m3u8',
  ]);
  // Each copy's variants name their own audio group; the session's copy keeps the origin's bytes.
  expect(lines).toContain(
    '#EXT-X-STREAM-INF:BANDWIDTH=100000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud",CLOSED-CAPTIONS="cc"',
  );
  expect(lines).toContain(
    '#EXT-X-STREAM-INF:BANDWIDTH=100000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud-c",CLOSED-CAPTIONS="cc-c"',
  );
  // m3u8-parser reads three redundant copies of each variant.
  const parser = new Parser();
  parser.push(out);
  parser.end();
  expect(parser.manifest.playlists?.map((p) => p.attributes.BANDWIDTH)).toEqual([
    100000, 100000, 100000, 200000, 200000, 200000,
  ]);
});
