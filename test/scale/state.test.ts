import pino from 'pino';
import { HealthMonitor, type MonitoredCdn } from '../../src/health/monitor';
import { configSchema } from '../../src/config/schema';
import { createStateStore, configHash, MemoryStateStore, RedisStateStore } from '../../src/state';
import {
  FleetLedger,
  FleetShare,
  SharedSessionMemory,
  dayKey,
  daysOfPeriod,
  liveInstances,
  parseSessionRecord,
} from '../../src/state/fleet';

const silent = pino({ level: 'silent' });
const T0 = Date.UTC(2024, 4, 17, 12);

describe('memory state store', () => {
  test('is the default, one instance, always consistent', () => {
    const state = configSchema.shape.state.parse(undefined);
    expect(state.backend).toBe('memory');
    const store = createStateStore(state, { logger: silent, instanceId: 'solo' });
    expect(store).toBeInstanceOf(MemoryStateStore);
    store.announceConfig('abc', 2);
    const status = store.status(T0);
    expect(status).toMatchObject({ backend: 'memory', connected: true, configConsistent: true, errors: 0 });
    expect(status.instances).toEqual([
      expect.objectContaining({ id: 'solo', configHash: 'abc', configVersion: 2 }),
    ]);
  });

  test('counts selections, sessions and volume in process', () => {
    const store = new MemoryStateStore('solo');
    store.selections.record('a', T0);
    store.selections.record('a', T0);
    store.selections.record('b', T0);
    expect(store.selections.shares(T0).get('a')).toBeCloseTo(2 / 3);
    store.sessions.set('s1', { cdn: 'a', since: T0, seenAt: T0, lastReason: 'x' });
    expect(store.sessions.get('s1', T0 + 1)?.cdn).toBe('a');
    store.ledger.add('a', 1e9, T0);
    expect(store.ledger.delivered('a', 'month', T0)).toBe(1e9);
  });

  test('rejects a config with a bad backend or URL, with the path', () => {
    const bad = configSchema.shape.state.safeParse({ backend: 'etcd', url: 'http://x' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['backend', 'url']);
  });
});

describe('FleetShare', () => {
  test('adds peers’ counts, decayed from when they were taken', () => {
    const share = new FleetShare(1_000, T0);
    share.record('a', T0);
    share.setPeer('p', T0 - 1_000, new Map([['b', 2]])); // one half-life old: counts as 1
    expect(share.shares(T0).get('a')).toBeCloseTo(0.5);
    expect(share.shares(T0).get('b')).toBeCloseTo(0.5);
    share.retainPeers(new Set());
    expect(share.shares(T0).get('a')).toBe(1);
  });

  test('publishes a snapshot only after new selections', () => {
    const share = new FleetShare(1_000, T0);
    expect(share.takeSnapshot(T0)).toBeDefined(); // the first one announces the instance
    expect(share.takeSnapshot(T0)).toBeUndefined();
    share.record('a', T0);
    expect(share.takeSnapshot(T0)).toEqual({ at: T0, counts: { a: 1 } });
  });
});

describe('FleetLedger', () => {
  test('own totals plus peers’, per billing period', () => {
    const ledger = new FleetLedger();
    ledger.add('a', 100, T0);
    ledger.add('a', 50, T0 - 86_400_000); // yesterday, same month
    ledger.setPeers(dayKey(T0), new Map([['a', 1_000]]));
    expect(ledger.delivered('a', 'day', T0)).toBe(1_100);
    expect(ledger.delivered('a', 'month', T0)).toBe(1_150);
    expect(ledger.delivered('b', 'month', T0)).toBe(0);
  });

  test('hands out absolute totals of changed days, again after a failed write', () => {
    const ledger = new FleetLedger();
    ledger.add('a', 100, T0);
    ledger.add('a', 20, T0);
    const dirty = ledger.takeDirty();
    expect(dirty).toEqual([{ day: '2024-05-17', totals: new Map([['a', 120]]) }]);
    expect(ledger.takeDirty()).toEqual([]);
    ledger.markDirty(['2024-05-17']);
    expect(ledger.takeDirty()).toHaveLength(1);
    ledger.add('a', -5, T0);
    ledger.add('a', Number.NaN, T0);
    expect(ledger.takeDirty()).toEqual([]);
  });

  test('days of a period run from its first day to today', () => {
    expect(daysOfPeriod('day', T0)).toEqual(['2024-05-17']);
    const month = daysOfPeriod('month', T0);
    expect(month[0]).toBe('2024-05-01');
    expect(month).toHaveLength(17);
  });
});

describe('SharedSessionMemory', () => {
  const rec = (cdn: string, since: number, seenAt: number) => ({ cdn, since, seenAt, lastReason: 'r' });

  test('broadcasts new sessions and CDN changes, refreshes the rest every quarter TTL', () => {
    const mem = new SharedSessionMemory({ ttlMs: 40_000 });
    mem.set('s', rec('a', T0, T0));
    expect(mem.takeWrites()).toEqual([{ id: 's', record: rec('a', T0, T0), broadcast: true }]);
    mem.set('s', rec('a', T0, T0 + 5_000));
    expect(mem.takeWrites()).toEqual([]);
    mem.set('s', rec('a', T0, T0 + 10_001));
    expect(mem.takeWrites()).toEqual([expect.objectContaining({ broadcast: false })]);
    mem.set('s', rec('b', T0 + 11_000, T0 + 11_000));
    expect(mem.takeWrites()).toEqual([expect.objectContaining({ broadcast: true })]);
  });

  test('takes a peer’s record unless its own is more recent, and asks the store on a miss', () => {
    const misses: string[] = [];
    const mem = new SharedSessionMemory();
    mem.onMiss = (id) => misses.push(id);
    expect(mem.get('s', T0)).toBeUndefined();
    expect(misses).toEqual(['s']);
    mem.applyPeer('s', rec('b', T0, T0));
    expect(mem.get('s', T0)?.cdn).toBe('b');
    mem.set('s', rec('a', T0 + 10, T0 + 10));
    mem.applyPeer('s', rec('b', T0, T0 + 5));
    expect(mem.get('s', T0 + 10)?.cdn).toBe('a');
    expect(mem.takeWrites()).toHaveLength(1); // the peer's records are not written back
  });

  test('stays bounded while nothing is sent', () => {
    const mem = new SharedSessionMemory({}, 10);
    for (let i = 0; i < 50; i++) mem.set(`s${i}`, rec('a', T0, T0));
    expect(mem.takeWrites().map((w) => w.id)).toEqual(Array.from({ length: 10 }, (_, i) => `s${40 + i}`));
  });

  test('parses only well-formed stored records', () => {
    expect(parseSessionRecord(JSON.stringify(rec('a', 1, 2)))).toEqual(rec('a', 1, 2));
    expect(parseSessionRecord('{"cdn":1}')).toBeUndefined();
    expect(parseSessionRecord('nope')).toBeUndefined();
    expect(parseSessionRecord(null)).toBeUndefined();
  });
});

describe('configHash and instances', () => {
  test('ignores key order and listen addresses, sees every other change', () => {
    const a = {
      listen: { port: 1 },
      cdns: [{ id: 'a', weight: 1 }],
      admin: { token: 't', listen: { port: 2 } },
    };
    const b = {
      admin: { listen: { port: 3 }, token: 't' },
      cdns: [{ weight: 1, id: 'a' }],
      listen: { port: 9 },
    };
    expect(configHash(a)).toBe(configHash(b));
    expect(configHash(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(configHash({ ...a, cdns: [{ id: 'a', weight: 2 }] })).not.toBe(configHash(a));
  });

  test('live instances are the recent heartbeats; consistency compares their hashes', () => {
    const i = (id: string, configHash: string, seenAt: number) => ({
      id,
      configHash,
      configVersion: 1,
      host: 'h',
      pid: 1,
      startedAt: 0,
      seenAt,
    });
    const live = liveInstances([i('b', 'x', T0), i('a', 'x', T0 - 100), i('c', 'y', T0 - 60_000)], T0, 5_000);
    expect(live.instances.map((x) => x.id)).toEqual(['a', 'b']);
    expect(live.configConsistent).toBe(true);
    expect(liveInstances([i('a', 'x', T0), i('b', 'y', T0)], T0, 5_000).configConsistent).toBe(false);
  });
});

describe('HealthMonitor in a fleet', () => {
  const cdn: MonitoredCdn = {
    id: 'a',
    baseUrl: 'http://cdn-a.invalid/',
    weight: 1,
    tags: {},
    probe: { path: '/', interval: 1_000, timeout: 100, rise: 1, fall: 1, maxStatus: 400 },
  };

  test('takes a peer verdict only when newer than its own, and reports the change', async () => {
    const changes: string[] = [];
    const m = new HealthMonitor(
      async () => ({ ok: true, latencyMs: 5 }),
      (c) => changes.push(`${c.id}:${c.healthy}:${c.reason}`),
      () => T0,
    );
    m.setCdns([cdn]);
    const published: string[] = [];
    m.sync = { probed: (id, h) => published.push(`${id}:${h.healthy}`) };
    await m.probeAll();
    expect(published).toEqual(['a:true']);
    const verdict = {
      healthy: false,
      consecutiveOk: 0,
      consecutiveFail: 1,
      errorRate: 0.3,
      latencyMs: null,
      lastError: 'status 503',
    };
    expect(m.applyPeer('a', { ...verdict, lastProbeAt: T0 - 1 }, 'p')).toBe(false);
    const v = m.version;
    expect(m.applyPeer('a', { ...verdict, lastProbeAt: T0 + 1 }, 'p')).toBe(true);
    expect(m.health('a')?.healthy).toBe(false);
    expect(m.version).toBeGreaterThan(v);
    expect(changes).toEqual(['a:false:verdict of instance p: status 503']);
  });

  test('reports local drains to the store, not the ones that came from it', () => {
    const m = new HealthMonitor(async () => ({ ok: true, latencyMs: 5 }));
    m.setCdns([cdn]);
    const drains: string[] = [];
    m.sync = { drained: (id, d) => drains.push(`${id}:${d}`) };
    m.setDrained('a', true);
    m.setDrained('a', false, true);
    expect(drains).toEqual(['a:true']);
    expect(m.health('a')?.drained).toBe(false);
  });
});

describe('Redis store without a Redis', () => {
  test('serves from local state at once and closes cleanly', async () => {
    const store = createStateStore(
      {
        ...configSchema.shape.state.parse({ backend: 'redis', url: 'redis://127.0.0.1:1' }),
        connectTimeout: 100,
      },
      { logger: silent, instanceId: 'lonely' },
    );
    expect(store).toBeInstanceOf(RedisStateStore);
    store.start();
    // Everything below answers synchronously from local state: nothing returned is a promise, so
    // nothing waited on the unreachable Redis (a wall-clock bound would only measure the machine).
    store.selections.record('a', T0);
    store.sessions.set('s', { cdn: 'a', since: T0, seenAt: T0, lastReason: 'r' });
    store.ledger.add('a', 10, T0);
    expect(store.selections.shares(T0).get('a')).toBe(1);
    expect(store.sessions.get('s', T0)?.cdn).toBe('a');
    expect(store.ledger.delivered('a', 'day', T0)).toBe(10);
    await new Promise((r) => setTimeout(r, 150));
    expect(store.status(T0).connected).toBe(false);
    await store.close();
  });
});
