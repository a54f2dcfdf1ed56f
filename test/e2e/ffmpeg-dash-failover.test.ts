import { capturingLogger } from '../hardening/support';
import { runFfmpeg } from '../helpers/ffmpeg';
import { startStack, waitFor, type Stack } from '../helpers/stack';

/**
 * A real DASH client (Debian's ffmpeg) through Switchyard in redirect mode: every segment request is
 * decided when it is made, so a CDN taken away mid-stream loses the rest of the session even though a
 * static MPD is never reloaded. The fixture CDNs' request logs are the evidence.
 */
let stack: Stack;
// Switchyard's access log: which redirect it answered, to which CDN, when.
const logs = capturingLogger();

beforeAll(async () => {
  stack = await startStack({
    streams: ['dash'],
    logger: logs.logger,
    health: { interval: 100, timeout: 2000, rise: 1, fall: 1 },
    extra: ({ origin }) => ({
      streams: [{ id: 'dash', origin: `${origin}dash/`, mode: 'redirect' }],
      log: { level: 'info', access: true },
    }),
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
  // can be long after): every request the drained CDN got after the drain must be one Switchyard sent
  // there before it, by its own access log, and each such redirect is followed once.
  const file = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const redirectedBefore = logs
    .entries()
    .filter(
      (l) =>
        l.event === 'access' &&
        l.route === 'segment' &&
        l.cdn === from &&
        typeof l.time === 'number' &&
        l.time <= drainedAt,
    )
    .map((l) => file(String(l.path)));
  const late = media(from).filter((r) => r.at > drainedAt);
  for (const r of late) expect(redirectedBefore).toContain(file(r.path));
  expect(new Set(late.map((r) => file(r.path))).size).toBe(late.length);
  expect(media(to).filter((r) => r.at > drainedAt).length).toBeGreaterThan(0);
  // ffmpeg asks for one segment past the end of a static MPD (number 7 of 6); nothing else may fail.
  const pastEnd = (path: string) => Number(/-(\d+)\.m4s$/.exec(path)?.[1]) > 6;
  const all = [...media('a'), ...media('b')];
  expect(
    all.filter((r) => r.status !== 200 && r.status !== 206 && !(r.status === 404 && pastEnd(r.path))),
  ).toEqual([]);
}, 60_000);
