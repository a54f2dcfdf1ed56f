import { builtinPolicies } from '../../src/policy/registry';
import { judgeCmcd, QoeScoreboard } from '../../src/policy/qoe';
import { QoeAggregates } from '../../src/qoe/aggregate';
import { createPolicyState } from '../../src/state/policy-state';
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

  describe("over the fleet's windowed aggregates (as in a server)", () => {
    const fleetPolicy = (aggregates: QoeAggregates, options: Record<string, unknown> = {}) =>
      builtinPolicies().create({ type: 'qoe', ...options }, ['a', 'b'], ['policy'], {
        state: createPolicyState({ qoe: aggregates }),
      });
    const two = [cdn('a'), cdn('b')];
    const vote = (a: QoeAggregates, cdnId: string, n: number, bad: boolean, extra = {}) => {
      for (let i = 0; i < n; i++)
        a.record({
          at: t0,
          source: 'cmcd-event',
          sessionId: `${cdnId}-${bad}-${i}-${JSON.stringify(extra)}`,
          cdn: cdnId,
          segmentRequests: 4,
          segmentErrors: bad ? 2 : 0,
          ...extra,
        });
    };

    it('moves no score on fewer voters than minSessions, then steers by them', () => {
      const a = new QoeAggregates({ minSessions: 20 });
      const policy = fleetPolicy(a);
      vote(a, 'a', 19, true);
      let onA = 0;
      for (let i = 0; i < 200; i++)
        if (policy.select(request({ session: { id: `n${i}` }, now: t0, cdns: two })).cdn === 'a') onA++;
      expect(onA).toBeGreaterThan(60);
      vote(a, 'a', 30, true);
      vote(a, 'b', 30, false);
      onA = 0;
      for (let i = 0; i < 200; i++)
        if (policy.select(request({ session: { id: `m${i}` }, now: t0, cdns: two })).cdn === 'a') onA++;
      expect(onA).toBeLessThan(5);
    });

    it('moves a session off a CDN that scores far below the best at its next request', () => {
      const a = new QoeAggregates({ minSessions: 5 });
      const policy = fleetPolicy(a, { tolerance: 0.1 });
      const first = policy.select(request({ session: { id: 'v' }, now: t0, cdns: two }));
      const other = first.cdn === 'a' ? 'b' : 'a';
      vote(a, first.cdn, 20, true);
      vote(a, other, 20, false);
      const next = policy.select(
        request({ session: { id: 'v', previous: first.cdn }, now: t0 + 1000, cdns: two }),
      );
      expect(next.cdn).toBe(other);
      expect(next.reason).toMatch(new RegExp(`^qoe: ${first.cdn} scores`));
    });

    it('scores a viewer by its own country and ASN when they have enough voters', () => {
      const a = new QoeAggregates({ minSessions: 5 });
      const policy = fleetPolicy(a, { tolerance: 0.1 });
      // CDN a fails in one ASN only; b is fine everywhere.
      vote(a, 'a', 10, true, { country: 'DE', asn: 3320 });
      vote(a, 'a', 40, false, { country: 'FR', asn: 3215 });
      vote(a, 'b', 10, false, { country: 'DE', asn: 3320 });
      vote(a, 'b', 10, false, { country: 'FR', asn: 3215 });
      const inDe = { headers: { 'cloudfront-viewer-country': 'DE', 'cloudfront-viewer-asn': '3320' } };
      const inFr = { headers: { 'cloudfront-viewer-country': 'FR', 'cloudfront-viewer-asn': '3215' } };
      const de = policy.select(
        request({ session: { id: 'de', previous: 'a' }, client: inDe, now: t0, cdns: two }),
      );
      const fr = policy.select(
        request({ session: { id: 'fr', previous: 'a' }, client: inFr, now: t0, cdns: two }),
      );
      expect(de.cdn).toBe('b');
      expect(fr.cdn).toBe('a');
    });

    it('leaves a CDN under CMSD duress (probe or enough echoes) while another serves, unless told to ignore it', () => {
      const a = new QoeAggregates({ minSessions: 5, duressMinSessions: 2 });
      const policy = fleetPolicy(a);
      const duressA = [cdn('a', { duress: true }), cdn('b')];
      const moved = policy.select(request({ session: { id: 'd', previous: 'a' }, now: t0, cdns: duressA }));
      expect(moved.cdn).toBe('b');
      expect(moved.reason).toMatch(/^qoe: a under duress \(CMSD du\), moved to b/);
      for (let i = 0; i < 50; i++)
        expect(policy.select(request({ session: { id: `x${i}` }, now: t0, cdns: duressA })).cdn).toBe('b');
      // Every CDN in duress: they still serve.
      const all = [cdn('a', { duress: true }), cdn('b', { duress: true })];
      expect(['a', 'b']).toContain(policy.select(request({ session: { id: 'y' }, now: t0, cdns: all })).cdn);
      // Echoed by players.
      for (const id of ['p1', 'p2'])
        a.record({ at: t0, source: 'cmcd-event', sessionId: id, cdn: 'b', duress: true });
      expect(policy.select(request({ session: { id: 'z', previous: 'b' }, now: t0, cdns: two })).cdn).toBe(
        'a',
      );
      const ignoring = fleetPolicy(a, { duress: 'ignore' });
      expect(
        ignoring.select(request({ session: { id: 'z2', previous: 'a' }, now: t0, cdns: duressA })).cdn,
      ).toBe('a');
    });
  });

  it('validates options', () => {
    expect(issues({ type: 'qoe', throughputMargin: 0, halfLife: 'x' })).toEqual([
      'policy.halfLife: expected a duration like "500ms", "2s", "5m" or milliseconds, got "x"',
      'policy.throughputMargin: expected number > 0, got number 0',
    ]);
  });
});
