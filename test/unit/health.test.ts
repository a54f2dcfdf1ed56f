import {
  HealthMonitor,
  type HealthChange,
  type MonitoredCdn,
  type ProbeResult,
} from '../../src/health/monitor';
import { SelectionShare } from '../../src/state/share';

const probe = { path: '/healthz', interval: 1000, timeout: 500, rise: 2, fall: 3, maxStatus: 400 };
const cdn = (id: string, over: Partial<MonitoredCdn> = {}): MonitoredCdn => ({
  id,
  baseUrl: `https://${id}.example.com/base/`,
  weight: 1,
  tags: { region: 'eu' },
  probe,
  ...over,
});

function setup(cdns: MonitoredCdn[]) {
  const results = new Map<string, ProbeResult>();
  const probed: { url: string; timeout: number; maxStatus: number }[] = [];
  const changes: HealthChange[] = [];
  let clock = 5_000;
  const monitor = new HealthMonitor(
    async (url, timeout, maxStatus) => {
      probed.push({ url, timeout, maxStatus });
      const id = new URL(url).hostname.split('.')[0] as string;
      return results.get(id) ?? { ok: true, latencyMs: 10 };
    },
    (c) => changes.push(c),
    () => clock,
  );
  monitor.setCdns(cdns);
  const set = (id: string, ok: boolean, latencyMs: number | null = ok ? 10 : null) =>
    results.set(id, ok ? { ok, latencyMs } : { ok, latencyMs, error: 'status 503' });
  return {
    monitor,
    probed,
    changes,
    set,
    tick: (ms: number) => {
      clock += ms;
    },
    healthyOf: () => Object.fromEntries(monitor.views(new Map()).map((v) => [v.id, v.healthy])),
  };
}

describe('HealthMonitor', () => {
  test('CDNs start healthy; probes go to baseUrl + path', async () => {
    const t = setup([cdn('a'), cdn('b', { probe: { ...probe, path: 'x/y', timeout: 250, maxStatus: 300 } })]);
    expect(t.healthyOf()).toEqual({ a: true, b: true });
    await t.monitor.probeAll();
    expect(t.probed).toEqual([
      { url: 'https://a.example.com/base/healthz', timeout: 500, maxStatus: 400 },
      { url: 'https://b.example.com/base/x/y', timeout: 250, maxStatus: 300 },
    ]);
    expect(t.monitor.health('a')).toMatchObject({
      consecutiveOk: 1,
      latencyMs: 10,
      lastProbeAt: 5_000,
      errorRate: 0,
    });
  });

  test('fall: unhealthy only after `fall` consecutive failures', async () => {
    const t = setup([cdn('a'), cdn('b')]);
    t.set('a', false);
    await t.monitor.probeAll();
    await t.monitor.probeAll();
    expect(t.healthyOf()).toEqual({ a: true, b: true });
    expect(t.changes).toEqual([]);
    await t.monitor.probeAll();
    expect(t.healthyOf()).toEqual({ a: false, b: true });
    expect(t.changes).toEqual([{ id: 'a', healthy: false, reason: '3 probes failed: status 503' }]);
    await t.monitor.probeAll();
    expect(t.changes).toHaveLength(1);
    expect(t.monitor.health('a')?.lastError).toBe('status 503');
  });

  test('a success in between resets the failure count', async () => {
    const t = setup([cdn('a')]);
    for (const ok of [false, false, true, false, false, true, false, false]) {
      t.set('a', ok);
      await t.monitor.probeAll();
    }
    expect(t.healthyOf()).toEqual({ a: true });
    expect(t.changes).toEqual([]);
  });

  test('rise: healthy again only after `rise` consecutive successes', async () => {
    const t = setup([cdn('a')]);
    t.set('a', false);
    for (let i = 0; i < 3; i++) await t.monitor.probeAll();
    t.set('a', true);
    await t.monitor.probeAll();
    expect(t.healthyOf()).toEqual({ a: false });
    t.set('a', false);
    await t.monitor.probeAll();
    t.set('a', true);
    await t.monitor.probeAll();
    expect(t.healthyOf()).toEqual({ a: false });
    await t.monitor.probeAll();
    expect(t.healthyOf()).toEqual({ a: true });
    expect(t.changes.map((c) => [c.id, c.healthy, c.reason])).toEqual([
      ['a', false, '3 probes failed: status 503'],
      ['a', true, '2 probes ok'],
    ]);
    expect(t.monitor.health('a')?.lastError).toBeNull();
  });

  test('error rate and latency are exponentially weighted', async () => {
    const t = setup([cdn('a')]);
    t.set('a', false);
    await t.monitor.probeAll();
    expect(t.monitor.health('a')?.errorRate).toBeCloseTo(0.3);
    await t.monitor.probeAll();
    expect(t.monitor.health('a')?.errorRate).toBeCloseTo(0.51);
    expect(t.monitor.health('a')?.latencyMs).toBeNull();
    t.set('a', true, 100);
    await t.monitor.probeAll();
    expect(t.monitor.health('a')?.latencyMs).toBe(100);
    t.set('a', true, 200);
    await t.monitor.probeAll();
    expect(t.monitor.health('a')?.latencyMs).toBeCloseTo(130);
    expect(t.monitor.health('a')?.errorRate).toBeCloseTo(0.51 * 0.49);
  });

  test('drain takes a CDN out of selection without touching its probe state', async () => {
    const t = setup([cdn('a'), cdn('b')]);
    expect(t.monitor.setDrained('a', true)).toBe(true);
    expect(t.monitor.setDrained('zz', true)).toBe(false);
    expect(t.healthyOf()).toEqual({ a: false, b: true });
    expect(t.monitor.health('a')).toMatchObject({ healthy: true, drained: true });
    await t.monitor.probeAll();
    expect(t.healthyOf()).toEqual({ a: false, b: true });
    t.monitor.setDrained('a', false);
    expect(t.healthyOf()).toEqual({ a: true, b: true });
    expect(t.changes).toEqual([]);
  });

  test('setCdns keeps the state of kept CDNs, drops removed ones, adds new ones healthy', async () => {
    const t = setup([cdn('a'), cdn('b')]);
    t.set('a', false);
    for (let i = 0; i < 3; i++) await t.monitor.probeAll();
    t.monitor.setDrained('b', true);
    t.monitor.setCdns([cdn('a', { weight: 5 }), cdn('b'), cdn('c')]);
    expect(t.healthyOf()).toEqual({ a: false, b: false, c: true });
    expect(t.monitor.health('a')?.consecutiveFail).toBe(3);
    expect(t.monitor.health('b')?.drained).toBe(true);
    expect(t.monitor.views(new Map()).find((v) => v.id === 'a')?.weight).toBe(5);
    t.monitor.setCdns([cdn('c')]);
    expect(t.monitor.health('a')).toBeUndefined();
    expect(t.monitor.all().map((h) => h.id)).toEqual(['c']);
    t.monitor.setCdns([cdn('c'), cdn('a')]);
    expect(t.monitor.health('a')).toMatchObject({ healthy: true, consecutiveFail: 0 });
  });

  test('views(): what policies see', () => {
    const t = setup([cdn('a', { weight: 3, tags: { tier: 'cheap' } }), cdn('b')]);
    expect(t.monitor.views(new Map([['a', 0.75]]))).toEqual([
      {
        id: 'a',
        baseUrl: 'https://a.example.com/base/',
        weight: 3,
        healthy: true,
        errorRate: 0,
        latencyMs: null,
        share: 0.75,
        tags: { tier: 'cheap' },
      },
      {
        id: 'b',
        baseUrl: 'https://b.example.com/base/',
        weight: 1,
        healthy: true,
        errorRate: 0,
        latencyMs: null,
        share: 0,
        tags: { region: 'eu' },
      },
    ]);
  });

  test('start() probes on a timer, stop() ends it', async () => {
    jest.useFakeTimers();
    try {
      const t = setup([cdn('a'), cdn('b')]);
      t.monitor.start();
      await jest.advanceTimersByTimeAsync(1_000);
      const first = t.probed.length;
      expect(first).toBe(2);
      await jest.advanceTimersByTimeAsync(3_000);
      expect(t.probed.length).toBe(8);
      t.monitor.stop();
      await jest.advanceTimersByTimeAsync(10_000);
      expect(t.probed.length).toBe(8);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a removed CDN stops being probed', async () => {
    jest.useFakeTimers();
    try {
      const t = setup([cdn('a'), cdn('b')]);
      t.monitor.start();
      await jest.advanceTimersByTimeAsync(1_000);
      t.monitor.setCdns([cdn('b')]);
      t.probed.length = 0;
      await jest.advanceTimersByTimeAsync(5_000);
      expect(new Set(t.probed.map((p) => p.url))).toEqual(new Set(['https://b.example.com/base/healthz']));
      t.monitor.stop();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('SelectionShare', () => {
  test('shares of recent selections with decay', () => {
    const s = new SelectionShare(1_000, 0);
    expect(s.shares(0).size).toBe(0);
    s.record('a', 0);
    s.record('a', 0);
    s.record('b', 0);
    const now = s.shares(0);
    expect(now.get('a')).toBeCloseTo(2 / 3);
    expect(now.get('b')).toBeCloseTo(1 / 3);
    // One half-life later, new selections weigh twice the old ones.
    s.record('b', 1_000);
    const later = s.shares(1_000);
    expect(later.get('a')).toBeCloseTo(1 / 2.5);
    expect(later.get('b')).toBeCloseTo(1.5 / 2.5);
    // Long after: old entries fall away entirely.
    s.record('c', 60_000);
    expect([...s.shares(60_000).entries()]).toEqual([['c', 1]]);
  });

  test('time going backwards does not inflate old weights', () => {
    const s = new SelectionShare(1_000, 10_000);
    s.record('a', 10_000);
    s.record('b', 5_000);
    expect(s.shares(10_000).get('a')).toBeCloseTo(0.5);
  });
});
