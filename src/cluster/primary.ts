import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Config } from '../config/schema';
import { ConfigWatcher } from '../config/watch';
import { parseConfig } from '../configure';
import { HealthMonitor, httpProber, sharedHealth } from '../health/monitor';
import type { PolicyRegistry } from '../policy/registry';
import { monitoredCdns } from '../server/runtime';
import type { InstanceInfo } from '../state/types';
import { Agent } from 'undici';
import { isWorkerMessage, type HealthSnapshot, type PrimaryMessage, type WorkerMessage } from './protocol';

/** `listen.workers` as a count: "auto" is one per CPU the process may use. */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? Math.max(1, availableParallelism()) : setting;
}

export interface PrimaryOptions {
  readonly logger: Logger;
  readonly workers: number;
  /** The config file the primary watches (changes and SIGHUP reach every worker). */
  readonly configFile?: string;
  readonly policies?: PolicyRegistry;
  /** How long a worker that died is waited for before it is started again (doubles per quick death). */
  readonly restartDelayMs?: number;
  /** Extra environment of the workers. */
  readonly env?: Readonly<Record<string, string>>;
}

interface Slot {
  worker: Worker;
  startedAt: number;
  ready: boolean;
  info: InstanceInfo | undefined;
}

const METRICS_TIMEOUT_MS = 5_000;

type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

interface MetricsRequest {
  /** The worker that was scraped, and its own id of the scrape. */
  readonly from: Worker;
  readonly rid: number;
  readonly waiting: Set<number>;
  readonly results: WorkerMetrics[];
  readonly timer: NodeJS.Timeout;
}

/**
 * The primary of `listen.workers: N`: forks N workers that share the listening port (node:cluster),
 * probes the CDNs once for the machine and hands every worker the verdicts, relays drains, selection
 * counts, delivered volume and session placements between workers, loads config changes and sends
 * them to all, answers /metrics asked of any worker with every worker's figures aggregated, restarts
 * a worker that dies, and drains every worker on close(). With the Redis state store the workers share
 * state (and probe leases) through Redis instead, and the primary does not probe.
 */
export class ClusterPrimary {
  private readonly slots = new Map<number, Slot>();
  private readonly logger: Logger;
  private readonly monitor: HealthMonitor | undefined;
  private readonly probeAgent = new Agent({ keepAliveTimeout: 5_000, connections: 4 });
  /** Delivered volume per worker instance, per day, per CDN (kept after a worker exits: it was delivered). */
  private readonly ledger = new Map<string, Map<string, Record<string, number>>>();
  /** Aggregated scrapes in progress, by the id the primary gave them. */
  private readonly metricsRequests = new Map<number, MetricsRequest>();
  private nextRid = 1;
  private watcher: ConfigWatcher | undefined;
  private closing = false;
  private quickDeaths = 0;
  private url: string | undefined;
  private readyWaiters: { resolve: (url: string) => void; reject: (err: Error) => void }[] = [];

  constructor(
    private config: Config,
    private readonly options: PrimaryOptions,
  ) {
    this.logger = options.logger;
    if (config.state.backend !== 'redis') {
      this.monitor = new HealthMonitor(httpProber(this.probeAgent), (change) =>
        this.logger[change.healthy ? 'info' : 'warn'](
          { event: 'cdn_health', cdn: change.id, healthy: change.healthy, reason: change.reason },
          change.healthy ? 'CDN healthy again' : 'CDN unhealthy',
        ),
      );
      this.monitor.setCdns(monitoredCdns(config));
      this.monitor.sync = {
        probed: (id, health) => this.broadcast({ sy: 'health', id, health: { ...health } }),
      };
    }
  }

  get workers(): number {
    return this.slots.size;
  }

  /** Forks the workers; resolves with the URL once every one is listening. */
  start(): Promise<string> {
    cluster.setupPrimary({ serialization: 'json' });
    this.monitor?.start();
    for (let i = 0; i < this.options.workers; i++) this.fork();
    if (this.options.configFile) {
      this.watcher = new ConfigWatcher(
        this.options.configFile,
        { onConfig: (next) => this.reload(next), onError: (err) => this.reloadFailed(err) },
        (text, at) => parseConfig(text, { policies: this.options.policies, ...at }),
      );
      this.watcher.start();
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Re-reads the config file now (SIGHUP). */
  reloadFile(): void {
    void this.watcher?.reload();
  }

  /** A validated config: to every worker (listen addresses stay as they were at start). */
  reload(next: Config): void {
    this.config = { ...next, listen: this.config.listen };
    this.monitor?.setCdns(monitoredCdns(this.config));
    this.broadcast({ sy: 'config', config: this.config });
    this.logger.info(
      { event: 'config_reload', ok: true, workers: this.slots.size },
      'config sent to every worker',
    );
  }

  private reloadFailed(err: Error): void {
    this.logger.error(
      { event: 'config_reload', ok: false, error: err.message },
      'config rejected; the previous config keeps serving',
    );
  }

  private healthSnapshot(): HealthSnapshot[] {
    if (!this.monitor) return [];
    return this.monitor.all().map((h) => ({
      id: h.id,
      drained: h.drained,
      health: sharedHealth(h),
    }));
  }

  private fork(): void {
    const worker = cluster.fork({ ...this.options.env, SWITCHYARD_WORKER: '1' });
    const slot: Slot = { worker, startedAt: Date.now(), ready: false, info: undefined };
    this.slots.set(worker.id, slot);
    // A send racing the worker's death fails on the closed channel: the exit handler takes it from there.
    worker.on('error', (err) =>
      this.logger.debug(
        { event: 'worker_ipc', pid: worker.process.pid, error: err.message },
        'worker IPC error',
      ),
    );
    worker.on('message', (m: unknown) => {
      if (isWorkerMessage(m)) this.onMessage(slot, m);
    });
    worker.once('online', () =>
      this.send(worker, { sy: 'init', config: this.config, health: this.healthSnapshot() }),
    );
    worker.once('exit', (code, signal) => this.onExit(slot, code, signal));
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    this.slots.delete(slot.worker.id);
    for (const [rid, r] of this.metricsRequests) {
      if (r.waiting.delete(slot.worker.id) && r.waiting.size === 0) this.finishMetrics(rid);
    }
    this.broadcastInstances();
    if (this.closing) return;
    const lived = Date.now() - slot.startedAt;
    this.quickDeaths = lived < 10_000 ? this.quickDeaths + 1 : 0;
    if (!slot.ready && this.url === undefined) {
      // A worker that cannot even start (port taken, bad policy module): the whole start fails.
      const err = new Error(`worker exited with ${signal ?? code} before listening`);
      for (const w of this.readyWaiters) w.reject(err);
      this.readyWaiters = [];
      return;
    }
    const delay = Math.min((this.options.restartDelayMs ?? 500) * 2 ** Math.min(this.quickDeaths, 6), 30_000);
    this.logger.error(
      { event: 'worker_exit', pid: slot.worker.process.pid, code, signal, restartInMs: delay },
      'worker exited; starting another',
    );
    setTimeout(() => {
      if (!this.closing) this.fork();
    }, delay).unref();
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    switch (m.sy) {
      case 'ready': {
        slot.ready = true;
        if (this.url === undefined && [...this.slots.values()].every((s) => s.ready)) {
          this.url = m.url;
          for (const w of this.readyWaiters) w.resolve(m.url);
          this.readyWaiters = [];
        }
        break;
      }
      case 'announce':
        slot.info = m.info;
        this.broadcastInstances();
        break;
      case 'drain':
        this.monitor?.setDrained(m.id, m.drained, true);
        // Every worker, the one it was made on included (idempotent there).
        this.broadcast({ sy: 'drain', id: m.id, drained: m.drained });
        break;
      case 'sync':
        this.onSync(slot, m);
        break;
      case 'reloaded':
        if (!m.ok)
          this.logger.error(
            { event: 'config_reload', ok: false, pid: slot.worker.process.pid, error: m.error },
            'a worker refused the config; it keeps serving the previous one',
          );
        break;
      case 'metrics-request':
        this.collectMetrics(slot.worker, m.rid);
        break;
      case 'metrics-json': {
        const r = this.metricsRequests.get(m.rid);
        if (!r || !r.waiting.delete(slot.worker.id)) break;
        r.results.push(m.metrics as WorkerMetrics);
        if (r.waiting.size === 0) this.finishMetrics(m.rid);
        break;
      }
      default:
        break;
    }
  }

  private onSync(slot: Slot, m: Extract<WorkerMessage, { sy: 'sync' }>): void {
    const from = slot.info?.id;
    if (from === undefined) return;
    const others = [...this.slots.values()].filter((s) => s !== slot);
    if (m.shares) {
      const msg: PrimaryMessage = { sy: 'shares', from, at: m.shares.at, counts: m.shares.counts };
      for (const s of others) this.send(s.worker, msg);
    }
    if (m.qoe) {
      const msg: PrimaryMessage = { sy: 'qoe', from, snapshot: m.qoe };
      for (const s of others) this.send(s.worker, msg);
    }
    if (m.sessions && m.sessions.length > 0) {
      const msg: PrimaryMessage = { sy: 'sessions', records: m.sessions };
      for (const s of others) this.send(s.worker, msg);
    }
    if (m.ledger && m.ledger.length > 0) {
      let own = this.ledger.get(from);
      if (!own) this.ledger.set(from, (own = new Map()));
      for (const d of m.ledger) own.set(d.day, d.totals);
      // Each worker hears the sum of everyone else's totals, for each day that changed.
      for (const s of this.slots.values()) {
        for (const d of m.ledger) {
          const totals: Record<string, number> = {};
          for (const [instance, days] of this.ledger) {
            if (instance === s.info?.id) continue;
            for (const [cdn, bytes] of Object.entries(days.get(d.day) ?? {}))
              totals[cdn] = (totals[cdn] ?? 0) + bytes;
          }
          if (s !== slot || Object.keys(totals).length > 0)
            this.send(s.worker, { sy: 'ledger', day: d.day, totals });
        }
      }
    }
  }

  private broadcastInstances(): void {
    const instances = [...this.slots.values()].flatMap((s) => (s.info ? [s.info] : []));
    this.broadcast({ sy: 'instances', instances });
  }

  private collectMetrics(from: Worker, rid: number): void {
    const id = this.nextRid++;
    const waiting = new Set([...this.slots.values()].filter((s) => s.ready).map((s) => s.worker.id));
    const timer = setTimeout(() => this.finishMetrics(id), METRICS_TIMEOUT_MS);
    timer.unref();
    this.metricsRequests.set(id, { from, rid, waiting, results: [], timer });
    for (const wid of waiting) {
      const w = this.slots.get(wid)?.worker;
      if (w) this.send(w, { sy: 'metrics-collect', rid: id });
    }
    if (waiting.size === 0) this.finishMetrics(id);
  }

  private finishMetrics(id: number): void {
    const r = this.metricsRequests.get(id);
    if (!r) return;
    this.metricsRequests.delete(id);
    clearTimeout(r.timer);
    const rid = r.rid;
    AggregatorRegistry.aggregate(r.results)
      .metrics()
      .then(
        (text) => this.send(r.from, { sy: 'metrics-text', rid, text }),
        (err: unknown) => this.send(r.from, { sy: 'metrics-text', rid, text: '', error: String(err) }),
      );
  }

  private send(worker: Worker, message: PrimaryMessage): void {
    if (!worker.isConnected() || worker.isDead()) return;
    try {
      worker.send(message, (err: Error | null) => {
        if (err) this.logger.debug({ event: 'worker_ipc', error: err.message }, 'message to a worker lost');
      });
    } catch (err) {
      this.logger.debug({ event: 'worker_ipc', error: (err as Error).message }, 'message to a worker lost');
    }
  }

  private broadcast(message: PrimaryMessage): void {
    for (const s of this.slots.values()) this.send(s.worker, message);
  }

  /** Drains every worker (each finishes its requests, bounded by drainMs), then stops probing. */
  async close(drainMs = 10_000): Promise<void> {
    this.closing = true;
    this.watcher?.stop();
    this.monitor?.stop();
    for (const w of this.readyWaiters) w.reject(new Error('closed before every worker was listening'));
    this.readyWaiters = [];
    const exits = [...this.slots.values()].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.worker.isDead()) return resolve();
          const kill = setTimeout(() => s.worker.process.kill('SIGKILL'), drainMs + 5_000);
          s.worker.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          this.send(s.worker, { sy: 'shutdown', drainMs });
        }),
    );
    await Promise.all(exits);
    await this.probeAgent.close();
  }
}
