import { SwitchyardError } from '../../src/errors';
import { ManifestCache, type CacheOutcome } from '../../src/origin/cache';
import type { OriginResponse } from '../../src/origin/client';

interface FakeOrigin {
  calls: string[];
  holds: (number | undefined)[];
  next: (url: string) => Promise<string>;
}

function setup(opts: { ttlMs?: number; maxStaleMs?: number; errorRetryMs?: number; maxBytes?: number } = {}) {
  let clock = 1_000_000;
  const origin: FakeOrigin = { calls: [], holds: [], next: async (url) => `body of ${url}` };
  const outcomes: CacheOutcome[] = [];
  const client = {
    fetch: async (url: string, o: { holdMs?: number } = {}): Promise<OriginResponse> => {
      origin.calls.push(url);
      origin.holds.push(o.holdMs);
      const body = await origin.next(url);
      return {
        url,
        status: 200,
        contentType: 'application/vnd.apple.mpegurl',
        cacheControl: undefined,
        body,
        fetchedAt: clock,
        durationMs: 0,
      };
    },
  };
  const cache = new ManifestCache<string>({
    client,
    maxEntries: 100,
    ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes, sizeOf: (v: string) => v.length }),
    maxStaleMs: opts.maxStaleMs ?? 10_000,
    errorRetryMs: opts.errorRetryMs ?? 1_000,
    load: (res, partition) => {
      if (res.body === 'garbage') throw new SwitchyardError('MANIFEST_INVALID', 'not a playlist');
      return { value: `${partition}|${res.body}`, ttlMs: opts.ttlMs ?? 2_000 };
    },
    onLookup: (o) => outcomes.push(o),
    now: () => clock,
  });
  return {
    cache,
    origin,
    outcomes,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
}

const U = 'https://origin.example.com/live1/index.m3u8';
const fail =
  (code: 'ORIGIN_TIMEOUT' | 'ORIGIN_NOT_FOUND' | 'ORIGIN_STATUS' | 'MANIFEST_INVALID') => async () => {
    throw new SwitchyardError(code, code);
  };

describe('ManifestCache', () => {
  test('N concurrent gets of one URL make one origin fetch', async () => {
    const t = setup();
    let release: (v: string) => void = () => undefined;
    t.origin.next = () => new Promise((r) => (release = r));
    const all = Promise.all(Array.from({ length: 50 }, () => t.cache.get(U)));
    await new Promise((r) => setImmediate(r));
    release('v1');
    const results = await all;
    expect(t.origin.calls).toEqual([U]);
    expect(new Set(results.map((r) => r.value))).toEqual(new Set(['|v1']));
    expect(t.outcomes.filter((o) => o === 'miss')).toHaveLength(1);
    expect(t.outcomes.filter((o) => o === 'coalesced')).toHaveLength(49);
  });

  test('a fill whose slot the byte budget evicts while it runs still answers its waiters', async () => {
    // Seen in the parse bench: eight cap-sized playlists filling at once; the later ones, stored,
    // pushed the oldest fill's placeholder out of the budget, and lru-cache failed its waiters with
    // "evicted" (500 INTERNAL) although the origin and the parse were fine.
    const t = setup({ maxBytes: 100 });
    const slow = `${U}?slow`;
    let release: (v: string) => void = () => undefined;
    t.origin.next = async (url) =>
      url === slow ? new Promise<string>((r) => (release = r)) : 'x'.repeat(35);
    const waiting = Promise.all([t.cache.get(slow), t.cache.get(slow)]);
    await new Promise((r) => setImmediate(r));
    for (const n of [1, 2, 3]) await t.cache.get(`${U}?n=${n}`); // 3 × 36 bytes > 100: the oldest goes
    release('y'.repeat(10));
    const answers = await waiting;
    expect(answers.map((a) => a.value)).toEqual(['|' + 'y'.repeat(10), '|' + 'y'.repeat(10)]);
    expect(t.origin.calls.filter((u) => u === slow)).toHaveLength(1);
    expect(t.cache.bytes).toBeLessThanOrEqual(100);
    // The evicted fill is not written back over whatever holds its slot now; a later get works.
    t.origin.next = async () => 'y'.repeat(10);
    await expect(t.cache.get(slow)).resolves.toMatchObject({ value: '|' + 'y'.repeat(10) });
  });

  test('hits within the TTL, refetch after it', async () => {
    const t = setup({ ttlMs: 2_000 });
    const first = await t.cache.get(U);
    expect(first).toMatchObject({ value: '|body of ' + U, ttlMs: 2_000, stale: false, fetchedAt: t.now() });
    t.advance(1_999);
    await t.cache.get(U);
    expect(t.origin.calls).toHaveLength(1);
    t.advance(2);
    t.origin.next = async () => 'v2';
    expect((await t.cache.get(U)).value).toBe('|v2');
    expect(t.origin.calls).toHaveLength(2);
    expect(t.outcomes).toEqual(['miss', 'hit', 'miss']);
  });

  test('different URLs and partitions are separate entries', async () => {
    const t = setup();
    const a = await t.cache.get(U, { partition: 'p1' });
    const b = await t.cache.get(U, { partition: 'p2' });
    const c = await t.cache.get(U + '?_HLS_msn=5', { partition: 'p1' });
    await t.cache.get(U, { partition: 'p1' });
    expect(a.value).toBe('p1|body of ' + U);
    expect(b.value).toBe('p2|body of ' + U);
    expect(c.value).toBe('p1|body of ' + U + '?_HLS_msn=5');
    expect(t.origin.calls).toEqual([U, U, U + '?_HLS_msn=5']);
    expect(t.cache.size).toBe(3);
    t.cache.clear();
    expect(t.cache.size).toBe(0);
  });

  test('holdMs reaches the origin client', async () => {
    const t = setup();
    await t.cache.get(U, { holdMs: 3_000 });
    expect(t.origin.holds).toEqual([3_000]);
  });

  test('stale-if-error: served within maxStale, retried after errorRetry, error once past maxStale', async () => {
    const t = setup({ ttlMs: 2_000, maxStaleMs: 10_000, errorRetryMs: 1_000 });
    await t.cache.get(U);
    t.advance(2_500); // expired 500 ms ago
    t.origin.next = fail('ORIGIN_TIMEOUT');
    const stale = await t.cache.get(U);
    expect(stale).toMatchObject({ value: '|body of ' + U, stale: true });
    expect(stale.error?.code).toBe('ORIGIN_TIMEOUT');
    expect(t.origin.calls).toHaveLength(2);
    // Within errorRetry: the stale copy, no new origin request.
    t.advance(500);
    expect((await t.cache.get(U)).stale).toBe(true);
    expect(t.origin.calls).toHaveLength(2);
    // After errorRetry: asks again (still failing: still stale).
    t.advance(600);
    expect((await t.cache.get(U)).stale).toBe(true);
    expect(t.origin.calls).toHaveLength(3);
    // Origin back: fresh again.
    t.advance(1_100);
    t.origin.next = async () => 'v2';
    const fresh = await t.cache.get(U);
    expect(fresh).toMatchObject({ value: '|v2', stale: false });
    expect(fresh.error).toBeUndefined();
    expect(t.outcomes).toEqual(['miss', 'stale', 'stale', 'stale', 'miss']);
  });

  test('past maxStale the error goes to the caller', async () => {
    const t = setup({ ttlMs: 2_000, maxStaleMs: 5_000, errorRetryMs: 1_000 });
    await t.cache.get(U);
    t.origin.next = fail('ORIGIN_STATUS');
    t.advance(2_000 + 4_000);
    expect((await t.cache.get(U)).stale).toBe(true);
    for (let i = 0; i < 3; i++) {
      t.advance(1_001);
      try {
        await t.cache.get(U);
      } catch {
        break;
      }
    }
    expect(t.now() - 1_000_000).toBeGreaterThan(2_000 + 5_000);
    await expect(t.cache.get(U)).rejects.toMatchObject({ code: 'ORIGIN_STATUS' });
    t.advance(60_000);
    await expect(t.cache.get(U)).rejects.toMatchObject({ code: 'ORIGIN_STATUS' });
  });

  test('a stale copy is never served past maxStale, whatever errorRetry is', async () => {
    const t = setup({ ttlMs: 1_000, maxStaleMs: 3_000, errorRetryMs: 10_000 });
    await t.cache.get(U);
    t.origin.next = fail('ORIGIN_TIMEOUT');
    t.advance(1_000 + 2_500);
    expect((await t.cache.get(U)).stale).toBe(true);
    t.advance(600); // 3.1 s past expiry
    await expect(t.cache.get(U)).rejects.toMatchObject({ code: 'ORIGIN_TIMEOUT' });
  });

  test('a broken manifest (load throws) is bridged like an origin failure', async () => {
    const t = setup();
    await t.cache.get(U);
    t.advance(2_100);
    t.origin.next = async () => 'garbage';
    const r = await t.cache.get(U);
    expect(r.stale).toBe(true);
    expect(r.error?.code).toBe('MANIFEST_INVALID');
  });

  test('ORIGIN_NOT_FOUND is never bridged', async () => {
    const t = setup();
    await t.cache.get(U);
    t.advance(2_100);
    t.origin.next = fail('ORIGIN_NOT_FOUND');
    await expect(t.cache.get(U)).rejects.toMatchObject({ code: 'ORIGIN_NOT_FOUND' });
  });

  test('a first fetch that fails is not cached', async () => {
    const t = setup();
    t.origin.next = fail('ORIGIN_TIMEOUT');
    await expect(t.cache.get(U)).rejects.toMatchObject({ code: 'ORIGIN_TIMEOUT' });
    t.origin.next = async () => 'ok';
    expect((await t.cache.get(U)).value).toBe('|ok');
    expect(t.origin.calls).toHaveLength(2);
  });

  test('non-Switchyard errors become INTERNAL', async () => {
    const t = setup();
    t.origin.next = async () => {
      throw new TypeError('boom');
    };
    await expect(t.cache.get(U)).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  test('concurrent gets during a failing refetch share it and get the stale copy', async () => {
    const t = setup();
    await t.cache.get(U);
    t.advance(2_100);
    let reject: (e: Error) => void = () => undefined;
    t.origin.next = () => new Promise((_r, j) => (reject = j));
    const all = Promise.all(Array.from({ length: 10 }, () => t.cache.get(U)));
    await new Promise((r) => setImmediate(r));
    reject(new SwitchyardError('ORIGIN_TIMEOUT', 't'));
    const results = await all;
    expect(results.every((r) => r.stale)).toBe(true);
    expect(t.origin.calls).toHaveLength(2);
  });
});
