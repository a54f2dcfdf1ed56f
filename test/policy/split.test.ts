import fc from 'fast-check';
import { splitArm } from '../../src/policy/split';
import { build, issues, request } from './helpers';

const config = {
  type: 'split',
  splits: [
    { name: 'main', percent: 90, policy: { type: 'failover', order: ['a'] } },
    { name: 'canary', percent: 10, policy: { type: 'failover', order: ['b'] } },
  ],
};

describe('split policy', () => {
  it('routes to the arm of the session, and says which', () => {
    const policy = build(config);
    const sel = policy.select(request({ session: { id: 'x' } }));
    const arm = splitArm('x', [90, 10]);
    expect(sel.cdn).toBe(arm === 0 ? 'a' : 'b');
    expect(sel.reason).toBe(`split ${arm === 0 ? 'main' : 'canary'}: failover: primary healthy`);
  });

  it('validates percentages summing to 100 and nested policies', () => {
    expect(issues({ ...config, splits: [config.splits[0]] })).toEqual([
      'policy.splits: expected percentages summing to 100, got 90',
    ]);
    expect(
      issues({
        type: 'split',
        splits: [
          { percent: 100.5, policy: { type: 'weighted' } },
          { percent: -0.5, policy: {} },
        ],
      }),
    ).toEqual([
      'policy.splits.0.percent: expected number <= 100, got number 100.5',
      'policy.splits.1.percent: expected number >= 0, got number -0.5',
    ]);
    expect(issues({ type: 'split', splits: [{ percent: 100, policy: { type: 'zz' } }] })[0]).toMatch(
      /^policy\.splits\.0\.policy\.type: unknown policy type "zz"/,
    );
    expect(
      issues({
        type: 'split',
        splits: [
          { percent: 33.3, policy: { type: 'weighted' } },
          { percent: 66.7, policy: { type: 'weighted' } },
        ],
      }),
    ).toEqual([]);
  });

  it('is stable per session: same arm on every call, every instance (property)', () => {
    const a = build(config);
    const b = build(config);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 1e12 }),
        (id, now) => {
          const first = a.select(request({ session: { id }, now })).reason;
          expect(a.select(request({ session: { id }, now: now + 5000 })).reason).toBe(first);
          expect(b.select(request({ session: { id }, now })).reason).toBe(first);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('lands within 1% of the percentages over 100k session ids (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 5 }),
        fc.string({ maxLength: 8 }),
        (raw, salt) => {
          const total = raw.reduce((s, x) => s + x, 0);
          const percents = raw.map((x) => (x / total) * 100);
          const counts = new Array<number>(percents.length).fill(0);
          const n = 100_000;
          for (let i = 0; i < n; i++) counts[splitArm(`sess-${salt}-${i}`, percents, salt)]! += 1;
          counts.forEach((c, i) => expect(Math.abs((c / n) * 100 - percents[i]!)).toBeLessThan(1));
        },
      ),
      { numRuns: 10 },
    );
  });

  it('a new salt reshuffles sessions', () => {
    let moved = 0;
    for (let i = 0; i < 1000; i++)
      if (splitArm(`s${i}`, [50, 50], 'a') !== splitArm(`s${i}`, [50, 50], 'b')) moved++;
    expect(moved).toBeGreaterThan(400);
    expect(moved).toBeLessThan(600);
  });
});
