import { spawn, type ChildProcess } from 'node:child_process';
import pino from 'pino';
import { Redis } from 'ioredis';
import { validateConfig } from '../../src/configure';
import type { Config } from '../../src/config/schema';
import type { Prober } from '../../src/health/monitor';
import { httpProber } from '../../src/health/monitor';
import { createSwitchyard, type SwitchyardServer } from '../../src/server/server';
import { freePort, startCdn, startOrigin, type FixtureCdn, type FixtureOrigin } from '../../fixtures/servers';
import { TEST_SECRET, get, type Fetched } from '../helpers/stack';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** A throwaway redis-server (no persistence) on a free port; stop() kills it, start() brings it back. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  /** SIGKILL: what an outage looks like to clients. */
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const redis: TestRedis = {
    url,
    port,
    async start() {
      if (child && child.exitCode === null) return;
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      const until = Date.now() + 5_000;
      for (;;) {
        const probe = new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          await probe.ping();
          probe.disconnect();
          return;
        } catch {
          probe.disconnect();
          if (Date.now() > until) throw new Error(`redis-server did not start on port ${port}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    },
  };
  await redis.start();
  return redis;
}

export interface Fleet {
  readonly origin: FixtureOrigin;
  readonly cdns: readonly FixtureCdn[];
  readonly servers: readonly SwitchyardServer[];
  readonly urls: readonly string[];
  /** Probes each instance made, per CDN id. */
  readonly probes: readonly Map<string, number>[];
  /** The config every instance runs (health, state intervals: what the tests' bounds derive from). */
  readonly config: Config;
  cdn(id: string): FixtureCdn;
  /** GET on the next instance in turn (an ordinary round-robin load balancer). */
  next(path: string, init?: RequestInit): Promise<Fetched & { instance: number }>;
  close(): Promise<void>;
}

export interface FleetOptions {
  readonly redisUrl: string;
  readonly instances?: number;
  readonly cdnIds?: readonly string[];
  readonly policy?: Record<string, unknown>;
  readonly health?: Record<string, unknown>;
  /** Distinct per test file, so files running in parallel on one Redis would not mix. */
  readonly keyPrefix?: string;
  /** The config's `qoe` section. */
  readonly qoe?: Record<string, unknown>;
}

/** The fixture origin and CDNs, and N Switchyard instances sharing state through one Redis. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const origin = await startOrigin({ host: '127.0.0.1', port: 0 });
  const cdns: FixtureCdn[] = [];
  for (const id of options.cdnIds ?? ['a', 'b'])
    cdns.push(await startCdn({ id, origin: origin.url, port: 0 }));
  const raw = {
    listen: { host: '127.0.0.1', port: 0 },
    secrets: [TEST_SECRET],
    streams: ['live', 'vod'].map((id) => ({ id, origin: `${origin.url}${id}/` })),
    cdns: cdns.map((c) => ({ id: c.id, baseUrl: c.url, weight: 1 })),
    health: { path: '/__fixture/health', interval: 200, timeout: 2000, rise: 1, fall: 1, ...options.health },
    log: { level: 'silent' },
    admin: { token: ADMIN_TOKEN },
    origin: { allowPrivateAddresses: true },
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.qoe ? { qoe: options.qoe } : {}),
    state: {
      backend: 'redis',
      url: options.redisUrl,
      keyPrefix: options.keyPrefix ?? 'test:',
      syncInterval: 200,
      flushInterval: 50,
      commandTimeout: 200,
      connectTimeout: 500,
    },
  };
  const config = validateConfig(raw, { env: {} });
  const servers: SwitchyardServer[] = [];
  const urls: string[] = [];
  const probes: Map<string, number>[] = [];
  const real = httpProber();
  for (let i = 0; i < (options.instances ?? 3); i++) {
    const counts = new Map<string, number>();
    const prober: Prober = (url, timeoutMs, maxStatus) => {
      const cdn = cdns.find((c) => url.startsWith(c.url));
      if (cdn) counts.set(cdn.id, (counts.get(cdn.id) ?? 0) + 1);
      return real(url, timeoutMs, maxStatus);
    };
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }).child({ instance: i });
    const server = createSwitchyard(config, { logger, prober, defaultMetrics: false });
    servers.push(server);
    urls.push(await server.listen());
    probes.push(counts);
  }
  let turn = 0;
  return {
    origin,
    cdns,
    servers,
    urls,
    probes,
    config,
    cdn(id) {
      const c = cdns.find((x) => x.id === id);
      if (!c) throw new Error(`no fixture CDN ${id}`);
      return c;
    },
    async next(path, init) {
      const instance = turn++ % urls.length;
      return { instance, ...(await get(new URL(path, urls[instance]).href, init)) };
    },
    async close() {
      await Promise.all(servers.map((s) => s.close(100)));
      await Promise.all(cdns.map((c) => c.close()));
      await origin.close();
    },
  };
}

/** The path (from /s/...) of a new session's first variant playlist on `stream`. */
export async function openSession(fleet: Fleet, stream = 'live'): Promise<string> {
  const master = await fleet.next(`/${stream}/master.m3u8`);
  if (master.status !== 200) throw new Error(`master: status ${master.status}`);
  const line = master.body.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  if (!line) throw new Error('master without variants');
  return new URL(line.trim(), fleet.urls[0]).pathname;
}

export function adminPost(base: string, path: string): Promise<Fetched> {
  return get(new URL(path, base).href, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
}

export async function adminState(base: string): Promise<{
  fleet: { connected: boolean; configConsistent: boolean; instances: { id: string; configHash: string }[] };
}> {
  const res = await get(new URL('admin/state', base).href, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return JSON.parse(res.body) as Awaited<ReturnType<typeof adminState>>;
}
