/**
 * Big manifests are parsed off the event loop (issue 11): a real Switchyard whose origin serves a
 * playlist at the segment cap (150,000 segments, about 4 MB, which held the loop for 0.45-1 s when it
 * was parsed inline). While a parse thread works on it, another viewer's small playlist is answered,
 * and the product's own event-loop delay histogram (prom-client's, in /metrics) never sees the loop
 * held for half as long as the parse took (the product's own parse histogram): both on its clock, no
 * wall-clock bound. A parse past its time budget, a thread that runs out of heap, and a full pool each
 * get their defined answer, the pool recovers, and no parse is left waiting.
 */
import { validateConfig } from '../../src/configure';
import { get, startStack, TEST_SECRET, waitFor, type Fetched, type Stack } from '../helpers/stack';
import { longPlaylist } from './hostile-manifests';
import { startHostileOrigin, type HostileOrigin } from './hostile-origin';
import { metricValue } from './support';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
/** At limits.manifest.maxSegments (150,000): the biggest playlist the default caps let through. */
const HUGE = longPlaylist(150_000);
/** Over these stacks' 1 KiB threshold, so parsed in a thread, and parsed in well under a millisecond. */
const MID = longPlaylist(100);

let origin: HostileOrigin;

beforeAll(async () => {
  origin = await startHostileOrigin({
    'huge.m3u8': HUGE,
    'huge-2.m3u8': HUGE,
    'mid.m3u8': MID,
    'mid-2.m3u8': MID,
  });
});

afterAll(() => origin.close());

function rawConfig(stackOrigin: string, parse: Record<string, unknown>): Record<string, unknown> {
  return {
    streams: [{ id: 'h', origin: `${stackOrigin}h/` }],
    origin: { maxBodyBytes: 16 * 1024 * 1024 },
    metrics: { token: METRICS_TOKEN },
    // No time budget to speak of (a busy machine parses slowly) unless a test sets one.
    limits: { parse: { workers: 1, offThreadBytes: 1024, timeout: '10m', ...parse } },
  };
}

async function poolStack(parse: Record<string, unknown>, warm = true): Promise<Stack> {
  const stack = await startStack({ streams: [], cdnIds: ['a'], extra: () => rawConfig(origin.url, parse) });
  // The thread starts (from the TypeScript sources, its modules are transpiled first) before anything
  // is measured.
  if (warm) expect((await get(`${stack.url}h/doc/mid.m3u8`)).status).toBe(200);
  return stack;
}

async function scrape(stack: Stack): Promise<string> {
  const res = await fetch(`${stack.url}metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

interface Tracked {
  readonly promise: Promise<Fetched>;
  settled: boolean;
}

function track(promise: Promise<Fetched>): Tracked {
  const t: Tracked = { promise, settled: false };
  void promise.finally(() => (t.settled = true)).catch(() => undefined);
  return t;
}

/** Waits until `cond` holds while `request` is still unanswered; fails if it was answered first. */
async function whilePending(
  stack: Stack,
  request: Tracked,
  cond: () => boolean,
  what: string,
): Promise<void> {
  await waitFor(() => cond() || request.settled, 120_000, 2);
  if (!cond())
    throw new Error(`the big playlist was answered before ${what}: ${JSON.stringify(stats(stack))}`);
}

const stats = (stack: Stack) => stack.server.runtime.parsing.stats();
const segments = (body: string) => body.split('\n').filter((l) => l.startsWith('#EXTINF')).length;
const errorOf = (body: string) =>
  (JSON.parse(body) as { error: { code: string; details?: Record<string, unknown> } }).error;

describe('one parse thread, one parse waiting at most', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await poolStack({ maxQueued: 1 });
  });
  afterAll(() => stack.close());

  test("while a cap-sized playlist parses, another viewer's playlist is answered and the loop is never held for half that parse", async () => {
    // A scrape resets the event-loop histogram: what the next one reads is this test's.
    const before = await scrape(stack);
    const threadSeconds = (text: string) =>
      metricValue(text, 'switchyard_manifest_parse_duration_seconds_sum', { where: 'worker' });
    const huge = track(get(`${stack.url}h/doc/huge.m3u8`));
    await whilePending(stack, huge, () => stats(stack).busy === 1, 'a parse thread took it');
    const small = await get(`${stack.url}h/ok/live.m3u8`);
    expect(small.status).toBe(200);
    expect(huge.settled).toBe(false);

    const big = await huge.promise;
    expect([big.status, big.status === 200 ? '' : big.body]).toEqual([200, '']);
    expect(segments(big.body)).toBe(150_000);
    const after = await scrape(stack);
    const parseS = threadSeconds(after) - threadSeconds(before);
    const lagMaxS = metricValue(after, 'nodejs_eventloop_lag_max_seconds');
    console.log(
      `cap-sized playlist: parsed in a thread in ${(parseS * 1000).toFixed(0)} ms; ` +
        `event loop held ${(lagMaxS * 1000).toFixed(1)} ms at most meanwhile`,
    );
    expect(parseS).toBeGreaterThan(0);
    expect(lagMaxS).toBeLessThan(parseS / 2);
    // The small playlist was parsed inline, as it should be (a thread round trip costs more).
    expect(
      metricValue(after, 'switchyard_manifest_parses_total', { where: 'inline', result: 'ok' }) -
        metricValue(before, 'switchyard_manifest_parses_total', { where: 'inline', result: 'ok' }),
    ).toBe(1);
  });

  test('a third big manifest while one parses and one waits: 503 OVERLOADED with Retry-After at once; the other two are served and nothing is left waiting', async () => {
    const first = track(get(`${stack.url}h/doc/huge-2.m3u8`));
    await whilePending(stack, first, () => stats(stack).busy === 1, 'a parse thread took it');
    const second = track(get(`${stack.url}h/doc/mid.m3u8`));
    await whilePending(stack, first, () => stats(stack).queued === 1, 'the second parse was queued');
    const during = await scrape(stack);
    expect(metricValue(during, 'switchyard_parse_queue_depth')).toBe(1);
    expect(metricValue(during, 'switchyard_parse_workers', { state: 'busy' })).toBe(1);

    const third = await get(`${stack.url}h/doc/mid-2.m3u8`);
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(errorOf(third.body)).toMatchObject({
      code: 'OVERLOADED',
      details: { key: 'limits.parse.maxQueued', limit: 1 },
    });
    expect(first.settled).toBe(false);

    expect((await first.promise).status).toBe(200);
    const queued = await second.promise;
    expect(queued.status).toBe(200);
    expect(segments(queued.body)).toBe(100);
    expect(stats(stack)).toMatchObject({ workers: 1, busy: 0, queued: 0, restarts: 0 });
    const after = await scrape(stack);
    expect(
      metricValue(after, 'switchyard_manifest_parses_total', { where: 'worker', result: 'OVERLOADED' }),
    ).toBe(1);
    expect(metricValue(after, 'switchyard_parse_queue_depth')).toBe(0);
  });
});

test('a parse past limits.parse.timeout: its thread is terminated and replaced, 502 MANIFEST_TOO_COMPLEX; with a longer budget the replacement parses it', async () => {
  // 20 ms for 150,000 segments: no machine parses that fast, so the budget always runs out.
  const stack = await poolStack({ timeout: '20ms' }, false);
  try {
    const res = await get(`${stack.url}h/doc/huge.m3u8`);
    expect(res.status).toBe(502);
    expect(errorOf(res.body)).toMatchObject({
      code: 'MANIFEST_TOO_COMPLEX',
      details: { key: 'limits.parse.timeout', limit: 20 },
    });
    expect(
      metricValue(await scrape(stack), 'switchyard_parse_worker_restarts_total', { reason: 'timeout' }),
    ).toBe(1);

    stack.server.runtime.reload(
      validateConfig(
        {
          listen: { host: '127.0.0.1', port: 0 },
          secrets: [TEST_SECRET],
          cdns: stack.cdns.map((c) => ({ id: c.id, baseUrl: c.url })),
          ...rawConfig(origin.url, { timeout: '10m' }),
          origin: { allowPrivateAddresses: true, maxBodyBytes: 16 * 1024 * 1024 },
        },
        { env: {} },
      ),
    );
    const again = await get(`${stack.url}h/doc/huge.m3u8`);
    expect(again.status).toBe(200);
    expect(segments(again.body)).toBe(150_000);
    expect(stats(stack)).toMatchObject({ workers: 1, busy: 0, queued: 0, restarts: 1 });
  } finally {
    await stack.close();
  }
  expect(stats(stack)).toMatchObject({ workers: 0, busy: 0, queued: 0 });
});

test('a parse that needs more heap than limits.parse.workerHeapBytes: the thread dies, 502 MANIFEST_TOO_COMPLEX, the replacement serves the next manifest', async () => {
  const heap = 16 * 1024 * 1024;
  const stack = await poolStack({ workerHeapBytes: heap });
  try {
    const res = await get(`${stack.url}h/doc/huge.m3u8`);
    expect(res.status).toBe(502);
    expect(errorOf(res.body)).toMatchObject({
      code: 'MANIFEST_TOO_COMPLEX',
      details: { key: 'limits.parse.workerHeapBytes', limit: heap },
    });
    const text = await scrape(stack);
    expect(metricValue(text, 'switchyard_parse_worker_restarts_total', { reason: 'oom' })).toBe(1);
    expect(
      metricValue(text, 'switchyard_manifest_parses_total', {
        where: 'worker',
        result: 'MANIFEST_TOO_COMPLEX',
      }),
    ).toBe(1);
    const next = await get(`${stack.url}h/doc/mid-2.m3u8`);
    expect(next.status).toBe(200);
    expect(segments(next.body)).toBe(100);
    expect(stats(stack)).toMatchObject({ workers: 1, busy: 0, queued: 0, restarts: 1 });
    expect((await get(`${stack.url}healthz`)).status).toBe(200);
  } finally {
    await stack.close();
  }
});
