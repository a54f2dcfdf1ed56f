import type { MetricValue } from 'prom-client';
import { get, waitFor } from '../helpers/stack';
import {
  adminPost,
  adminState,
  openSession,
  startFleet,
  startRedis,
  type Fleet,
  type TestRedis,
} from './fleet';

/*
 * Three Switchyard instances sharing state through a real redis-server, behind a round-robin client.
 * Health: interval 200 ms, rise 1, fall 1; the store syncs every 200 ms and flushes every 50 ms.
 * Speeds are not timed here (a busy machine stretches every timer): what reaches every instance is
 * counted in the instances' own store syncs and probes, and the one time bound (requests while Redis
 * is away) is the product's own request-duration histogram against the store's timeouts.
 */

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.stop();
});

function cdnOf(res: { status: number; headers: Headers }): string {
  expect(res.status).toBe(200);
  return res.headers.get('x-switchyard-cdn') as string;
}

/**
 * Waits until `cond` holds and returns how many store syncs (pulls from Redis) the instances made
 * meanwhile, the most of any one instance: "within N syncs" instead of "within N ms". Syncs are
 * `state.syncInterval` apart, far longer than the 5 ms poll, so none is missed.
 */
async function syncsUntil(fleet: Fleet, cond: () => boolean, timeoutMs = 10_000): Promise<number> {
  const last = fleet.servers.map((s) => s.runtime.store.status(s.runtime.now()).lastSyncAt);
  const syncs = fleet.servers.map(() => 0);
  await waitFor(
    () => {
      fleet.servers.forEach((s, i) => {
        const at = s.runtime.store.status(s.runtime.now()).lastSyncAt;
        if (at !== last[i]) {
          last[i] = at;
          syncs[i] = (syncs[i] ?? 0) + 1;
        }
      });
      return cond();
    },
    timeoutMs,
    5,
  );
  return Math.max(...syncs);
}

/** Player requests each instance answered, and how many of them took longer than `seconds` (a bucket). */
async function requestDurations(fleet: Fleet, seconds: number): Promise<{ total: number; slower: number }> {
  let total = 0;
  let within = 0;
  for (const s of fleet.servers) {
    const metric = s.runtime.metrics.registry.getSingleMetric('switchyard_request_duration_seconds');
    const values = (await metric?.get())?.values ?? [];
    for (const v of values as readonly (MetricValue<string> & { metricName?: string })[]) {
      if (v.metricName === 'switchyard_request_duration_seconds_count') total += v.value;
      if (v.metricName === 'switchyard_request_duration_seconds_bucket' && v.labels.le === seconds)
        within += v.value;
    }
  }
  return { total, slower: total - within };
}

async function fleetConnected(fleet: Fleet): Promise<void> {
  await waitFor(() => fleet.servers.every((s) => s.runtime.store.status(Date.now()).connected), 5_000);
}

describe('a session moving between instances', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      redisUrl: redis.url,
      keyPrefix: 'sticky:',
      policy: { type: 'sticky', minDwell: '60s', policy: { type: 'weighted' } },
    });
    await fleetConnected(fleet);
  });
  afterAll(() => fleet.close());

  test('keeps its CDN and dwell on every instance, including after a failover', async () => {
    // 16 sessions over 3 instances (not a multiple of 3): each round reaches each session on another
    // instance. At least one must start on a for the dwell below to be tested: rendezvous on random
    // ids puts none there with probability 2^-16, about 1.5e-5 (with 8 it was 2^-8, 1 run in 256).
    const sessions = await Promise.all(Array.from({ length: 16 }, () => openSession(fleet)));
    const first = new Map<string, string>();
    for (const s of sessions) first.set(s, cdnOf(await fleet.next(s)));
    expect([...first.values()]).toContain('a');
    // Every instance in turn gives each session the CDN it already has.
    for (let round = 0; round < 3; round++)
      for (const s of sessions) expect(cdnOf(await fleet.next(s))).toBe(first.get(s));

    // CDN a fails: sessions on it move to b (on whichever instance they reach), then a comes back.
    fleet.cdn('a').setMode({ kind: 'down' });
    await waitFor(() => fleet.servers.every((s) => s.runtime.monitor.health('a')?.healthy === false), 3_000);
    for (const s of sessions) expect(cdnOf(await fleet.next(s))).toBe('b');
    fleet.cdn('a').setMode({ kind: 'up' });
    await waitFor(() => fleet.servers.every((s) => s.runtime.monitor.health('a')?.healthy === true), 3_000);
    // Weighted alone would send about half of them back to a; the shared dwell keeps them on b
    // whichever instance they reach (an instance that never saw the move would not know it).
    for (let round = 0; round < 3; round++)
      for (const s of sessions) expect(cdnOf(await fleet.next(s))).toBe('b');
  });
});

describe('QoE across instances', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({
      redisUrl: redis.url,
      keyPrefix: 'qoe:',
      policy: { type: 'qoe', tolerance: 0.1, prior: 0 },
      qoe: { window: '1m', windows: 1, minSessions: 4 },
    });
    await fleetConnected(fleet);
  });
  afterAll(() => fleet.close());

  test('votes counted on one instance move sessions on another (tallies shared through Redis)', async () => {
    const sessions: { path: string; cdn: string }[] = [];
    while (sessions.filter((s) => s.cdn === 'a').length < 5) {
      const path = await openSession(fleet);
      sessions.push({ path, cdn: cdnOf(await fleet.next(path)) });
    }
    const token = (p: string) => /\/s\/([^/]+)\//.exec(p)?.[1] as string;
    // Every report goes to instance 0: its players fail on a, succeed on b.
    for (const s of sessions) {
      const res = await fetch(new URL(`s/${token(s.path)}/cmcd`, fleet.urls[0]), {
        method: 'POST',
        headers: { 'content-type': 'application/cmcd' },
        body: `e=rr,ot=v,rc=${s.cdn === 'a' ? 503 : 200},ts=1,v=2`,
      });
      expect(res.status).toBe(204);
    }
    const onA = sessions.filter((s) => s.cdn === 'a');
    const [, one, two] = fleet.servers;
    await waitFor(
      () =>
        [one, two].every((srv) => (srv?.runtime.store.qoe.estimate('a', Date.now())?.bad ?? 0) >= onA.length),
      5_000,
    );
    // Instances 1 and 2 never heard a report; a session on a reloading there moves to b.
    for (const [i, s] of onA.entries()) {
      const res = await get(new URL(s.path, fleet.urls[1 + (i % 2)]).href);
      expect(cdnOf(res)).toBe('b');
      expect(res.headers.get('x-switchyard-reason')).toMatch(/^qoe: a scores 0, moved to b/);
    }
  });
});

describe('health and drains', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ redisUrl: redis.url, keyPrefix: 'health:' });
    await fleetConnected(fleet);
  });
  afterAll(() => fleet.close());

  test('a drain made on one instance is every instance’s by their next store sync', async () => {
    const res = await adminPost(fleet.urls[1] as string, 'admin/cdns/a/drain');
    expect(res.status).toBe(200);
    // Pushed at the next flush (pub/sub) and read at every pull: at most the sync in flight when the
    // drain was flushed and the one after it.
    const drainedIn = await syncsUntil(fleet, () =>
      fleet.servers.every((s) => s.runtime.monitor.health('a')?.drained === true),
    );
    const sessions = await Promise.all(Array.from({ length: 6 }, () => openSession(fleet)));
    for (const s of sessions) expect(cdnOf(await fleet.next(s))).toBe('b');
    await adminPost(fleet.urls[2] as string, 'admin/cdns/a/undrain');
    const undrainedIn = await syncsUntil(fleet, () =>
      fleet.servers.every((s) => s.runtime.monitor.health('a')?.drained === false),
    );
    expect(drainedIn).toBeLessThanOrEqual(2);
    expect(undrainedIn).toBeLessThanOrEqual(2);
  });

  test('instances take turns probing: about one probe per CDN per interval for the whole fleet', async () => {
    const clock = (fleet.servers[0] as (typeof fleet.servers)[number]).runtime;
    const before = fleet.probes.map((m) => m.get('b') ?? 0);
    const from = clock.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const probes = fleet.probes.reduce((sum, m, i) => sum + (m.get('b') ?? 0) - (before[i] as number), 0);
    // Intervals that passed on the product's clock: a busy machine makes the sleep longer and the
    // probes no more frequent, so the bound only loosens. Three instances probing on their own would
    // make three probes per interval; taking turns, about one (1.6: a lease changing hands).
    const intervals = Math.ceil((clock.now() - from) / fleet.config.health.interval);
    expect(probes).toBeGreaterThan(0);
    expect(probes).toBeLessThanOrEqual(Math.ceil(intervals * 1.6));
  });

  test('a probe failure seen by one instance is every instance’s verdict by their next store sync', async () => {
    const probesOfB = () => fleet.probes.reduce((sum, m) => sum + (m.get('b') ?? 0), 0);
    const before = probesOfB();
    fleet.cdn('b').setMode({ kind: 'status', status: 503 });
    // The first instance to see it (whoever holds b's lease) judges after `fall` failed probes: the
    // fleet made no more than those (plus one in flight as the fault began, one at a lease handover).
    await waitFor(
      () => fleet.servers.some((s) => s.runtime.monitor.health('b')?.healthy === false),
      10_000,
      5,
    );
    expect(probesOfB() - before).toBeLessThanOrEqual(fleet.config.health.fall + 2);
    // ... and every other one takes that verdict (pub/sub at once, a pull at the latest) instead of
    // probing for its own: by its next sync.
    const spreadIn = await syncsUntil(fleet, () =>
      fleet.servers.every((s) => s.runtime.monitor.health('b')?.healthy === false),
    );
    expect(spreadIn).toBeLessThanOrEqual(2);
    fleet.cdn('b').setMode({ kind: 'up' });
    await waitFor(() => fleet.servers.every((s) => s.runtime.monitor.health('b')?.healthy === true), 2_000);
  });

  test('/admin/state lists every instance with the same config hash', async () => {
    await waitFor(
      async () => (await adminState(fleet.urls[0] as string)).fleet.instances.length === 3,
      2_000,
    );
    const state = await adminState(fleet.urls[0] as string);
    expect(state.fleet.connected).toBe(true);
    expect(state.fleet.configConsistent).toBe(true);
    expect(new Set(state.fleet.instances.map((i) => i.configHash)).size).toBe(1);
  });
});

describe('capacity across instances', () => {
  let fleet: Fleet;
  const LIMIT = 0.3;
  const TOLERANCE = 0.06;
  beforeAll(async () => {
    fleet = await startFleet({
      redisUrl: redis.url,
      keyPrefix: 'capacity:',
      policy: { type: 'capacity', cdns: { a: { maxShare: LIMIT } }, hysteresis: 0.02 },
    });
    await fleetConnected(fleet);
  });
  afterAll(() => fleet.close());

  test(`CDN a stays within its ${LIMIT} share of the fleet's selections (± ${TOLERANCE})`, async () => {
    // VOD: live switches also wait for the new CDN to serve the newest segment, which is not this test.
    const sessions = await Promise.all(Array.from({ length: 40 }, () => openSession(fleet, 'vod')));
    const picks: string[] = [];
    for (let round = 0; round < 6; round++) {
      // Players reload every few seconds; here every 250 ms, about the store's lag (flush + pull).
      if (round > 0) await new Promise((r) => setTimeout(r, 250));
      for (let i = 0; i < sessions.length; i += 8) {
        const batch = sessions.slice(i, i + 8);
        const got = await Promise.all(batch.map((s) => fleet.next(s)));
        picks.push(...got.map(cdnOf));
      }
    }
    const share = picks.filter((c) => c === 'a').length / picks.length;
    expect(share).toBeLessThanOrEqual(LIMIT + TOLERANCE);
    expect(share).toBeGreaterThan(LIMIT - 0.15); // spill-over, not avoidance
    // Every instance sees the fleet's share, not only its own third of it.
    await new Promise((r) => setTimeout(r, 400));
    for (const s of fleet.servers) {
      const seen = s.runtime.share.shares(Date.now()).get('a') ?? 0;
      expect(Math.abs(seen - share)).toBeLessThan(0.05);
    }
  });
});

describe('Redis going away', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ redisUrl: redis.url, keyPrefix: 'outage:' });
    await fleetConnected(fleet);
  });
  afterAll(async () => {
    await fleet.close();
    await redis.start(); // in case the test failed while it was down
  });

  test('loses no request, and the instances catch up when it returns', async () => {
    const sessions = await Promise.all(Array.from({ length: 6 }, () => openSession(fleet)));
    // A request that waited on Redis would wait out a connect or a command timeout: the product's own
    // request-duration histogram, at the first bucket past both, says none did.
    const { connectTimeout, commandTimeout } = fleet.config.state;
    const bucket = [0.5, 1, 2.5, 5, 10].find((b) => b * 1000 >= connectTimeout + commandTimeout) ?? 10;
    const durationsBefore = await requestDurations(fleet, bucket);
    const statuses: number[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        for (const s of sessions) statuses.push((await fleet.next(s)).status);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await redis.stop();
    await waitFor(() => fleet.servers.every((s) => !s.runtime.store.status(Date.now()).connected), 2_000);
    // While it is away: a drain stays local for now, requests go on.
    expect((await adminPost(fleet.urls[0] as string, 'admin/cdns/b/drain')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 700));
    const duringOutage = statuses.length;
    await redis.start();
    await fleetConnected(fleet);
    // The drain made during the outage reaches the others once Redis is back.
    await waitFor(() => fleet.servers.every((s) => s.runtime.monitor.health('b')?.drained === true), 3_000);
    await waitFor(
      async () => (await adminState(fleet.urls[2] as string)).fleet.instances.length === 3,
      3_000,
    );
    stop = true;
    await load;
    expect(duringOutage).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const durations = await requestDurations(fleet, bucket);
    expect(durations.total - durationsBefore.total).toBeGreaterThanOrEqual(statuses.length);
    expect(durations.slower - durationsBefore.slower).toBe(0);
    for (const s of fleet.servers) expect(s.runtime.store.status(Date.now()).errors).toBeGreaterThan(0);
  });
});
