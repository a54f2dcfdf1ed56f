/**
 * DASH end to end: the real Switchyard against the fixture origin and two fixture CDNs on 127.0.0.1,
 * and ffmpeg as a real DASH client through it.
 */
import { parse as parseMpd } from 'mpd-parser';
import { get, startStack, waitFor, type Stack } from '../helpers/stack';
import { runFfmpeg } from '../helpers/ffmpeg';

const STREAMS = ['dash', 'dash-live', 'dash-timeline', 'dash-list', 'dash-base'];

function mpdBaseUrl(text: string): string | undefined {
  // The first BaseURL: the session's CDN (with failover on, the others follow in ranked order).
  return /<BaseURL(?:\s[^>]*)?>([^<]+)<\/BaseURL>/.exec(text)?.[1];
}

describe('DASH through Switchyard', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ streams: STREAMS });
  });
  afterAll(() => stack.close());

  it.each(STREAMS.filter((s) => s !== 'dash-live'))('%s: MPD rewritten for the session CDN', async (id) => {
    const r = await get(`${stack.url}${id}/manifest.mpd`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/dash+xml');
    const cdn = stack.cdn(r.headers.get('x-switchyard-cdn') as string);
    expect(mpdBaseUrl(r.body)).toBe(`${cdn.url}${id}/`);
    const m = parseMpd(r.body, { manifestUri: `${stack.url}${id}/manifest.mpd` });
    const uris = (m.playlists ?? []).flatMap((p) => [
      ...p.segments.map((s) => s.resolvedUri),
      ...(p.sidx ? [p.sidx.resolvedUri] : []),
    ]);
    expect(uris.length).toBeGreaterThan(0);
    // Failover BaseURLs (the other CDNs, ranked after the session's) resolve too: every segment is on
    // a fixture CDN, never the origin or Switchyard, and the session's CDN carries them all.
    const onCdn = (u: string): boolean => stack.cdns.some((c) => u.startsWith(c.url + id + '/'));
    for (const u of uris) expect(onCdn(u)).toBe(true);
    const own = uris.filter((u) => u.startsWith(cdn.url + id + '/'));
    expect(own.length * stack.cdns.length).toBe(uris.length);
  });

  it('a malformed MPD from the origin is a 502 with the JSON error body', async () => {
    stack.origin.setFault({ kind: 'body', contentType: 'application/dash+xml', body: '<MPD><Period>' });
    try {
      const r = await get(`${stack.url}dash/broken.mpd`);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body)).toMatchObject({
        error: expect.objectContaining({ code: 'MANIFEST_INVALID' }),
      });
    } finally {
      stack.origin.setFault(null);
    }
  });

  it('live: refreshes through the session Location keep the CDN; CDN down moves the next refresh', async () => {
    const first = await get(`${stack.url}dash-live/manifest.mpd`);
    expect(first.status).toBe(200);
    const location = /<Location>([^<]+)<\/Location>/.exec(first.body)?.[1] as string;
    expect(location).toMatch(/\/s\/[^/]+\/dash-live\/manifest\.mpd$/);
    const sessionUrl = new URL(location, stack.url).href;
    const chosen = first.headers.get('x-switchyard-cdn') as string;
    for (let i = 0; i < 3; i++) {
      const again = await get(sessionUrl);
      expect(again.headers.get('x-switchyard-cdn')).toBe(chosen);
      expect(mpdBaseUrl(again.body)).toBe(`${stack.cdn(chosen).url}dash-live/`);
      expect(again.body).toContain(`<Location>${location}</Location>`);
    }
    const other = stack.cdns.find((c) => c.id !== chosen)!;
    stack.cdn(chosen).setMode({ kind: 'down' });
    try {
      await waitFor(
        async () => (await get(sessionUrl)).headers.get('x-switchyard-cdn') === other.id,
        8000,
        100,
      );
      const moved = await get(sessionUrl);
      expect(mpdBaseUrl(moved.body)).toBe(`${other.url}dash-live/`);
    } finally {
      stack.cdn(chosen).setMode({ kind: 'up' });
    }
  });

  it.each([
    ['dash', /chunk-stream\d-\d+\.m4s$/, 110, 18],
    // SegmentBase: ffmpeg reads each single file (one request per representation); 6 s at 10 fps.
    ['dash-base', /\/dash-base\/(video|audio)\.mp4$/, 55, 2],
  ])(
    'ffmpeg plays %s through the proxy with every segment from the chosen CDN',
    async (id, segRe, minFrames, minRequests) => {
      await waitFor(async () => (await get(`${stack.url}${id}/manifest.mpd`)).status === 200, 8000, 100);
      for (const c of stack.cdns) c.requests.length = 0;
      const run = await runFfmpeg(`${stack.url}${id}/manifest.mpd`);
      // ffmpeg's own session (its User-Agent differs from this test's): the CDN is the one it was sent to.
      const requested = [...run.stderr.matchAll(/DASH request for url '([^']+)'/g)].map(
        (m) => m[1] as string,
      );
      const chosen = stack.cdns.find((c) => requested[0]?.startsWith(c.url + id + '/'))!;
      expect(chosen).toBeDefined();
      for (const u of requested) expect(u.startsWith(chosen.url + id + '/')).toBe(true);
      if (run.code !== 0 || process.env.DEBUG_DASH)
        console.log(run.stderr.slice(-3000), JSON.stringify(chosen.requests));
      expect(run.code).toBe(0);
      expect(run.frames).toBeGreaterThanOrEqual(minFrames);
      const fromChosen = chosen.requests.filter(
        (r) => segRe.test(r.path) && r.status >= 200 && r.status < 300,
      );
      expect(fromChosen.length).toBeGreaterThanOrEqual(minRequests);
      for (const c of stack.cdns)
        if (c !== chosen) expect(c.requests.filter((r) => segRe.test(r.path))).toEqual([]);
    },
    60_000,
  );
});
