import fc from 'fast-check';
import { SelectionShare } from '../../src/state/share';
import { SessionCounter } from '../../src/policy/capacity';
import type { CdnView } from '../../src/policy/types';
import { build, cdn, issues, request } from './helpers';

describe('SessionCounter', () => {
  it('counts distinct sessions per CDN within the window, bounded', () => {
    const c = new SessionCounter(1000, 3);
    c.touch('x', 'a', 0);
    c.touch('y', 'a', 100);
    c.touch('x', 'a', 200);
    expect(c.count('a', 200)).toBe(2);
    c.touch('x', 'b', 300);
    expect([c.count('a', 300), c.count('b', 300)]).toEqual([1, 1]);
    expect(c.count('a', 1101)).toBe(0); // y last seen at 100
    c.touch('p', 'a', 1200);
    c.touch('q', 'a', 1200);
    c.touch('r', 'a', 1200);
    c.touch('s', 'a', 1200);
    expect(c.size).toBe(3);
    expect(c.count('a', 1200) + c.count('b', 1200)).toBe(3);
  });
});

describe('capacity policy', () => {
  it('spills over from a CDN at its max share to the next in rendezvous order', () => {
    const policy = build({ type: 'capacity', cdns: { a: { maxShare: 0.3 } } });
    const cdns = [cdn('a', { share: 0.31, weight: 1000 }), cdn('b'), cdn('c')];
    const sel = policy.select(request({ cdns }));
    expect(sel.cdn).not.toBe('a');
    expect(sel.reason).toBe('capacity: a full, spilled over');
    expect(sel.ranked?.[0]).toBe(sel.cdn);
    const room = policy.select(
      request({ session: { id: 'other' }, cdns: [cdn('a', { share: 0.2, weight: 1000 }), cdn('b')] }),
    );
    expect(room).toMatchObject({ cdn: 'a', reason: 'capacity: within limits' });
  });

  it('keeps a session already on a CDN within the hysteresis band', () => {
    const policy = build({ type: 'capacity', hysteresis: 0.05, cdns: { a: { maxShare: 0.3 } } });
    const onA = (share: number) => [cdn('a', { share, weight: 1000 }), cdn('b')];
    expect(policy.select(request({ cdns: onA(0.1) })).cdn).toBe('a');
    expect(policy.select(request({ cdns: onA(0.34) })).cdn).toBe('a');
    expect(policy.select(request({ cdns: onA(0.36) })).cdn).toBe('b');
    // A new session is refused at the limit itself.
    expect(policy.select(request({ session: { id: 'new' }, cdns: onA(0.3) })).cdn).toBe('b');
  });

  it('caps concurrent sessions per CDN', () => {
    const policy = build({ type: 'capacity', window: '1m', cdns: { a: { maxSessions: 10 } } });
    const cdns = [cdn('a', { weight: 1e6 }), cdn('b')];
    const got = Array.from(
      { length: 30 },
      (_, i) => policy.select(request({ session: { id: `s${i}` }, cdns, now: 1000 + i })).cdn,
    );
    expect(got.filter((c) => c === 'a')).toHaveLength(10);
    // Sessions already counted keep their place on reload.
    expect(policy.select(request({ session: { id: 's0' }, cdns, now: 2000 })).cdn).toBe('a');
    // After the window, the old sessions no longer count.
    expect(policy.select(request({ session: { id: 'late' }, cdns, now: 1000 + 61_000 })).cdn).toBe('a');
  });

  it('picks the least loaded when every CDN is full', () => {
    const policy = build({ type: 'capacity', cdns: { a: { maxShare: 0.5 }, b: { maxShare: 0.4 } } }, [
      'a',
      'b',
    ]);
    const sel = policy.select(request({ cdns: [cdn('a', { share: 0.6 }), cdn('b', { share: 0.41 })] }));
    expect(sel).toMatchObject({ cdn: 'b', reason: 'capacity: every CDN at its limit, least loaded' });
  });

  it('validates limits and CDN ids', () => {
    expect(
      issues({ type: 'capacity', cdns: { a: { maxShare: 1.5 }, zz: { maxSessions: 5 }, b: {} } }),
    ).toEqual([
      'policy.cdns.a.maxShare: expected number <= 1, got number 1.5',
      'policy.cdns.b: expected maxShare and/or maxSessions',
    ]);
    expect(issues({ type: 'capacity', cdns: { zz: { maxSessions: 5 } } })).toEqual([
      'policy.cdns.zz: unknown CDN "zz" (expected one of a, b, c)',
    ]);
  });

  it('never exceeds a max share by more than 1 point in a simulated stream of selections (property)', () => {
    // Tolerance: the decaying share moves by about 1/(selections per half-life) per decision, and the
    // policy refuses new sessions at the limit; 0.01 covers the step plus rounding.
    const TOLERANCE = 0.01;
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 0.6, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        (maxShare, weights, seed) => {
          const ids = ['a', 'b', 'c'];
          const policy = build({ type: 'capacity', cdns: { a: { maxShare } } });
          const share = new SelectionShare(30_000, 0);
          let worst = 0;
          // 20k decisions, 5 ms apart: a mix of new sessions and reloads of a population of 2000.
          for (let i = 0; i < 20_000; i++) {
            const now = i * 5;
            const shares = share.shares(now);
            const cdns: CdnView[] = ids.map((id, k) =>
              cdn(id, { weight: weights[k]!, share: shares.get(id) ?? 0 }),
            );
            const sessionId = i % 3 === 0 ? `new-${seed}-${i}` : `pop-${seed}-${(i * 7919) % 2000}`;
            const sel = policy.select(request({ session: { id: sessionId }, cdns, now }));
            share.record(sel.cdn, now);
            if (i > 2_000) worst = Math.max(worst, share.shares(now).get('a') ?? 0);
          }
          // Sessions already on `a` may use the hysteresis band (default 0.02) before they move.
          expect(worst).toBeLessThanOrEqual(maxShare + 0.02 + TOLERANCE);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('without returning sessions, new sessions alone never push a CDN past its max share (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 0.6, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (maxShare, seed) => {
          const policy = build({ type: 'capacity', cdns: { a: { maxShare } } });
          const share = new SelectionShare(30_000, 0);
          let worst = 0;
          for (let i = 0; i < 10_000; i++) {
            const now = i * 5;
            const shares = share.shares(now);
            const cdns = ['a', 'b', 'c'].map((id) =>
              cdn(id, { weight: id === 'a' ? 10 : 1, share: shares.get(id) ?? 0 }),
            );
            const sel = policy.select(request({ session: { id: `n-${seed}-${i}` }, cdns, now }));
            share.record(sel.cdn, now);
            if (i > 1_000) worst = Math.max(worst, share.shares(now).get('a') ?? 0);
          }
          expect(worst).toBeLessThanOrEqual(maxShare + 0.001);
        },
      ),
      { numRuns: 8 },
    );
  });
});
