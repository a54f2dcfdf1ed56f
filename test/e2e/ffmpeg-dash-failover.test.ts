import { runFfmpeg } from '../helpers/ffmpeg';
import { startStack, waitFor, type Stack } from '../helpers/stack';

/**
 * A real DASH client (Debian's ffmpeg) through Switchyard in redirect mode: every segment request is
 * decided when it is made, so a CDN taken away mid-stream loses the rest of the session even though a
 * static MPD is never reloaded. The fixture CDNs' request logs are the evidence.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    streams: ['dash'],
    health: { interval: 100, timeout: 2000, rise: 1, fall: 1 },
    extra: ({ origin }) => ({ streams: [{ id: 'dash', origin: `${origin}dash/`, mode: 'redirect' }] }),
  });
});
afterAll(async () => {
  await stack.close();
});

const media = (id: string) => stack.cdn(id).requests.filter((r) => r.path.endsWith('.m4s'));

test('DASH: segments come from the chosen CDN, then from the other after it is drained mid-stream', async () => {
  // -re: read at the media's own pace, so the drain lands in the middle of playback.
  const playing = runFfmpeg(`${stack.url}dash/manifest.mpd`, ['-re'], 40_000);
  await waitFor(() => media('a').length + media('b').length >= 4, 15_000, 50);
  const from = media('a').length >= media('b').length ? 'a' : 'b';
  const to = from === 'a' ? 'b' : 'a';
  const before = media(from).length;
  stack.server.runtime.monitor.setDrained(from, true);
  const drainedAt = Date.now();
  const run = await playing;
  stack.server.runtime.monitor.setDrained(from, false);

  expect(run.code).toBe(0);
  expect(run.frames).toBeGreaterThanOrEqual(100);
  expect(before).toBeGreaterThan(0);
  // After the drain Switchyard redirects to the other CDN only. A redirect it answered just before may
  // still reach the drained CDN later (ffmpeg follows it when it gets to it; on a busy machine that
  // can be long after): at most that one per representation, for the segment after the newest one
  // asked before. Ordering and counts from the CDN logs, not a time window.
  const place = (path: string) => /chunk-stream(\d+)-(\d+)\.m4s$/.exec(path);
  const newestBefore = new Map<string, number>();
  for (const r of [...media('a'), ...media('b')].filter((x) => x.at <= drainedAt)) {
    const m = place(r.path);
    if (m) newestBefore.set(m[1] as string, Math.max(newestBefore.get(m[1] as string) ?? 0, Number(m[2])));
  }
  const late = media(from).filter((r) => r.at > drainedAt);
  const stragglers = late.filter((r) => {
    const m = place(r.path);
    return m !== null && Number(m[2]) <= (newestBefore.get(m[1] as string) ?? 0) + 1;
  });
  expect(late.map((r) => r.path)).toEqual(stragglers.map((r) => r.path));
  expect(new Set(stragglers.map((r) => place(r.path)?.[1])).size).toBe(stragglers.length);
  expect(media(to).filter((r) => r.at > drainedAt).length).toBeGreaterThan(0);
  // ffmpeg asks for one segment past the end of a static MPD (number 7 of 6); nothing else may fail.
  const pastEnd = (path: string) => Number(/-(\d+)\.m4s$/.exec(path)?.[1]) > 6;
  const all = [...media('a'), ...media('b')];
  expect(
    all.filter((r) => r.status !== 200 && r.status !== 206 && !(r.status === 404 && pastEnd(r.path))),
  ).toEqual([]);
}, 60_000);
