import { QoeAggregates, parseSnapshot, qoeKey } from '../../src/qoe/aggregate';
import type { QoeSignal } from '../../src/qoe/signals';

const W = 10_000;
const base: QoeSignal = {
  at: 5 * W,
  source: 'cmcd-event',
  cdn: 'a',
  country: 'DE',
  asn: 3320,
  segmentRequests: 1,
  segmentErrors: 0,
};
const agg = (minSessions = 3) =>
  new QoeAggregates({ windowMs: W, windows: 2, minSessions, sessionsPerClient: 2 });

describe('QoeAggregates', () => {
  it('counts one vote per session and window, bad once it suffered at all', () => {
    const a = agg();
    for (let i = 0; i < 50; i++) a.record({ ...base, sessionId: 'loud', segmentErrors: i % 2 });
    a.record({ ...base, sessionId: 'quiet' });
    const t = a.tally(qoeKey('a'), base.at);
    expect(t.sessions).toBe(2);
    expect(t.bad).toBe(1);
    // One session's requests are capped at what a player does in a window (10 a second).
    a.record({ ...base, sessionId: 'flood', segmentRequests: 1e9, segmentErrors: 1e9 });
    const after = a.tally(qoeKey('a'), base.at);
    expect(after.requests - t.requests).toBe(100);
    expect(after.errors - t.errors).toBe(100);
  });

  it('gives no estimate below minSessions, and the most specific scope with enough voters', () => {
    const a = agg(3);
    for (const id of ['s1', 's2']) a.record({ ...base, sessionId: id, segmentErrors: 1 });
    expect(a.estimate('a', base.at, 'DE', 3320)).toBeUndefined();
    a.record({ ...base, sessionId: 's3', asn: 1111 });
    // ASN 3320 has 2 voters, Germany 3: the country answers.
    const e = a.estimate('a', base.at, 'DE', 3320);
    expect(e).toMatchObject({ scope: 'country', sessions: 3, bad: 2 });
    expect(e?.goodShare).toBeCloseTo(1 / 3);
    expect(e?.errorRate).toBeCloseTo(2 / 3);
    a.record({ ...base, sessionId: 's4' });
    expect(a.estimate('a', base.at, 'DE', 3320)?.scope).toBe('asn');
    expect(a.estimate('a', base.at, 'FR')?.scope).toBe('all');
  });

  it('covers the newest windows only', () => {
    const a = agg(1);
    a.record({ ...base, sessionId: 's1', segmentErrors: 1 });
    expect(a.tally(qoeKey('a'), base.at + W).sessions).toBe(1);
    expect(a.tally(qoeKey('a'), base.at + 2 * W).sessions).toBe(0);
    // A new window is a new vote for the same session.
    a.record({ ...base, at: base.at + W, sessionId: 's1' });
    expect(a.tally(qoeKey('a'), base.at + W)).toMatchObject({ sessions: 2, bad: 1 });
  });

  it('lets one sender address vote for at most sessionsPerClient sessions per window', () => {
    const a = agg(1);
    for (let i = 0; i < 10; i++)
      a.record({ ...base, sessionId: `cmcd:${i}`, client: '10.0.0.1', segmentErrors: 1 });
    expect(a.tally(qoeKey('a'), base.at).sessions).toBe(2);
    expect(a.counters.refusedClient).toBe(8);
    // The same sessions keep reporting; a signed session (no client) is never limited.
    a.record({ ...base, sessionId: 'cmcd:0', client: '10.0.0.1' });
    a.record({ ...base, sessionId: 'signed' });
    expect(a.tally(qoeKey('a'), base.at).sessions).toBe(3);
  });

  it('needs duressMinSessions sessions echoing duress, and a duress echo alone is no vote', () => {
    const a = new QoeAggregates({ windowMs: W, duressMinSessions: 2 });
    a.record({ at: base.at, source: 'cmcd-event', cdn: 'a', sessionId: 'x', duress: true });
    a.record({ at: base.at, source: 'cmcd-event', cdn: 'a', sessionId: 'x', duress: true });
    expect(a.duress('a', base.at)).toBe(false);
    a.record({ at: base.at, source: 'cmcd-event', cdn: 'a', sessionId: 'y', duress: true });
    expect(a.duress('a', base.at)).toBe(true);
    expect(a.tally(qoeKey('a'), base.at).sessions).toBe(0);
  });

  it('ignores signals that cannot vote (no session, no CDN, nothing about delivery)', () => {
    const a = agg(1);
    a.record({ at: base.at, source: 'cmsd', cdn: 'a', throughputKbps: 1000 });
    a.record({ at: base.at, source: 'cmcd-query', sessionId: 's', segmentRequests: 1 });
    a.record({ at: base.at, source: 'cmcd-query', sessionId: 's', cdn: 'a' });
    expect(a.keys(base.at)).toEqual([]);
  });

  it("sums its own tallies and its peers' snapshots, and drops peers no longer listed", () => {
    const one = agg(1);
    const two = agg(1);
    one.record({ ...base, sessionId: 's1', segmentErrors: 1 });
    two.record({ ...base, sessionId: 's2' });
    const snap = JSON.parse(JSON.stringify(two.takeSnapshot()));
    expect(two.takeSnapshot()).toBeUndefined();
    one.setPeer('two', snap);
    expect(one.tally(qoeKey('a', 'DE', 3320), base.at)).toMatchObject({ sessions: 2, bad: 1 });
    one.retainPeers(new Set());
    expect(one.tally(qoeKey('a'), base.at).sessions).toBe(1);
  });

  it("reads peers' snapshots defensively", () => {
    expect(parseSnapshot(null)).toBeUndefined();
    expect(parseSnapshot({ windowMs: -1, windows: {} })).toBeUndefined();
    const p = parseSnapshot({
      windowMs: W,
      windows: {
        '5': {
          'a|*|*': { sessions: 1, bad: 0, requests: 1, errors: 0, rebufferMs: 0, playMs: 0, duress: 0 },
          bad: { sessions: 'x' },
        },
        __proto__: {},
        x: {},
      },
    });
    expect(Object.keys(p?.windows ?? {})).toEqual(['5']);
    expect(Object.keys(p?.windows['5'] ?? {})).toEqual(['a|*|*']);
  });

  it('starts afresh when the window length changes', () => {
    const a = agg(1);
    a.record({ ...base, sessionId: 's1' });
    a.configure({ windowMs: 2 * W, minSessions: 1 });
    expect(a.tally(qoeKey('a'), base.at).sessions).toBe(0);
  });
});
