/**
 * One clock: everything that dates a manifest (the origin client's fetchedAt, the cache's expiry and
 * stale window, the Age of a stale copy, a dynamic MPD's segment timeline) reads the clock the server
 * was given (RuntimeOptions.now), not the wall clock beside it. The fake clock here is 25 years off the
 * wall clock, so any Date.now() left on the path shows.
 */
import { parseDash } from '../../src/manifest/dash';
import { DEFAULT_MANIFEST_LIMITS } from '../../src/manifest/limits';
import { parseManifest } from '../../src/manifest/load';
import { OriginClient } from '../../src/origin/client';
import { get, startStack, type Stack } from '../helpers/stack';

const T0 = Date.UTC(2001, 0, 1);

describe('a server on a fake clock', () => {
  let stack: Stack;
  let now = T0;
  beforeAll(async () => {
    stack = await startStack({ streams: ['vod'], now: () => now });
  });
  afterAll(() => stack.close());
  afterEach(() => stack.origin.setFault(null));

  const originAsked = (path: string) => stack.origin.requests.filter((r) => r.path === path).length;

  test('the cache expires, and a stale copy is aged, on the server clock', async () => {
    const path = '/vod/master.m3u8';
    expect((await get(`${stack.url}vod/master.m3u8`)).status).toBe(200);
    expect(originAsked(path)).toBe(1);

    now += 10_000; // within cache.masterTtl (30 s): served from the cache
    expect((await get(`${stack.url}vod/master.m3u8`)).status).toBe(200);
    expect(originAsked(path)).toBe(1);

    now += 25_000; // 35 s after the fill: expired; the origin fails, so the copy is served stale
    stack.origin.setFault({ kind: 'status', status: 503 });
    const stale = await get(`${stack.url}vod/master.m3u8`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('warning')).toMatch(/^110 /);
    expect(stale.headers.get('age')).toBe('35');
    expect(originAsked(path)).toBe(2);
  });
});

test('the origin client dates its responses on the clock it was given', async () => {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
    res.end('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXT-X-ENDLIST\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  let clock = T0;
  const client = new OriginClient({
    connectTimeout: 5000,
    headersTimeout: 5000,
    bodyTimeout: 5000,
    maxBodyBytes: 1 << 20,
    maxRedirects: 0,
    allowedOrigins: [url],
    allowPrivateAddresses: true,
    // Every reading of the clock moves it on by 7 ms: durationMs counts readings, not wall time.
    now: () => (clock += 7),
  });
  try {
    const res = await client.fetch(`${url}x.m3u8`);
    expect(res.fetchedAt).toBe(T0 + 14);
    expect(res.durationMs).toBe(7);
  } finally {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe('a dynamic MPD is read at the time it is given', () => {
  // Two-second segments numbered from 1 since availabilityStartTime.
  const AST = Date.UTC(2001, 0, 1);
  const mpd = `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" profiles="urn:mpeg:dash:profile:isoff-live:2011"
  availabilityStartTime="${new Date(AST).toISOString()}" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT30S"
  minBufferTime="PT2S" publishTime="${new Date(AST).toISOString()}">
  <Period id="p0" start="PT0S">
    <AdaptationSet mimeType="video/mp4" segmentAlignment="true">
      <SegmentTemplate timescale="1000" duration="2000" startNumber="1" media="v_$Number$.m4s" initialization="v_init.mp4"/>
      <Representation id="v" bandwidth="500000" codecs="avc1.64001f" width="640" height="360"/>
    </AdaptationSet>
  </Period>
</MPD>
`;
  const base = 'http://origin.example/live/';
  const newest = (at: number) =>
    parseDash(mpd, `${base}manifest.mpd`, base, DEFAULT_MANIFEST_LIMITS, at).info.newestSegmentPath;

  test('the newest segment follows `now`, not the wall clock', () => {
    const early = newest(AST + 60_000);
    const later = newest(AST + 120_000);
    expect(early).toMatch(/^v_\d+\.m4s$/);
    expect(later).toMatch(/^v_\d+\.m4s$/);
    const n = (p: string | undefined) => Number(/v_(\d+)/.exec(p ?? '')?.[1]);
    // One minute later is thirty two-second segments later.
    expect(n(later) - n(early)).toBe(30);
  });

  test('parseManifest hands its `now` to the DASH parser', () => {
    const at = AST + 60_000;
    const info = parseManifest(
      mpd,
      `${base}manifest.mpd`,
      base,
      'application/dash+xml',
      DEFAULT_MANIFEST_LIMITS,
      at,
    ).info;
    expect(info.newestSegmentPath).toBe(newest(at));
  });
});
