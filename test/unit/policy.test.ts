import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { failoverPolicy } from '../../src/policy/failover';
import { hash53, unitHash } from '../../src/policy/hash';
import { builtinPolicies } from '../../src/policy/registry';
import type {
  CdnSelectionPolicy,
  CdnView,
  PolicyContext,
  SelectionRequest,
  SharedPolicyState,
} from '../../src/policy/types';
import { candidates, rendezvousRank, weightedPolicy } from '../../src/policy/weighted';

const cdn = (id: string, weight = 1, healthy = true): CdnView => ({
  id,
  baseUrl: `https://${id}.example.com/`,
  weight,
  healthy,
  errorRate: 0,
  latencyMs: null,
  share: 0,
  tags: {},
});

const ctx = (cdnIds: string[]): PolicyContext => ({
  cdnIds,
  createChild: () => {
    throw new Error('no children here');
  },
  // Neither weighted nor failover keeps shared state.
  shared: {} as SharedPolicyState,
});

const request = (sessionId: string, cdns: readonly CdnView[]): SelectionRequest => ({
  session: { id: sessionId, startedAt: 0 },
  client: { ip: '192.0.2.1' },
  stream: { id: 'live1', protocol: 'hls', live: true },
  cdns,
  now: 0,
});

const sessionIds = (n: number) => Array.from({ length: n }, () => randomBytes(12).toString('base64url'));

function shares(policy: CdnSelectionPolicy, cdns: CdnView[], ids: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) {
    const c = policy.select(request(id, cdns)).cdn;
    counts[c] = (counts[c] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / ids.length]));
}

describe('hash', () => {
  test('deterministic, seeded, 53-bit, uniform in (0, 1)', () => {
    expect(hash53('abc')).toBe(hash53('abc'));
    expect(hash53('abc')).not.toBe(hash53('abd'));
    expect(hash53('abc', 1)).not.toBe(hash53('abc'));
    expect(Number.isSafeInteger(hash53('x'))).toBe(true);
    fc.assert(
      fc.property(fc.string(), (s) => {
        const u = unitHash(s);
        return u > 0 && u < 1;
      }),
    );
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const b = Math.floor(unitHash('k' + i) * 10);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });
});

describe('weighted policy', () => {
  const policy = weightedPolicy.create({}, ctx(['a', 'b', 'c']));
  const ids = sessionIds(100_000);

  test('50/50 spreads 100k sessions within 1%', () => {
    const s = shares(policy, [cdn('a', 50), cdn('b', 50)], ids);
    expect(Math.abs((s.a ?? 0) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs((s.b ?? 0) - 0.5)).toBeLessThan(0.01);
  });

  test('70/20/10 spreads 100k sessions within 1%', () => {
    const s = shares(policy, [cdn('a', 70), cdn('b', 20), cdn('c', 10)], ids);
    expect(Math.abs((s.a ?? 0) - 0.7)).toBeLessThan(0.01);
    expect(Math.abs((s.b ?? 0) - 0.2)).toBeLessThan(0.01);
    expect(Math.abs((s.c ?? 0) - 0.1)).toBeLessThan(0.01);
  });

  test('a session keeps its CDN; the reason and ranking are reported', () => {
    const cdns = [cdn('a', 1), cdn('b', 2), cdn('c', 3, false)];
    const first = policy.select(request('sess', cdns));
    expect(policy.select(request('sess', cdns))).toEqual(first);
    expect(first.reason).toBe('weighted: rendezvous');
    expect([...(first.ranked ?? [])].sort()).toEqual(['a', 'b', 'c']);
    expect(first.ranked?.[2]).toBe('c');
    expect(first.ranked?.[0]).toBe(first.cdn);
  });

  const weightsArb = fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 6 });
  const few = sessionIds(500);

  test('removing one CDN, or marking it unhealthy, moves only its own sessions', () => {
    fc.assert(
      fc.property(weightsArb, fc.nat(), fc.boolean(), (weights, pick, remove) => {
        const cdns = weights.map((w, i) => cdn('cdn' + i, w));
        const gone = cdns[pick % cdns.length] as CdnView;
        const after = remove
          ? cdns.filter((c) => c !== gone)
          : cdns.map((c) => (c === gone ? { ...c, healthy: false } : c));
        for (const id of few) {
          const before = policy.select(request(id, cdns)).cdn;
          const now = policy.select(request(id, after)).cdn;
          if (before !== gone.id) expect(now).toBe(before);
          else expect(now).not.toBe(gone.id);
        }
      }),
      { numRuns: 25 },
    );
  });

  test('adding a CDN moves sessions only onto the new CDN', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 100 }), (weights, w) => {
        const cdns = weights.map((x, i) => cdn('cdn' + i, x));
        const more = [...cdns, cdn('new', w)];
        for (const id of few) {
          const before = policy.select(request(id, cdns)).cdn;
          const now = policy.select(request(id, more)).cdn;
          if (now !== 'new') expect(now).toBe(before);
        }
      }),
      { numRuns: 20 },
    );
  });

  test('weight 0 never serves while another CDN can; all weight 0 spreads evenly', () => {
    const cdns = [cdn('a', 0), cdn('b', 1)];
    expect(new Set(few.map((id) => policy.select(request(id, cdns)).cdn))).toEqual(new Set(['b']));
    const s = shares(policy, [cdn('a', 0), cdn('b', 0)], few);
    expect(s.a).toBeGreaterThan(0.4);
    expect(s.b).toBeGreaterThan(0.4);
  });

  test('all unhealthy: still answers, degraded, and spreads by weight', () => {
    const cdns = [cdn('a', 1, false), cdn('b', 1, false)];
    const sel = policy.select(request('x', cdns));
    expect(['a', 'b']).toContain(sel.cdn);
    expect(sel.reason).toBe('weighted: no healthy CDN, using all');
    const s = shares(policy, cdns, few);
    expect(s.a).toBeGreaterThan(0.4);
    expect(s.b).toBeGreaterThan(0.4);
  });

  test('a healthy CDN with weight 0 beats unhealthy ones', () => {
    const sel = policy.select(request('x', [cdn('a', 1, false), cdn('b', 0, true)]));
    expect(sel.cdn).toBe('b');
  });

  test('no CDNs is an error', () => {
    expect(() => policy.select(request('x', []))).toThrow();
  });

  test('helpers: candidates and rendezvousRank', () => {
    expect(candidates([cdn('a', 1, false), cdn('b')])).toEqual({ pool: [cdn('b')], degraded: false });
    expect(candidates([cdn('a', 1, false)]).degraded).toBe(true);
    const ranked = rendezvousRank('s', [cdn('a'), cdn('b', 0), cdn('c')]).map((c) => c.id);
    expect(ranked.sort()).toEqual(['a', 'c']);
  });
});

describe('failover policy', () => {
  test('picks the first healthy CDN in order', () => {
    const p = failoverPolicy.create({ order: ['c', 'a'] }, ctx(['a', 'b', 'c']));
    const cdns = [cdn('a'), cdn('b'), cdn('c')];
    expect(p.select(request('s', cdns))).toEqual({
      cdn: 'c',
      reason: 'failover: primary healthy',
      ranked: ['c', 'a', 'b'],
    });
    const down = [cdn('a'), cdn('b'), cdn('c', 1, false)];
    expect(p.select(request('s', down))).toEqual({
      cdn: 'a',
      reason: 'failover: c unhealthy',
      ranked: ['a', 'b', 'c'],
    });
    const two = [cdn('a', 1, false), cdn('b'), cdn('c', 1, false)];
    expect(p.select(request('s', two))).toMatchObject({ cdn: 'b', reason: 'failover: c, a unhealthy' });
  });

  test('default order is config order; the session does not matter', () => {
    const p = failoverPolicy.create({}, ctx(['b', 'a']));
    for (const id of sessionIds(50)) expect(p.select(request(id, [cdn('a'), cdn('b')])).cdn).toBe('b');
  });

  test('all unhealthy: the first in order, with a reason', () => {
    const p = failoverPolicy.create({ order: ['b'] }, ctx(['a', 'b']));
    expect(p.select(request('s', [cdn('a', 1, false), cdn('b', 1, false)]))).toMatchObject({
      cdn: 'b',
      reason: 'failover: no healthy CDN, using first',
    });
  });

  test('a healthy CDN with weight 0 is skipped while another is healthy', () => {
    const p = failoverPolicy.create({}, ctx(['a', 'b']));
    expect(p.select(request('s', [cdn('a', 0), cdn('b')])).cdn).toBe('b');
    expect(p.select(request('s', [cdn('a', 0), cdn('b', 1, false)])).cdn).toBe('a');
  });

  test('check() names unknown CDNs with their index', () => {
    expect(
      failoverPolicy.check?.({ order: ['a', 'x'] }, { cdnIds: ['a', 'b'], validateChild: () => [] }),
    ).toEqual([{ path: ['order', 1], message: 'unknown CDN "x" (expected one of a, b)' }]);
  });
});

describe('registry', () => {
  const registry = builtinPolicies();

  test('built-in types are registered', () => {
    expect(registry.types()).toEqual(expect.arrayContaining(['weighted', 'failover']));
  });

  test('validation problems carry paths', () => {
    expect(registry.validate({ type: 'weighted' }, ['a'], ['policy'])).toEqual([]);
    expect(registry.validate({ type: 'nope' }, ['a'], ['policy'])).toEqual([
      { path: ['policy', 'type'], message: expect.stringContaining('"nope"') },
    ]);
    expect(registry.validate({ type: 'failover', order: ['a', 'zz'] }, ['a'], ['policy'])).toEqual([
      { path: ['policy', 'order', 1], message: expect.stringContaining('"zz"') },
    ]);
    expect(registry.validate({ type: 'failover', order: [1] }, ['a'], ['policy'])).toEqual([
      { path: ['policy', 'order', 0], message: expect.any(String) },
    ]);
    expect(registry.validate('weighted', ['a'], ['policy'])).toEqual([
      { path: ['policy'], message: expect.any(String) },
    ]);
    expect(registry.validate({}, ['a'], ['policy'])).toEqual([
      { path: expect.arrayContaining(['policy']), message: expect.stringContaining('policy') },
    ]);
  });

  test('create() refuses an invalid config and builds a valid one', () => {
    expect(() => registry.create({ type: 'nope' }, ['a'])).toThrow();
    const p = registry.create({ type: 'failover', order: ['b'] }, ['a', 'b']);
    expect(p.select(request('s', [cdn('a'), cdn('b')])).cdn).toBe('b');
  });

  test('registering a type twice is an error', () => {
    expect(() => registry.register(weightedPolicy)).toThrow(/already registered/);
  });
});
