import { runFfmpeg } from '../helpers/ffmpeg';
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { msnOf, originLiveEdge } from '../helpers/live-edge';

/**
 * A real client (Debian's ffmpeg) plays the live fixture through Switchyard while the CDN serving it
 * is taken away. The fixture CDNs' own request logs are the evidence.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    streams: ['live', 'vod'],
    health: { interval: 100, timeout: 2000, rise: 1, fall: 1 },
  });
});
afterAll(async () => {
  await stack.close();
});

const segmentRequests = (id: string) => stack.cdn(id).requests.filter((r) => r.path.endsWith('.ts'));

test('VOD plays to the end through the proxy, every segment from one CDN', async () => {
  const run = await runFfmpeg(`${stack.url}vod/master.m3u8`);
  expect(run.code).toBe(0);
  // 12 s at 10 fps of video (plus audio packets in the count): the whole stream, not just one segment.
  expect(run.frames).toBeGreaterThanOrEqual(120);
  const fromA = segmentRequests('a').length;
  const fromB = segmentRequests('b').length;
  expect(fromA + fromB).toBeGreaterThanOrEqual(18); // 6 segments x (2 variants + audio)
  expect(
    [...segmentRequests('a'), ...segmentRequests('b')].every((r) => r.status === 200 || r.status === 206),
  ).toBe(true);
});

test('live: the CDN in use is drained then killed mid-stream; segments move to the other, none fail', async () => {
  for (const c of stack.cdns) c.requests.length = 0;
  const playing = runFfmpeg(`${stack.url}live/master.m3u8`, ['-t', '9'], 25_000);
  // Wait until ffmpeg is fetching segments, and see which CDN its session landed on.
  await waitFor(() => segmentRequests('a').length + segmentRequests('b').length >= 3, 15_000, 50);
  const from = segmentRequests('a').length > 0 ? 'a' : 'b';
  const to = from === 'a' ? 'b' : 'a';
  // Take it out of service the way an operator would: first out of selection, then down.
  stack.server.runtime.monitor.setDrained(from, true);
  await waitFor(() => segmentRequests(to).length >= 2, 10_000, 50);
  const cutOver = Date.now();
  stack.cdn(from).setMode({ kind: 'down' });
  const run = await playing;
  stack.cdn(from).setMode({ kind: 'up' });
  stack.server.runtime.monitor.setDrained(from, false);

  expect(run.code).toBe(0);
  expect(run.frames).toBeGreaterThanOrEqual(80);
  const all = [...segmentRequests('a'), ...segmentRequests('b')];
  expect(all.filter((r) => r.status !== 200 && r.status !== 206)).toEqual([]);
  expect(segmentRequests(from).filter((r) => r.at > cutOver)).toEqual([]);
  expect(segmentRequests(to).length).toBeGreaterThanOrEqual(2);
  // ffmpeg's own log agrees: it opened segments on both CDNs, the new one last.
  const segUrls = run.opened.filter((u) => u.endsWith('.ts'));
  expect(segUrls.at(-1)?.startsWith(stack.cdn(to).url)).toBe(true);
}, 60_000);

const liveEdge = (): Promise<number> => originLiveEdge(stack.origin.url);

test('live: a hard CDN failure is evacuated at the verdict (fall x interval) and the next playlist, playback goes on', async () => {
  for (const c of stack.cdns) c.requests.length = 0;
  const playing = runFfmpeg(`${stack.url}live/master.m3u8`, ['-t', '9'], 25_000);
  await waitFor(() => segmentRequests('a').length + segmentRequests('b').length >= 3, 15_000, 50);
  const from = segmentRequests('a').length > 0 ? 'a' : 'b';
  const to = from === 'a' ? 'b' : 'a';
  const killedAt = Date.now();
  stack.cdn(from).setMode({ kind: 'down' });
  // Switchyard's verdict (fall 1: one failed probe). Then the origin's live edge: a playlist rendered
  // before the verdict cannot name a newer segment (read a moment later, the edge is only later).
  await waitFor(() => stack.server.runtime.monitor.health(from)?.healthy === false, 15_000, 5);
  const verdictAt = Date.now();
  const edge = await liveEdge();
  const run = await playing;
  stack.cdn(from).setMode({ kind: 'up' });

  // Once the verdict is in, every playlist sends the session to the other CDN: the dead one is asked
  // at most for segments listed before it (RFC 8216 §6.2.1 keeps them where they were), never for a
  // newer one. Ordering, on this process's clock: a busy machine delays both sides alike.
  const late = segmentRequests(from).filter((r) => r.at > verdictAt && msnOf(r.path) > edge);
  expect(late.map((r) => ({ at: r.at - verdictAt, path: r.path }))).toEqual([]);
  expect(segmentRequests(to).filter((r) => r.at > killedAt).length).toBeGreaterThanOrEqual(2);
  expect(run.frames).toBeGreaterThanOrEqual(60);
}, 60_000);
