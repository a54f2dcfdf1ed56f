import { builtinPolicies } from '../../src/policy/registry';
import { InMemoryVolumeLedger, periodStart } from '../../src/state/ledger';
import { BYTES_PER_GB } from '../../src/policy/cost';
import { cdn, issues, request } from './helpers';

const JAN = Date.UTC(2025, 0, 15);
const config = {
  type: 'cost',
  cdns: {
    a: { pricePerGB: 0.01, commitGB: 100 },
    b: { pricePerGB: 0.004 },
    c: { pricePerGB: 0.006, commitGB: 50 },
  },
};

function setup() {
  const registry = builtinPolicies();
  const policy = registry.create(config, ['a', 'b', 'c'], ['policy']);
  const deliver = (id: string, gb: number, at = JAN) =>
    policy.observe?.({
      kind: 'delivery',
      sessionId: 'x',
      streamId: 'live1',
      cdn: id,
      mediaSeconds: gb * 8,
      bitrateBps: BYTES_PER_GB,
      at,
    });
  return { registry, policy, deliver };
}

describe('cost policy', () => {
  it('fills commits first, spread over the CDNs with commit left', () => {
    const { policy } = setup();
    const got = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const sel = policy.select(request({ session: { id: `s${i}` }, now: JAN }));
      got.add(sel.cdn);
      expect(sel.reason).toMatch(/^cost: filling (a|c) commit \(\d+ GB left\)$/);
    }
    expect([...got].sort()).toEqual(['a', 'c']);
  });

  it('goes to the cheapest healthy CDN once commits are used up, and back next period', () => {
    const { policy, deliver } = setup();
    deliver('a', 100);
    deliver('c', 60);
    const sel = policy.select(request({ now: JAN }));
    expect(sel).toMatchObject({ cdn: 'b', reason: 'cost: cheapest (0.004/GB)' });
    expect(sel.ranked).toEqual(['b', 'c', 'a']);
    const unhealthy = policy.select(
      request({ now: JAN, cdns: [cdn('a'), cdn('b', { healthy: false }), cdn('c')] }),
    );
    expect(unhealthy.cdn).toBe('c');
    // February: commits are fresh again.
    expect(policy.select(request({ now: Date.UTC(2025, 1, 1) })).reason).toMatch(/^cost: filling/);
  });

  it('uses unlisted CDNs only when no priced one is healthy', () => {
    const registry = builtinPolicies();
    const policy = registry.create({ type: 'cost', cdns: { a: { pricePerGB: 1 } } }, ['a', 'b'], ['policy']);
    expect(policy.select(request({ cdns: [cdn('a'), cdn('b')] })).cdn).toBe('a');
    const sel = policy.select(request({ cdns: [cdn('a', { healthy: false }), cdn('b')] }));
    expect(sel).toMatchObject({ cdn: 'b', reason: 'cost: no priced CDN healthy, using unpriced' });
  });

  it('validates prices and CDN ids', () => {
    expect(
      issues({ type: 'cost', period: 'week', cdns: { a: { pricePerGB: -1 }, q: { pricePerGB: 1 } } }),
    ).toEqual([
      'policy.period: expected one of "month", "day", got string "week"',
      'policy.cdns.a.pricePerGB: expected number >= 0, got number -1',
    ]);
    expect(issues({ type: 'cost', cdns: { q: { pricePerGB: 1 } } })).toEqual([
      'policy.cdns.q: unknown CDN "q" (expected one of a, b, c)',
    ]);
  });
});

describe('InMemoryVolumeLedger', () => {
  it('sums per calendar month and day (UTC) and drops old days', () => {
    const l = new InMemoryVolumeLedger(40);
    l.add('a', 10, Date.UTC(2025, 0, 31, 23));
    l.add('a', 5, Date.UTC(2025, 1, 1, 0));
    l.add('a', -5, Date.UTC(2025, 1, 1, 0));
    l.add('a', Number.NaN, Date.UTC(2025, 1, 1, 0));
    expect(l.delivered('a', 'month', Date.UTC(2025, 0, 2))).toBe(10);
    expect(l.delivered('a', 'month', Date.UTC(2025, 1, 20))).toBe(5);
    expect(l.delivered('a', 'day', Date.UTC(2025, 1, 1, 12))).toBe(5);
    expect(l.delivered('b', 'month', Date.UTC(2025, 1, 1))).toBe(0);
    l.add('a', 1, Date.UTC(2025, 5, 1));
    expect(l.delivered('a', 'month', Date.UTC(2025, 0, 2))).toBe(0);
    expect(periodStart('month', Date.UTC(2024, 1, 29, 5))).toBe(Date.UTC(2024, 1, 1));
  });
});
