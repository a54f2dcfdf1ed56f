import { Cluster, Redis, type ChainableCommander } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { sharedHealth, type HealthMonitor, type SharedHealth } from '../health/monitor';
import { QoeAggregates } from '../qoe/aggregate';
import type { SessionMemoryOptions, SessionRecord } from './session-memory';
import {
  FleetLedger,
  FleetShare,
  SharedSessionMemory,
  daysOfPeriod,
  liveInstances,
  parseSessionRecord,
} from './fleet';
import { newInstanceInfo, type InstanceInfo, type StateStatus, type StateStore } from './types';

export interface RedisStateOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly cluster: boolean;
  /** How often mirrors are pulled from Redis (and the heartbeat written). */
  readonly syncInterval: number;
  /** How often queued writes are sent, in one pipeline. */
  readonly flushInterval: number;
  /** Longest any Redis command may take before it counts as failed. */
  readonly commandTimeout: number;
  readonly connectTimeout: number;
}

export interface RedisStateDeps {
  readonly instanceId: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Where the state metrics go (the instance's Prometheus registry). */
  readonly registry?: Registry;
  readonly sessions?: SessionMemoryOptions;
}

type Client = Redis | Cluster;

/** Messages on the events channel: what peers must hear before the next pull. */
type FleetEvent =
  | { from: string; kind: 'health'; cdn: string; health: SharedHealth }
  | { from: string; kind: 'drain'; cdn: string; drained: boolean; at: number }
  | { from: string; kind: 'sessions'; sessions: [string, SessionRecord][] };

interface DrainEntry {
  readonly drained: boolean;
  readonly at: number;
  readonly by: string;
}

/** Heartbeats older than this are instances that stopped (their fields are deleted later). */
const INSTANCE_MAX_AGE_FACTOR = 5;
const FORGET_AFTER_MS = 10 * 60_000;
const LEDGER_TTL_MS = 40 * 86_400_000;
const SESSIONS_PER_MESSAGE = 500;
const MAX_LOOKUPS_PER_FLUSH = 1_000;

/**
 * Shared state in Redis. Every read on the request path is a local mirror; a background loop pulls
 * the mirrors every `syncInterval`, pub/sub pushes verdicts, drains and session changes at once, and
 * writes are queued and sent in one pipeline every `flushInterval`. Commands fail fast while Redis is
 * away (no offline queue): the instance serves on what it last knew and on its own counters, and
 * writes its absolute totals again once it is back.
 *
 * Keys (after keyPrefix): health, drains, sel, qoe, instances (hashes); lease:<cdn>; sess:<session id>;
 * ledger:<YYYY-MM-DD> (hash of "<instance>|<cdn>" → bytes); channel "events".
 */
export class RedisStateStore implements StateStore {
  readonly backend = 'redis';
  readonly instanceId: string;
  readonly sessions: SharedSessionMemory;
  readonly ledger = new FleetLedger();
  readonly selections: FleetShare;
  readonly qoe = new QoeAggregates();
  private readonly cmd: Client;
  private readonly sub: Client;
  private readonly logger: Logger;
  private readonly now: () => number;
  private monitor: HealthMonitor | undefined;
  private info: InstanceInfo;
  private connected = false;
  private closed = false;
  private started = false;
  private everConnected = false;
  private lastSyncAt: number | null = null;
  private lastHeartbeatAt = 0;
  private errors = 0;
  private warnedFailure = false;
  private timers: NodeJS.Timeout[] = [];
  private flushing = false;
  private pulling = false;
  private readonly instances = new Map<string, InstanceInfo>();
  /** Drains made here and not yet written (kept across an outage; last writer wins by time). */
  private readonly pendingDrains = new Map<string, DrainEntry>();
  /** Probe results made here while Redis was away: written on return when still the newest. */
  private readonly pendingHealth = new Map<string, SharedHealth>();
  private readonly lookups = new Set<string>();
  private readonly metrics: { errors?: Counter<'op'>; connected?: Gauge; reconnects?: Counter };

  constructor(
    private readonly options: RedisStateOptions,
    deps: RedisStateDeps,
  ) {
    this.instanceId = deps.instanceId;
    this.logger = deps.logger;
    this.now = deps.now ?? Date.now;
    const now = this.now();
    this.selections = new FleetShare(30_000, now);
    this.sessions = new SharedSessionMemory({ now: this.now, ...deps.sessions });
    this.sessions.onMiss = (id) => {
      if (this.connected && this.lookups.size < MAX_LOOKUPS_PER_FLUSH) this.lookups.add(id);
    };
    this.info = newInstanceInfo(this.instanceId, now);
    const registers = deps.registry ? [deps.registry] : [];
    this.metrics = deps.registry
      ? {
          errors: new Counter({
            name: 'switchyard_state_errors_total',
            help: 'Shared state store operations that failed (the instance went on with local state)',
            labelNames: ['op'],
            registers,
          }),
          connected: new Gauge({
            name: 'switchyard_state_connected',
            help: '1 while the shared state store answers, 0 while the instance runs on local state',
            registers,
          }),
          reconnects: new Counter({
            name: 'switchyard_state_reconnects_total',
            help: 'Times the shared state store came back after being unreachable',
            registers,
          }),
        }
      : {};
    this.cmd = this.connect();
    this.sub = this.connect();
    this.cmd.on('ready', () => this.onReady());
    this.cmd.on('close', () => this.onDown('connection closed'));
    this.cmd.on('error', (err: Error) => this.onDown(err.message));
    this.sub.on('error', () => undefined); // the command connection reports outages
    this.sub.on('ready', () => {
      this.sub.subscribe(this.key('events')).catch((err: unknown) => this.failed('subscribe', err));
    });
    this.sub.on('message', (_channel: string, message: string) => this.onEvent(message));
  }

  private connect(): Client {
    const common = {
      lazyConnect: true,
      // Fail at once while disconnected instead of queueing: callers go on with local state.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.options.commandTimeout,
      connectTimeout: this.options.connectTimeout,
      autoResubscribe: true,
    };
    // Reconnect for ever, backing off to 2 s.
    const retry = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000);
    if (this.options.cluster) {
      const seed = new URL(this.options.url);
      return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
        enableOfflineQueue: false,
        lazyConnect: true,
        clusterRetryStrategy: retry,
        redisOptions: {
          ...common,
          username: seed.username === '' ? undefined : decodeURIComponent(seed.username),
          password: seed.password === '' ? undefined : decodeURIComponent(seed.password),
          tls: seed.protocol === 'rediss:' ? {} : undefined,
        },
      });
    }
    return new Redis(this.options.url, { ...common, retryStrategy: retry });
  }

  private key(name: string): string {
    return this.options.keyPrefix + name;
  }

  attachHealth(monitor: HealthMonitor): void {
    this.monitor = monitor;
    monitor.sync = {
      shouldProbe: (cdn, intervalMs) => this.takeLease(cdn, intervalMs),
      probed: (cdn, health) => this.publishHealth(cdn, health),
      drained: (cdn, drained) => {
        this.pendingDrains.set(cdn, { drained, at: this.now(), by: this.instanceId });
        void this.flush();
      },
    };
  }

  announceConfig(configHash: string, configVersion: number): void {
    this.info = { ...this.info, configHash, configVersion };
    this.lastHeartbeatAt = 0;
  }

  status(now: number): StateStatus {
    const self = { ...this.info, seenAt: now };
    const all = new Map(this.instances);
    all.set(self.id, self);
    const live = liveInstances(
      all.values(),
      now,
      this.options.syncInterval * INSTANCE_MAX_AGE_FACTOR + 2_000,
    );
    return {
      backend: 'redis',
      instance: self,
      connected: this.connected,
      lastSyncAt: this.lastSyncAt,
      errors: this.errors,
      ...live,
    };
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.metrics.connected?.set(0);
    this.cmd.connect().catch(() => undefined); // outages are reported by events; retries go on
    this.sub.connect().catch(() => undefined);
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn(), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.options.flushInterval, () => this.flush());
    every(this.options.syncInterval, () => this.pull());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.connected) {
      await this.flush();
      await this.cmd.hdel(this.key('instances'), this.instanceId).catch(() => undefined);
    }
    this.closed = true;
    this.connected = false;
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  // --- connection state -------------------------------------------------------------------------

  private onReady(): void {
    if (this.closed) return;
    const first = !this.everConnected;
    this.everConnected = true;
    this.connected = true;
    this.metrics.connected?.set(1);
    if (!first) this.metrics.reconnects?.inc();
    this.logger.info(
      { event: 'state_store', backend: 'redis', connected: true, reconnect: !first },
      first ? 'shared state store connected' : 'shared state store is back; catching up',
    );
    // Read first, so what we write back is only what is newer than the fleet's.
    void this.pull().then(() => {
      this.ledger.markDirty();
      this.selections.markDirty();
      this.qoe.markDirty();
      this.lastHeartbeatAt = 0;
      return this.flush();
    });
  }

  private onDown(reason: string): void {
    if (this.closed) return;
    if (this.connected) {
      this.logger.warn(
        { event: 'state_store', backend: 'redis', connected: false, reason },
        'shared state store unreachable; serving on last known state and local counters',
      );
      this.errors++;
      this.metrics.errors?.inc({ op: 'connection' });
    }
    this.connected = false;
    this.metrics.connected?.set(0);
  }

  private failed(op: string, err: unknown): void {
    this.errors++;
    this.metrics.errors?.inc({ op });
    const fields = {
      event: 'state_store_error',
      op,
      error: err instanceof Error ? err.message : String(err),
    };
    // The first failure is what an operator must see (e.g. CROSSSLOT on a misconfigured Cluster); the
    // rest are counted in switchyard_state_errors_total and logged at debug so an outage cannot flood.
    if (!this.warnedFailure) {
      this.warnedFailure = true;
      this.logger.warn(fields, 'state store error (first; later ones at debug level)');
    } else this.logger.debug(fields, 'state store error');
  }

  // --- health and drains ------------------------------------------------------------------------

  /** Probe lease: one instance probes a CDN per interval; the others take its verdict. */
  private async takeLease(cdn: string, intervalMs: number): Promise<boolean> {
    if (!this.connected) return true;
    try {
      const ttl = Math.max(1, Math.floor(intervalMs * 0.9));
      const got = await this.cmd.set(this.key(`lease:${cdn}`), this.instanceId, 'PX', ttl, 'NX');
      return got === 'OK';
    } catch (err) {
      this.failed('lease', err);
      return true;
    }
  }

  private publishHealth(cdn: string, health: SharedHealth): void {
    const shared = sharedHealth(health);
    if (!this.connected) {
      this.pendingHealth.set(cdn, shared);
      return;
    }
    const event: FleetEvent = { from: this.instanceId, kind: 'health', cdn, health: shared };
    this.cmd
      .multi()
      .hset(this.key('health'), cdn, JSON.stringify({ by: this.instanceId, health: shared }))
      .publish(this.key('events'), JSON.stringify(event))
      .exec()
      .catch((err: unknown) => {
        this.pendingHealth.set(cdn, shared);
        this.failed('health', err);
      });
  }

  private onEvent(message: string): void {
    let event: FleetEvent;
    try {
      event = JSON.parse(message) as FleetEvent;
    } catch {
      return;
    }
    if (event.from === this.instanceId) return;
    switch (event.kind) {
      case 'health':
        this.monitor?.applyPeer(event.cdn, event.health, event.from);
        break;
      case 'drain': {
        const mine = this.pendingDrains.get(event.cdn);
        if (mine && mine.at > event.at) break;
        this.pendingDrains.delete(event.cdn);
        this.applyDrain(event.cdn, event.drained, event.from);
        break;
      }
      case 'sessions':
        for (const [id, rec] of event.sessions) this.sessions.applyPeer(id, rec);
        break;
    }
  }

  private applyDrain(cdn: string, drained: boolean, by: string): void {
    const before = this.monitor?.health(cdn)?.drained;
    if (this.monitor?.setDrained(cdn, drained, true) && before !== drained) {
      this.logger.warn(
        { event: drained ? 'cdn_drain' : 'cdn_undrain', cdn, by },
        drained ? 'CDN drained by operator (on a peer)' : 'CDN undrained by operator (on a peer)',
      );
    }
  }

  // --- the loops --------------------------------------------------------------------------------

  /** Sends every queued write in one pipeline. Never throws; a failed write is queued again. */
  async flush(): Promise<void> {
    if (!this.connected || this.flushing) return;
    this.flushing = true;
    const now = this.now();
    const p = this.cmd.pipeline();
    const redo: (() => void)[] = [];
    try {
      this.queueWrites(p, now, redo);
      const lookups = [...this.lookups];
      this.lookups.clear();
      for (const id of lookups) p.get(this.key(`sess:${id}`));
      if (p.length === 0) return;
      const results = (await p.exec()) ?? [];
      const firstLookup = results.length - lookups.length;
      let failures = 0;
      results.forEach(([err, value], i) => {
        if (err) failures++;
        else if (i >= firstLookup) {
          const rec = parseSessionRecord(typeof value === 'string' ? value : null);
          const id = lookups[i - firstLookup];
          if (rec && id !== undefined) this.sessions.applyPeer(id, rec);
        }
      });
      if (failures > 0) {
        for (const r of redo) r();
        this.failed('flush', new Error(`${failures} of ${results.length} writes failed`));
      }
    } catch (err) {
      for (const r of redo) r();
      this.failed('flush', err);
    } finally {
      this.flushing = false;
    }
  }

  private queueWrites(p: ChainableCommander, now: number, redo: (() => void)[]): void {
    const snapshot = this.selections.takeSnapshot(now);
    if (snapshot) {
      p.hset(this.key('sel'), this.instanceId, JSON.stringify(snapshot));
      redo.push(() => this.selections.markDirty());
    }
    const qoe = this.qoe.takeSnapshot();
    if (qoe) {
      p.hset(this.key('qoe'), this.instanceId, JSON.stringify(qoe));
      redo.push(() => this.qoe.markDirty());
    }
    const days = this.ledger.takeDirty();
    for (const { day, totals } of days) {
      const key = this.key(`ledger:${day}`);
      const fields: string[] = [];
      for (const [cdn, bytes] of totals) fields.push(`${this.instanceId}|${cdn}`, String(bytes));
      p.hset(key, ...fields).pexpire(key, LEDGER_TTL_MS);
    }
    if (days.length > 0) redo.push(() => this.ledger.markDirty(days.map((d) => d.day)));

    const writes = this.sessions.takeWrites();
    const broadcast: [string, SessionRecord][] = [];
    for (const w of writes) {
      p.set(this.key(`sess:${w.id}`), JSON.stringify(w.record), 'PX', this.sessions.ttlMs);
      if (w.broadcast) broadcast.push([w.id, w.record]);
    }
    for (let i = 0; i < broadcast.length; i += SESSIONS_PER_MESSAGE) {
      const event: FleetEvent = {
        from: this.instanceId,
        kind: 'sessions',
        sessions: broadcast.slice(i, i + SESSIONS_PER_MESSAGE),
      };
      p.publish(this.key('events'), JSON.stringify(event));
    }

    for (const [cdn, d] of this.pendingDrains) {
      p.hset(this.key('drains'), cdn, JSON.stringify(d));
      const event: FleetEvent = { from: this.instanceId, kind: 'drain', cdn, drained: d.drained, at: d.at };
      p.publish(this.key('events'), JSON.stringify(event));
    }
    const drains = [...this.pendingDrains];
    this.pendingDrains.clear();
    if (drains.length > 0)
      redo.push(() => {
        for (const [cdn, d] of drains) if (!this.pendingDrains.has(cdn)) this.pendingDrains.set(cdn, d);
      });

    for (const [cdn, health] of this.pendingHealth) {
      p.hset(this.key('health'), cdn, JSON.stringify({ by: this.instanceId, health }));
      const event: FleetEvent = { from: this.instanceId, kind: 'health', cdn, health };
      p.publish(this.key('events'), JSON.stringify(event));
    }
    this.pendingHealth.clear();

    if (now - this.lastHeartbeatAt >= this.options.syncInterval) {
      this.info = { ...this.info, seenAt: now };
      p.hset(this.key('instances'), this.instanceId, JSON.stringify(this.info));
      this.lastHeartbeatAt = now;
      redo.push(() => (this.lastHeartbeatAt = 0));
    }
  }

  /** Refreshes every mirror from Redis in one pipeline. Never throws. */
  async pull(): Promise<void> {
    if (!this.connected || this.pulling) return;
    this.pulling = true;
    const now = this.now();
    const days = daysOfPeriod('month', now);
    try {
      const p = this.cmd.pipeline();
      p.hgetall(this.key('health'));
      p.hgetall(this.key('drains'));
      p.hgetall(this.key('sel'));
      p.hgetall(this.key('instances'));
      p.hgetall(this.key('qoe'));
      for (const day of days) p.hgetall(this.key(`ledger:${day}`));
      const results = (await p.exec()) ?? [];
      const hash = (i: number): Record<string, string> => {
        const r = results[i];
        if (!r || r[0]) throw r?.[0] ?? new Error('missing reply');
        return r[1] as Record<string, string>;
      };
      this.applyHealth(hash(0));
      this.applyDrains(hash(1));
      const stale = this.applyInstances(hash(3), now);
      this.applySelections(hash(2), now, stale);
      this.applyQoe(hash(4), stale);
      days.forEach((day, i) => this.applyLedgerDay(day, hash(5 + i)));
      this.lastSyncAt = now;
      if (stale.length > 0) {
        const sweep = this.cmd.pipeline();
        sweep
          .hdel(this.key('instances'), ...stale)
          .hdel(this.key('sel'), ...stale)
          .hdel(this.key('qoe'), ...stale);
        await sweep.exec();
      }
    } catch (err) {
      this.failed('pull', err);
    } finally {
      this.pulling = false;
    }
  }

  private applyHealth(all: Record<string, string>): void {
    for (const [cdn, text] of Object.entries(all)) {
      const v = parseJson<{ by?: string; health?: SharedHealth }>(text);
      if (v?.health && v.by !== this.instanceId) this.monitor?.applyPeer(cdn, v.health, v.by ?? '?');
    }
  }

  private applyDrains(all: Record<string, string>): void {
    for (const [cdn, text] of Object.entries(all)) {
      const d = parseJson<DrainEntry>(text);
      if (!d || typeof d.drained !== 'boolean') continue;
      const mine = this.pendingDrains.get(cdn);
      if (mine) {
        if (mine.at >= d.at) continue;
        this.pendingDrains.delete(cdn);
      }
      this.applyDrain(cdn, d.drained, d.by);
    }
  }

  /** Updates the instance list; returns the ids whose heartbeat stopped long ago (to delete). */
  private applyInstances(all: Record<string, string>, now: number): string[] {
    this.instances.clear();
    const stale: string[] = [];
    for (const [id, text] of Object.entries(all)) {
      const info = parseJson<InstanceInfo>(text);
      if (!info || typeof info.seenAt !== 'number') continue;
      if (now - info.seenAt > FORGET_AFTER_MS) stale.push(id);
      else if (id !== this.instanceId) this.instances.set(id, info);
    }
    return stale;
  }

  private applySelections(all: Record<string, string>, now: number, stale: readonly string[]): void {
    const keep = new Set<string>();
    for (const [id, text] of Object.entries(all)) {
      if (id === this.instanceId || stale.includes(id)) continue;
      const v = parseJson<{ at: number; counts: Record<string, number> }>(text);
      if (!v || typeof v.at !== 'number' || typeof v.counts !== 'object') continue;
      keep.add(id);
      this.selections.setPeer(id, Math.min(v.at, now), new Map(Object.entries(v.counts)));
    }
    this.selections.retainPeers(keep);
  }

  private applyQoe(all: Record<string, string>, stale: readonly string[]): void {
    const keep = new Set<string>();
    for (const [id, text] of Object.entries(all)) {
      if (id === this.instanceId || stale.includes(id)) continue;
      keep.add(id);
      this.qoe.setPeer(id, parseJson<unknown>(text));
    }
    this.qoe.retainPeers(keep);
  }

  private applyLedgerDay(day: string, all: Record<string, string>): void {
    const totals = new Map<string, number>();
    const own = `${this.instanceId}|`;
    for (const [field, value] of Object.entries(all)) {
      if (field.startsWith(own)) continue;
      const bar = field.lastIndexOf('|');
      const bytes = Number(value);
      if (bar < 0 || !Number.isFinite(bytes)) continue;
      const cdn = field.slice(bar + 1);
      totals.set(cdn, (totals.get(cdn) ?? 0) + bytes);
    }
    this.ledger.setPeers(day, totals);
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
