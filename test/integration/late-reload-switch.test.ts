import { get, startStack, waitFor, type Stack } from '../helpers/stack';

/**
 * A session whose CDN fails while it is between reloads (a slow player, a busy one) moves at its next
 * reload. The segments it was given before keep their URIs on the CDN it left (RFC 8216 §6.2.1), and
 * nothing more: the segments the origin published since its last reload, which it has never seen,
 * come from the CDN it moved to, not from the dead one.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    streams: ['live'],
    extra: () => ({ policy: { type: 'failover', order: ['a', 'b'] } }),
  });
});
afterAll(async () => {
  await stack.close();
});

const msns = (body: string, cdnUrl: string): number[] =>
  body
    .split('\n')
    .filter((l) => l.startsWith(cdnUrl))
    .map((l) => Number(/seg_(\d+)\.ts$/.exec(l)?.[1]));

async function originNewest(): Promise<number> {
  const text = (await get(`${stack.origin.url}live/v0/index.m3u8`)).body;
  return Math.max(...[...text.matchAll(/seg_(\d+)\.ts/g)].map((m) => Number(m[1])));
}

test('a late first reload after a failure lists only what the session was given on the dead CDN', async () => {
  const master = await get(`${stack.url}live/master.m3u8`);
  const path = master.body.split('\n').find((l) => l.startsWith('/s/') && l.includes('v0/'));
  const media = new URL(path as string, stack.url).href;
  const first = await get(media);
  expect(first.headers.get('x-switchyard-cdn')).toBe('a');
  const given = msns(first.body, stack.cdn('a').url);
  const newestGiven = Math.max(...given);

  // The session does not reload while the origin publishes two more segments and a fails.
  await waitFor(async () => (await originNewest()) >= newestGiven + 2, 30_000, 100);
  stack.cdn('a').setMode({ kind: 'down' });
  await waitFor(() => stack.server.runtime.monitor.health('a')?.healthy === false, 30_000, 20);

  const late = await get(media);
  expect(late.headers.get('x-switchyard-cdn')).toBe('b');
  const onA = msns(late.body, stack.cdn('a').url);
  const onB = msns(late.body, stack.cdn('b').url);
  expect(onB.length).toBeGreaterThanOrEqual(2);
  // Everything still listed from what it was given stays on a; everything newer is on b.
  expect(onA.every((m) => given.includes(m))).toBe(true);
  expect(onB.every((m) => m > newestGiven)).toBe(true);
  expect(Math.min(...onB)).toBe(newestGiven + 1);

  // The next reload renders the same split (the switch point is remembered).
  const again = await get(media);
  for (const m of onA) expect(msns(again.body, stack.cdn('b').url)).not.toContain(m);
});
