import fc from 'fast-check';
import { DEFAULT_MAX_SESSIONS } from '../../src/config/schema';
import { SessionMemory, type SessionMemoryOptions, type SessionRecord } from '../../src/state/session-memory';
import { SharedSessionMemory } from '../../src/state/fleet';

const record = (cdn: string, seenAt: number): SessionRecord => ({
  cdn,
  since: seenAt,
  lastReason: 'test',
  seenAt,
});

describe('SessionMemory', () => {
  it('remembers every session of a busy instance by default (the old cap of 20,000 forgot the first ones)', () => {
    const memory = new SessionMemory({ now: () => 0 });
    const n = 30_000;
    for (let i = 0; i < n; i++) memory.set(`s${i}`, record(i % 2 === 0 ? 'a' : 'b', 0));
    expect(DEFAULT_MAX_SESSIONS).toBeGreaterThanOrEqual(n);
    expect(memory.get('s0', 0)?.cdn).toBe('a');
    expect(memory.size).toBe(n);
    expect(Object.fromEntries(memory.activeByCdn(0, 60_000))).toEqual({ a: n / 2, b: n / 2 });
  });

  it('counts active sessions by CDN as records are replaced, moved, deleted and evicted', () => {
    let clock = 100_000;
    const memory = new SessionMemory({ max: 3, now: () => clock });
    memory.set('x', record('a', clock));
    memory.set('y', record('a', clock));
    memory.set('z', record('b', clock));
    expect(Object.fromEntries(memory.activeByCdn(clock, 60_000))).toEqual({ a: 2, b: 1 });
    // x moves to b; y is seen again later; the same record set twice counts once.
    clock += 5_000;
    memory.set('x', record('b', clock));
    const again = record('a', clock);
    memory.set('y', again);
    memory.set('y', again);
    expect(Object.fromEntries(memory.activeByCdn(clock, 60_000))).toEqual({ a: 1, b: 2 });
    // A fourth session evicts the least recently used one (z, on b).
    memory.set('w', record('a', clock));
    expect(memory.get('z', clock)).toBeUndefined();
    expect(Object.fromEntries(memory.activeByCdn(clock, 60_000))).toEqual({ a: 2, b: 1 });
    memory.delete('x');
    expect(Object.fromEntries(memory.activeByCdn(clock, 60_000))).toEqual({ a: 2 });
    // Out of the window: seen more than 60 s ago.
    expect(Object.fromEntries(memory.activeByCdn(clock + 62_000, 60_000))).toEqual({});
  });

  it('drops seconds past the TTL from its tally, and their records leaving later cost nothing', () => {
    let clock = 0;
    const memory = new SessionMemory({ ttlMs: 10_000, now: () => clock });
    memory.set('old', record('a', 0));
    clock = 20_000;
    expect(Object.fromEntries(memory.activeByCdn(clock, 5_000))).toEqual({});
    memory.set('new', record('a', clock));
    // The old record expires on this get (disposed after its second was dropped): the new one stays counted.
    expect(memory.get('old', clock)).toBeUndefined();
    memory.set('old', record('a', clock));
    expect(Object.fromEntries(memory.activeByCdn(clock, 5_000))).toEqual({ a: 2 });
  });

  type Op =
    | { kind: 'set'; id: number; cdn: string }
    | { kind: 'get'; id: number }
    | { kind: 'delete'; id: number }
    | { kind: 'tick'; ms: number };

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), id: fc.nat(11), cdn: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ kind: fc.constant('get' as const), id: fc.nat(11) }),
    fc.record({ kind: fc.constant('delete' as const), id: fc.nat(11) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 30_000 }) }),
  );

  it.each([
    ['SessionMemory', (o: SessionMemoryOptions) => new SessionMemory(o)],
    ['SharedSessionMemory', (o: SessionMemoryOptions) => new SharedSessionMemory(o)],
  ])('%s: activeByCdn equals a count over the records it holds, whatever happens', (_name, make) => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120 }),
        fc.integer({ min: 1_000, max: 120_000 }),
        (ops, window) => {
          let clock = 1_000_000;
          const max = 6;
          // The TTL is never reached here (the test above covers it).
          const memory = make({ max, ttlMs: 1e12, now: () => clock });
          // The reference: an LRU over a Map (recency moves on set and on get).
          const model = new Map<string, SessionRecord>();
          const touch = (id: string, rec: SessionRecord) => {
            model.delete(id);
            model.set(id, rec);
            if (model.size > max) model.delete(model.keys().next().value as string);
          };
          for (const o of ops) {
            if (o.kind === 'tick') clock += o.ms;
            else if (o.kind === 'set') {
              const rec = record(o.cdn, clock);
              memory.set(`s${o.id}`, rec);
              touch(`s${o.id}`, rec);
            } else if (o.kind === 'get') {
              const got = memory.get(`s${o.id}`, clock);
              const want = model.get(`s${o.id}`);
              expect(got).toBe(want);
              if (want !== undefined) touch(`s${o.id}`, want);
            } else {
              memory.delete(`s${o.id}`);
              model.delete(`s${o.id}`);
            }
            const expected = new Map<string, number>();
            const first = Math.floor((clock - window) / 1000);
            for (const rec of model.values()) {
              if (Math.floor(rec.seenAt / 1000) < first) continue;
              expected.set(rec.cdn, (expected.get(rec.cdn) ?? 0) + 1);
            }
            expect(memory.activeByCdn(clock, window)).toEqual(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
