import { SessionMemory } from '../../src/state/session-memory';
import { withStickiness } from '../../src/policy/sticky';
import type { CdnSelectionPolicy, PolicyEvent, SelectionRequest } from '../../src/policy/types';
import { build, cdn, issues, request } from './helpers';

/** A policy that picks what the test says, and records what it saw. */
function scripted(): CdnSelectionPolicy & { next: string; seen: SelectionRequest[]; events: PolicyEvent[] } {
  const p = {
    name: 'scripted',
    next: 'a',
    seen: [] as SelectionRequest[],
    events: [] as PolicyEvent[],
    select(req: SelectionRequest) {
      p.seen.push(req);
      return { cdn: p.next, reason: `wants ${p.next}`, ranked: [p.next] };
    },
    observe(e: PolicyEvent) {
      p.events.push(e);
    },
  };
  return p;
}

describe('session memory', () => {
  it('forgets sessions after the TTL and beyond the size cap', () => {
    let clock = 0;
    const m = new SessionMemory({ max: 2, ttlMs: 1000, now: () => clock });
    m.set('x', { cdn: 'a', since: 0, lastReason: '', seenAt: 0 });
    expect(m.get('x', 500)?.cdn).toBe('a');
    clock = 1500;
    expect(m.get('x', 1500)).toBeUndefined();
    m.set('y', { cdn: 'a', since: 1500, lastReason: '', seenAt: 1500 });
    m.set('z', { cdn: 'a', since: 1500, lastReason: '', seenAt: 1500 });
    m.set('w', { cdn: 'a', since: 1500, lastReason: '', seenAt: 1500 });
    expect(m.size).toBe(2);
    expect(m.get('y', 1500)).toBeUndefined();
  });
});

describe('withStickiness', () => {
  const t0 = 1_000_000;

  it('fills session.previous and keeps a healthy CDN during the minimum dwell', () => {
    const inner = scripted();
    const memory = new SessionMemory({ now: () => t0 });
    const policy = withStickiness(inner, memory, { minDwellMs: 10_000 });
    expect(policy.select(request({ now: t0 })).cdn).toBe('a');
    expect(inner.seen[0]?.session.previous).toBeUndefined();

    inner.next = 'b';
    const held = policy.select(request({ now: t0 + 5_000 }));
    expect(held.cdn).toBe('a');
    expect(held.switched).toBeUndefined();
    expect(held.reason).toBe('sticky: on a for 5s < 10s (wanted b: wants b)');
    expect(held.ranked).toEqual(['a', 'b']);
    expect(inner.seen[1]?.session.previous).toBe('a');
    expect(inner.events).toEqual([{ kind: 'assigned', sessionId: 's1', cdn: 'a', at: t0 + 5_000 }]);

    const moved = policy.select(request({ now: t0 + 10_000 }));
    expect(moved).toMatchObject({ cdn: 'b', switched: { from: 'a', to: 'b' }, reason: 'wants b' });
    expect(memory.get('s1', t0 + 10_000)).toMatchObject({
      cdn: 'b',
      since: t0 + 10_000,
      lastReason: 'wants b',
    });
    // Staying put is not a switch.
    expect(policy.select(request({ now: t0 + 11_000 })).switched).toBeUndefined();
  });

  it('leaves an unhealthy CDN at once', () => {
    const inner = scripted();
    const policy = withStickiness(inner, new SessionMemory(), { minDwellMs: 60_000 });
    policy.select(request({ now: t0 }));
    inner.next = 'b';
    const sel = policy.select(request({ now: t0 + 1000, cdns: [cdn('a', { healthy: false }), cdn('b')] }));
    expect(sel).toMatchObject({ cdn: 'b', switched: { from: 'a', to: 'b' } });
  });

  it('stays when the request vetoes a move off a healthy CDN, and remembers the CDN it stayed on', () => {
    const inner = scripted();
    const memory = new SessionMemory({ now: () => t0 });
    const policy = withStickiness(inner, memory, { minDwellMs: 0 });
    policy.select(request({ now: t0 }));
    inner.next = 'b';
    const asked: string[] = [];
    const vetoSwitch = (from: string, to: string) => {
      asked.push(`${from}->${to}`);
      return `stayed on ${from}: ${to} does not serve the newest segment`;
    };
    const base = request({ now: t0 + 1_000 });
    const stayed = policy.select({ ...base, session: { ...base.session, vetoSwitch } });
    expect(asked).toEqual(['a->b']);
    expect(stayed).toEqual({
      cdn: 'a',
      reason: 'stayed on a: b does not serve the newest segment (wanted b: wants b)',
    });
    expect(memory.get('s1', t0 + 1_000)).toMatchObject({ cdn: 'a', since: t0 });
    expect(inner.events).toEqual([{ kind: 'assigned', sessionId: 's1', cdn: 'a', at: t0 + 1_000 }]);

    // Without a veto the move happens; from an unhealthy CDN the veto is not asked.
    const unhealthy = request({ now: t0 + 2_000, cdns: [cdn('a', { healthy: false }), cdn('b')] });
    const left = policy.select({ ...unhealthy, session: { ...unhealthy.session, vetoSwitch } });
    expect(left).toMatchObject({ cdn: 'b', switched: { from: 'a', to: 'b' } });
    expect(asked).toEqual(['a->b']);
  });

  it('counts dwell from the first time the session got its CDN', () => {
    const inner = scripted();
    const policy = withStickiness(inner, new SessionMemory(), { minDwellMs: 10_000 });
    for (let t = 0; t <= 8_000; t += 2_000) policy.select(request({ now: t0 + t }));
    inner.next = 'b';
    expect(policy.select(request({ now: t0 + 9_000 })).cdn).toBe('a');
    expect(policy.select(request({ now: t0 + 10_001 })).cdn).toBe('b');
  });

  it('is a config type: sticky with a child', () => {
    const policy = build({
      type: 'sticky',
      minDwell: '20s',
      policy: { type: 'failover', order: ['a', 'b'] },
    });
    policy.select(request({ now: t0 }));
    // a is still healthy: failover wants a anyway; make failover want b by draining a's weight.
    const sel = policy.select(request({ now: t0 + 1000, cdns: [cdn('a', { weight: 0 }), cdn('b')] }));
    expect(sel.cdn).toBe('a');
    expect(sel.reason).toMatch(/^sticky: on a for 1s < 20s \(wanted b:/);
    expect(issues({ type: 'sticky', minDwell: 'soon', policy: { type: 'weighted' } })).toEqual([
      'policy.minDwell: expected a duration like "500ms", "2s", "5m" or milliseconds, got "soon"',
    ]);
    expect(issues({ type: 'sticky', policy: { type: 'nope' } })[0]).toMatch(/^policy\.policy\.type: unknown/);
  });
});
