import { builtinPolicies } from '../../src/policy/registry';
import { judgeCmcd, QoeScoreboard } from '../../src/policy/qoe';
import { cdn, issues, request } from './helpers';

describe('judgeCmcd', () => {
  it.each([
    [{ bs: true, mtp: 99999, br: 1 }, 'bad'],
    [{ mtp: 2000, br: 3000 }, 'bad'],
    [{ mtp: 4000, br: 3000 }, 'good'],
    [{ bl: 12000 }, 'good'],
    [{ ot: 'm', sid: 'x' }, undefined],
    [{ mtp: '2000', br: 3000 }, undefined],
  ])('%j is %s', (cmcd, verdict) => {
    expect(judgeCmcd(cmcd).verdict).toBe(verdict);
  });
});

describe('QoeScoreboard', () => {
  it('decays, smooths and counts an event once', () => {
    const s = new QoeScoreboard();
    expect(s.score('a', 0, 1000)).toBe(1);
    const e = {};
    for (let i = 0; i < 5; i++) s.record('a', 'bad', 0, 1000, i === 0 ? e : undefined);
    s.record('a', 'bad', 0, 1000, e);
    expect(s.score('a', 0, 1000)).toBeCloseTo(5 / 10);
    expect(s.score('a', 10_000, 1000)).toBeGreaterThan(0.99);
  });
});

describe('qoe policy', () => {
  const t0 = 1_000_000;
  const cdns = [cdn('a'), cdn('b'), cdn('c')];

  it('moves a session reporting starvation to the next-best CDN, and keeps it off', () => {
    const policy = builtinPolicies().create({ type: 'qoe', avoidFor: '1m' }, ['a', 'b', 'c'], ['policy']);
    const first = policy.select(request({ now: t0, cdns }));
    expect(first.reason).toMatch(/^qoe: best by score/);
    const steady = policy.select(
      request({ now: t0 + 2000, cdns, client: { cmcd: { mtp: 9000, br: 3000 } } }),
    );
    expect(steady.cdn).toBe(first.cdn);
    expect(steady.reason).toMatch(/^qoe: staying on/);

    const starved = policy.select(
      request({ now: t0 + 4000, cdns, client: { cmcd: { bs: true, br: 3000 } } }),
    );
    expect(starved.cdn).not.toBe(first.cdn);
    expect(starved.reason).toMatch(
      new RegExp(`^qoe: buffer starvation on ${first.cdn}, moved to next-best ${starved.cdn}`),
    );
    expect(starved.switched).toEqual({ from: first.cdn, to: starved.cdn });
    expect(starved.ranked?.[0]).toBe(starved.cdn);
    expect(starved.ranked).toContain(first.cdn);

    const slow = policy.select(request({ now: t0 + 6000, cdns, client: { cmcd: { mtp: 1000, br: 3000 } } }));
    const third = ['a', 'b', 'c'].find((id) => id !== first.cdn && id !== starved.cdn);
    expect(slow.cdn).toBe(third);
    expect(slow.reason).toMatch(/throughput 1000 kbps < bitrate 3000 kbps/);
    // Avoiding everything: back to all healthy CDNs rather than nothing.
    const again = policy.select(request({ now: t0 + 8000, cdns, client: { cmcd: { bs: true } } }));
    expect(['a', 'b', 'c']).toContain(again.cdn);
  });

  it('reads CMCD headers when the server has not parsed them', () => {
    const policy = builtinPolicies().create({ type: 'qoe' }, ['a', 'b', 'c'], ['policy']);
    const first = policy.select(request({ now: t0, cdns }));
    const moved = policy.select(request({ now: t0 + 1, cdns, client: { headers: { 'cmcd-status': 'bs' } } }));
    expect(moved.cdn).not.toBe(first.cdn);
  });

  it('steers new sessions away from a CDN with poor scores aggregated over sessions', () => {
    const policy = builtinPolicies().create({ type: 'qoe' }, ['a', 'b'], ['policy']);
    const two = [cdn('a'), cdn('b')];
    for (let i = 0; i < 200; i++) {
      policy.observe?.({ kind: 'cmcd', sessionId: `bad${i}`, cdn: 'a', cmcd: { bs: true }, at: t0 });
      policy.observe?.({
        kind: 'cmcd',
        sessionId: `good${i}`,
        cdn: 'b',
        cmcd: { mtp: 9000, br: 3000 },
        at: t0,
      });
    }
    let onA = 0;
    for (let i = 0; i < 500; i++)
      if (policy.select(request({ session: { id: `n${i}` }, now: t0, cdns: two })).cdn === 'a') onA++;
    expect(onA).toBeLessThan(5);
    // Scores decay: an hour later the CDNs are even again.
    onA = 0;
    for (let i = 0; i < 500; i++)
      if (policy.select(request({ session: { id: `m${i}` }, now: t0 + 3_600_000, cdns: two })).cdn === 'a')
        onA++;
    expect(onA).toBeGreaterThan(200);
  });

  it('validates options', () => {
    expect(issues({ type: 'qoe', throughputMargin: 0, halfLife: 'x' })).toEqual([
      'policy.halfLife: expected a duration like "500ms", "2s", "5m" or milliseconds, got "x"',
      'policy.throughputMargin: expected number > 0, got number 0',
    ]);
  });
});
