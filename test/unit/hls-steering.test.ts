import { Parser } from 'm3u8-parser';
import { parseHls } from '../../src/manifest/hls';
import { setQuotedAttribute, steeringMaster } from '../../src/manifest/hls-steering';
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
