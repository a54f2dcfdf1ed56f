/**
 * LL-HLS blocking reloads (RFC 8216bis §6.2.5.2) against a real Switchyard and a real origin that
 * holds blocking requests for ever: 400 at once for directives that can never be answered in time,
 * 503 after three target durations, a per-client cap, and a pool of their own so held reloads never
 * starve plain ones.
 */
import { request } from 'node:http';
import { get, startStack, waitFor, type Stack } from '../helpers/stack';
import { startFaultOrigin, type FaultOrigin } from './fault-origin';

let stack: Stack;
let raw: FaultOrigin;
const PER_CLIENT = 3;

beforeAll(async () => {
  raw = await startFaultOrigin();
  stack = await startStack({
    extra: () => ({
      streams: [{ id: 'f', origin: `${raw.url}f/` }],
      // Plain fetches get one slot: a blocking reload that took it would starve every other playlist.
      origin: { maxConcurrent: 1, maxBlocking: 8, headersTimeout: 2000 },
      limits: { blockingPerClient: PER_CLIENT },
    }),
  });
  // The plain playlist is known before any blocking reload: last segment 101, parts 0-1 of 102.
  expect((await get(`${stack.url}f/ll/index.m3u8`)).status).toBe(200);
});

afterAll(async () => {
  await stack.close();
  await raw.close();
});

/** Blocking reloads the origin has received (it holds each for ever). */
const heldAtOrigin = (): number => raw.hits.get('/f/ll/index.m3u8?blocking') ?? 0;

interface Answer {
  status: number;
  code: string | undefined;
  retryAfter: string | undefined;
}

/** A GET from a chosen loopback address (each address is one "client"). */
function getFrom(path: string, localAddress = '127.0.0.1'): Promise<Answer> {
  const u = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        const ra = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, code, retryAfter: Array.isArray(ra) ? ra[0] : ra });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function originBlockingHits(): number {
  return raw.hits.get('/f/ll/index.m3u8?blocking') ?? 0;
}

describe('400 at once, and the origin is not asked', () => {
  test.each([
    ['_HLS_part without _HLS_msn', '_HLS_part=1'],
    ['a malformed _HLS_msn', '_HLS_msn=1e3'],
    ['a negative _HLS_part', '_HLS_msn=102&_HLS_part=-1'],
    ['_HLS_msn more than two past the last segment (101 + 2 < 104)', '_HLS_msn=104'],
    [
      '_HLS_part past the Advance Part Limit (15 parts of 0.2 s) in the segment in progress',
      '_HLS_msn=102&_HLS_part=17',
    ],
    ['_HLS_part past the Advance Part Limit counted into the next segment', '_HLS_msn=103&_HLS_part=12'],
  ])('%s', async (_name, query) => {
    const before = originBlockingHits();
    const res = await getFrom(`/f/ll/index.m3u8?${query}`);
    expect(res).toMatchObject({ status: 400, code: 'BLOCKING_RELOAD_INVALID' });
    expect(originBlockingHits()).toBe(before);
  });
});

test('a reload held past three target durations (3 s here) is answered 503', async () => {
  const started = performance.now();
  const res = await getFrom('/f/ll/index.m3u8?_HLS_msn=103&_HLS_part=11');
  expect(res).toMatchObject({ status: 503, code: 'BLOCKING_RELOAD_TIMEOUT' });
  // Not before the three target durations the spec allows (a lower bound: safe on a slow machine).
  expect(performance.now() - started).toBeGreaterThanOrEqual(2900);
});

test('one client address holds at most limits.blockingPerClient reloads; others are not affected', async () => {
  const before = heldAtOrigin();
  const held = Array.from({ length: PER_CLIENT }, (_, i) =>
    getFrom(`/f/ll/index.m3u8?_HLS_msn=102&_HLS_part=${2 + i}`, '127.0.0.2'),
  );
  // Once all of them are held (the origin has them; a fixed sleep was a guess a busy machine broke),
  // the next one from the same address is refused at once, with Retry-After.
  await waitFor(() => heldAtOrigin() >= before + PER_CLIENT, 10_000);
  const refused = await getFrom('/f/ll/index.m3u8?_HLS_msn=103', '127.0.0.2');
  expect(refused).toMatchObject({ status: 429, code: 'TOO_MANY_BLOCKING_RELOADS', retryAfter: '1' });
  // Another address still gets its blocking reload accepted (held, then 503 from this origin).
  const other = getFrom('/f/ll/index.m3u8?_HLS_msn=103', '127.0.0.3');
  for (const r of await Promise.all(held)) expect(r.status).toBe(503);
  expect((await other).status).toBe(503);
});

test('held reloads have their own pool: plain reloads on the same origin are answered meanwhile', async () => {
  const before = heldAtOrigin();
  const held = Array.from({ length: 6 }, (_, i) =>
    getFrom(`/f/ll/index.m3u8?_HLS_msn=102&_HLS_part=${8 + i}`, `127.0.0.${10 + i}`),
  );
  // Every one of them held at the origin before the plain reload is asked.
  await waitFor(() => heldAtOrigin() >= before + 6, 10_000);
  // maxConcurrent is 1: with shared slots this would wait behind the held reloads until its deadline.
  const plain = await getFrom('/f/ll/other.m3u8', '127.0.0.9');
  expect(plain.status).toBe(200);
  for (const r of await Promise.all(held)) expect(r.status).toBe(503);
});
