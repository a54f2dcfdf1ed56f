import { SwitchyardError } from '../../src/errors';
import { manifestTtl, originMaxAge, parseManifest, type ManifestInfo } from '../../src/manifest/load';

const URL = 'https://origin.example.com/live1/index.m3u8';
const BASE = 'https://origin.example.com/live1/';
const MEDIA = '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof SwitchyardError)) throw err;
    return err.code;
  }
  return 'OK';
}

describe('parseManifest: detection by content, not extension', () => {
  test.each([
    ['application/vnd.apple.mpegurl', URL],
    ['text/plain', URL],
    ['application/octet-stream', 'https://origin.example.com/live1/index.mpd'],
    [undefined, 'https://origin.example.com/live1/index.txt'],
  ])('HLS text with content type %j at %s', (ct, url) => {
    const m = parseManifest(MEDIA, url, BASE, ct);
    expect(m.contentType).toBe('application/vnd.apple.mpegurl');
    expect(m.info).toMatchObject({ protocol: 'hls', kind: 'media', live: true, liveTtlMs: 3000 });
    expect(m.template.slots.map((s) => s.path)).toEqual(['a.ts']);
    expect(m.escape).toBeUndefined();
  });

  test('an MPD is DASH even when called .m3u8 and sent as text/plain', () => {
    const mpd =
      '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011"><Period><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="v_$Number$.m4s" initialization="v_init.mp4" duration="2" startNumber="1"/><Representation id="v" bandwidth="1000" width="640" height="360" codecs="avc1.4d401e"/></AdaptationSet></Period></MPD>\n';
    const m = parseManifest(mpd, URL, BASE, 'text/plain');
    expect(m.info.protocol).toBe('dash');
    expect(m.contentType).toBe('application/dash+xml');
  });

  test.each([
    [
      'an HLS content type with a non-HLS body',
      '<html>oops</html>',
      'application/vnd.apple.mpegurl',
      'MANIFEST_INVALID',
    ],
    ['x-mpegurl with charset', 'hello', 'application/x-mpegURL; charset=utf-8', 'MANIFEST_INVALID'],
    ['empty body', '  \n', 'text/plain', 'MANIFEST_INVALID'],
    ['HTML', '<html>502 Bad Gateway</html>', 'text/html', 'NOT_A_MANIFEST'],
    ['JSON without a type', '{"a":1}', undefined, 'NOT_A_MANIFEST'],
    ['truncated HLS', '#EXTM3U\n#EXTINF:6,\n', 'text/plain', 'MANIFEST_INVALID'],
  ])('%s -> %s', (_name, text, ct, code) => {
    expect(codeOf(() => parseManifest(text, URL, BASE, ct))).toBe(code);
  });

  test('the NOT_A_MANIFEST message names the content type without parameters', () => {
    expect(() => parseManifest('<html/>', URL, BASE, 'text/html; charset=utf-8')).toThrow('"text/html"');
  });
});

describe('originMaxAge', () => {
  test.each([
    [undefined, undefined],
    ['', undefined],
    ['public', undefined],
    ['max-age=10', 10_000],
    ['public, max-age=2, stale-while-revalidate=30', 2_000],
    ['s-maxage=5', 5_000],
    ['MAX-AGE=3', 3_000],
    ['max-age="4"', 4_000],
    ['max-age = 6', 6_000],
    ['no-cache', 0],
    ['no-store, max-age=60', 0],
    ['private, no-cache="set-cookie"', 0],
    ['max-age=0', 0],
    ['stale-if-error=60', undefined],
    ['x-max-age=60', undefined],
  ])('%j -> %j', (cc, ms) => {
    expect(originMaxAge(cc)).toBe(ms);
  });
});

describe('manifestTtl', () => {
  const rules = { masterTtl: 30_000, vodTtl: 300_000 };
  const info = (over: Partial<ManifestInfo>): ManifestInfo => ({
    protocol: 'hls',
    kind: 'media',
    live: true,
    newestSegmentPath: undefined,
    liveTtlMs: 3_000,
    ...over,
  });

  test('master, VOD and live', () => {
    expect(manifestTtl(info({ kind: 'master', live: false }), rules, undefined)).toBe(30_000);
    expect(manifestTtl(info({ live: false }), rules, undefined)).toBe(300_000);
    expect(manifestTtl(info({}), rules, undefined)).toBe(3_000);
    expect(manifestTtl(info({ liveTtlMs: undefined }), rules, undefined)).toBe(1_000);
  });

  test('the origin max-age is an upper bound, never an extension', () => {
    expect(manifestTtl(info({ kind: 'master', live: false }), rules, 'max-age=5')).toBe(5_000);
    expect(manifestTtl(info({ live: false }), rules, 'max-age=86400')).toBe(300_000);
    expect(manifestTtl(info({}), rules, 'max-age=1')).toBe(1_000);
    expect(manifestTtl(info({}), rules, 'max-age=60')).toBe(3_000);
    expect(manifestTtl(info({}), rules, 'no-store')).toBe(0);
  });

  test('live TTL from a parsed playlist: half the target duration, LL-HLS half the part target', () => {
    const live = parseManifest(MEDIA, URL, BASE, undefined).info;
    expect(manifestTtl(live, rules, undefined)).toBe(3_000);
    const ll = parseManifest(
      '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PART-INF:PART-TARGET=1.002\n#EXTINF:4,\na.ts\n',
      URL,
      BASE,
      undefined,
    ).info;
    expect(manifestTtl(ll, rules, undefined)).toBe(501);
    const vod = parseManifest(MEDIA + '#EXT-X-ENDLIST\n', URL, BASE, undefined).info;
    expect(manifestTtl(vod, rules, undefined)).toBe(300_000);
  });
});
