import { Agent, request } from 'undici';
import { lagTolerantDeadline, MAX_STRETCH } from './deadline';
import type { CdnView } from '../cdn-view';
import { cmsdFromHeaders, type CmsdReading } from '../qoe/cmsd';

export interface ProbeSettings {
  readonly path: string;
  readonly interval: number;
  readonly timeout: number;
  readonly rise: number;
  readonly fall: number;
  readonly maxStatus: number;
}

export interface MonitoredCdn {
  readonly id: string;
  readonly baseUrl: string;
  readonly weight: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly probe: ProbeSettings;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly latencyMs: number | null;
  readonly error?: string;
  /** The CMSD the CDN answered with (CMSD-Static / CMSD-Dynamic), when it sent any. */
  readonly cmsd?: CmsdReading;
}

export type Prober = (url: string, timeoutMs: number, maxStatus: number) => Promise<ProbeResult>;

export interface CdnHealth {
  readonly id: string;
  healthy: boolean;
  consecutiveOk: number;
  consecutiveFail: number;
  /** Exponentially weighted failure rate of recent probes, 0..1. */
  errorRate: number;
  /** Exponentially weighted probe latency. */
  latencyMs: number | null;
  lastProbeAt: number | null;
  lastError: string | null;
  /** Taken out of selection by an operator. */
  drained: boolean;
  /**
   * The CDN's last probe answer carried CMSD `du` (duress): it asks clients to move off it. It stays
   * healthy (it still serves), and policies that read it (qoe, failover) prefer other CDNs.
   */
  duress: boolean;
}

export interface HealthChange {
  readonly id: string;
  readonly healthy: boolean;
  readonly reason: string;
}

const EWMA = 0.3;

/** The part of a CDN's health that instances share: a peer's state replaces ours when it is newer. */
export type SharedHealth = Pick<
  CdnHealth,
  'healthy' | 'consecutiveOk' | 'consecutiveFail' | 'errorRate' | 'latencyMs' | 'lastProbeAt' | 'lastError'
> & { readonly duress?: boolean };

/** Only the shared fields of a CDN's health (what goes to peers: over Redis, or from the primary). */
export function sharedHealth(h: SharedHealth): SharedHealth {
  return {
    healthy: h.healthy,
    consecutiveOk: h.consecutiveOk,
    consecutiveFail: h.consecutiveFail,
    errorRate: h.errorRate,
    latencyMs: h.latencyMs,
    lastProbeAt: h.lastProbeAt,
    lastError: h.lastError,
    duress: h.duress,
  };
}

/**
 * How a monitor takes part in a fleet (see src/state). All optional: without them it works alone.
 * None of them is awaited on a request's path.
 */
export interface HealthSync {
  /** Asked before each timed probe: false when another instance holds this CDN's probe lease. */
  shouldProbe?(cdnId: string, intervalMs: number): Promise<boolean>;
  /** After each probe this instance made, with the state it left. */
  probed?(id: string, health: SharedHealth): void;
  /** After an operator drained or undrained a CDN on this instance. */
  drained?(id: string, drained: boolean): void;
}

/**
 * Why a probe failed, in words an operator reads in a verdict: "timeout after 1000 ms", or the
 * network error's code ("ECONNRESET"). (The abort signal's DOMException carries code 23, a number.)
 */
export function probeError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT')
    return `timeout after ${timeoutMs} ms`;
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  return typeof e.message === 'string' && e.message !== '' ? e.message : 'probe failed';
}

/** GET the probe URL; any status below maxStatus within the timeout is a success. */
export function httpProber(agent = new Agent({ keepAliveTimeout: 5_000, connections: 4 })): Prober {
  return async (url, timeoutMs, maxStatus) => {
    const started = performance.now();
    // The timeout counts only time this process could have read the answer (./deadline): an
    // overloaded instance must not judge its healthy CDNs slow.
    const abort = new AbortController();
    const deadline = lagTolerantDeadline(timeoutMs, () =>
      abort.abort(new DOMException(`timeout after ${timeoutMs} ms`, 'TimeoutError')),
    );
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher: agent,
        signal: abort.signal,
        // undici's own timers count wall-clock time: the deadline above decides, these only bound it.
        headersTimeout: timeoutMs * MAX_STRETCH,
        bodyTimeout: timeoutMs * MAX_STRETCH,
        headers: { 'user-agent': 'switchyard-probe' },
      });
      await res.body.dump({ limit: 64 * 1024, signal: abort.signal });
      const latencyMs = performance.now() - started;
      const cmsd = cmsdFromHeaders(res.headers);
      return res.statusCode < maxStatus
        ? { ok: true, latencyMs, ...(cmsd ? { cmsd } : {}) }
        : { ok: false, latencyMs, error: `status ${res.statusCode}`, ...(cmsd ? { cmsd } : {}) };
    } catch (err) {
      return { ok: false, latencyMs: null, error: probeError(err, timeoutMs) };
    } finally {
      deadline.cancel();
    }
  };
}

/**
 * Active health checks per CDN with rise/fall hysteresis. Each CDN is probed on its own timer with a
 * random initial offset, so many instances do not probe in step. views() is what policies see.
 */
export class HealthMonitor {
  private cdns: readonly MonitoredCdn[] = [];
  private readonly state = new Map<string, CdnHealth>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = false;
  private changes = 0;
  /** Set by a shared state store; empty when the instance runs alone. */
  sync: HealthSync = {};
  /** Told of every probe this instance made that came back with CMSD (the QoE reader listens). */
  onCmsd: ((id: string, at: number, cmsd: CmsdReading, latencyMs: number | null) => void) | undefined;
  /** Told of every probe this instance makes (metrics); peers' verdicts are not probes of ours. */
  onProbe: ((id: string, result: ProbeResult) => void) | undefined;

  constructor(
    private readonly prober: Prober,
    private readonly onChange: (change: HealthChange) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sets the monitored CDNs (on start and on every config reload); state of kept CDNs survives. */
  setCdns(cdns: readonly MonitoredCdn[]): void {
    const ids = new Set(cdns.map((c) => c.id));
    for (const id of [...this.state.keys()]) {
      if (!ids.has(id)) {
        this.state.delete(id);
        this.stopTimer(id);
      }
    }
    const previous = new Map(this.cdns.map((c) => [c.id, c]));
    this.cdns = cdns;
    this.changes++;
    for (const cdn of cdns) {
      if (!this.state.has(cdn.id)) {
        // Until proven otherwise a CDN is healthy: start-up must not wait for probes.
        this.state.set(cdn.id, {
          id: cdn.id,
          healthy: true,
          consecutiveOk: 0,
          consecutiveFail: 0,
          errorRate: 0,
          latencyMs: null,
          lastProbeAt: null,
          lastError: null,
          drained: false,
          duress: false,
        });
      }
      const before = previous.get(cdn.id);
      if (
        this.running &&
        (!before ||
          JSON.stringify(before.probe) !== JSON.stringify(cdn.probe) ||
          before.baseUrl !== cdn.baseUrl)
      ) {
        this.stopTimer(cdn.id);
        this.schedule(cdn, Math.random() * cdn.probe.interval);
      }
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const cdn of this.cdns) this.schedule(cdn, Math.random() * cdn.probe.interval);
  }

  stop(): void {
    this.running = false;
    for (const id of [...this.timers.keys()]) this.stopTimer(id);
  }

  /** Probes every CDN once now (tests, and the first check at start-up). */
  async probeAll(): Promise<void> {
    await Promise.all(this.cdns.map((c) => this.probe(c)));
  }

  /** Grows whenever a verdict, a drain or the CDN list changes: views() callers can cache by it. */
  get version(): number {
    return this.changes;
  }

  health(id: string): Readonly<CdnHealth> | undefined {
    return this.state.get(id);
  }

  all(): readonly Readonly<CdnHealth>[] {
    return this.cdns.map((c) => this.state.get(c.id) as CdnHealth);
  }

  /** `fromPeer`: the drain was made on another instance and arrives through the state store. */
  setDrained(id: string, drained: boolean, fromPeer = false): boolean {
    const s = this.state.get(id);
    if (!s) return false;
    if (s.drained !== drained) this.changes++;
    s.drained = drained;
    if (!fromPeer) this.sync.drained?.(id, drained);
    return true;
  }

  /**
   * A peer's verdict for a CDN: taken when its probe is newer than ours, so whichever instance probed
   * last speaks for the fleet, and the next lease holder carries the rise/fall counts on.
   */
  applyPeer(id: string, peer: SharedHealth, by: string): boolean {
    const s = this.state.get(id);
    if (!s || peer.lastProbeAt === null || (s.lastProbeAt !== null && peer.lastProbeAt <= s.lastProbeAt))
      return false;
    const wasHealthy = s.healthy;
    const duress = peer.duress === true;
    if (duress !== s.duress) this.changes++;
    s.duress = duress;
    Object.assign(s, {
      healthy: peer.healthy,
      consecutiveOk: peer.consecutiveOk,
      consecutiveFail: peer.consecutiveFail,
      errorRate: peer.errorRate,
      latencyMs: peer.latencyMs,
      lastProbeAt: peer.lastProbeAt,
      lastError: peer.lastError,
    });
    if (wasHealthy !== peer.healthy) {
      this.changes++;
      this.onChange({
        id,
        healthy: peer.healthy,
        reason: `verdict of instance ${by}${peer.lastError === null ? '' : `: ${peer.lastError}`}`,
      });
    }
    return true;
  }

  /** The CDNs as policies see them; `shares` from recent selections. */
  views(shares: ReadonlyMap<string, number>): CdnView[] {
    return this.cdns.map((c) => {
      const s = this.state.get(c.id) as CdnHealth;
      return {
        id: c.id,
        baseUrl: c.baseUrl,
        weight: c.weight,
        healthy: s.healthy && !s.drained,
        ...(s.duress ? { duress: true } : {}),
        errorRate: s.errorRate,
        latencyMs: s.latencyMs,
        share: shares.get(c.id) ?? 0,
        tags: c.tags,
      };
    });
  }

  private schedule(cdn: MonitoredCdn, delay: number): void {
    const timer = setTimeout(() => {
      void this.timedProbe(cdn).finally(() => {
        const current = this.cdns.find((c) => c.id === cdn.id);
        if (this.running && current && this.timers.get(cdn.id) === timer)
          this.schedule(current, current.probe.interval);
      });
    }, delay);
    timer.unref();
    this.timers.set(cdn.id, timer);
  }

  private stopTimer(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private async timedProbe(cdn: MonitoredCdn): Promise<void> {
    const ask = this.sync.shouldProbe;
    // A store that cannot answer lets us probe: alone, an instance still needs verdicts.
    if (ask && !(await ask(cdn.id, cdn.probe.interval).catch(() => true))) return;
    await this.probe(cdn);
  }

  private async probe(cdn: MonitoredCdn): Promise<void> {
    const url = cdn.baseUrl + cdn.probe.path.replace(/^\//, '');
    const result = await this.prober(url, cdn.probe.timeout, cdn.probe.maxStatus);
    const s = this.state.get(cdn.id);
    if (!s) return; // removed by a reload while probing
    this.onProbe?.(cdn.id, result);
    this.record(s, cdn.probe, result);
    if (result.cmsd) this.onCmsd?.(s.id, s.lastProbeAt ?? this.now(), result.cmsd, result.latencyMs);
    this.sync.probed?.(s.id, s);
  }

  /** Applies one probe result with rise/fall hysteresis. Exposed for passive signals. */
  record(s: CdnHealth, probe: Pick<ProbeSettings, 'rise' | 'fall'>, result: ProbeResult): void {
    s.lastProbeAt = this.now();
    s.errorRate = s.errorRate * (1 - EWMA) + (result.ok ? 0 : EWMA);
    // CMSD says `du` only while under duress (never du=false): an answer without it ends the duress.
    const duress = result.cmsd?.duress === true;
    if (duress !== s.duress) {
      s.duress = duress;
      this.changes++;
      this.onChange({
        id: s.id,
        healthy: s.healthy,
        reason: duress ? 'CMSD duress (du): the CDN asks to be moved off' : 'CMSD duress ended',
      });
    }
    if (result.latencyMs !== null)
      s.latencyMs =
        s.latencyMs === null ? result.latencyMs : s.latencyMs * (1 - EWMA) + result.latencyMs * EWMA;
    if (result.ok) {
      s.consecutiveOk++;
      s.consecutiveFail = 0;
      s.lastError = null;
      if (!s.healthy && s.consecutiveOk >= probe.rise) {
        s.healthy = true;
        this.changes++;
        this.onChange({ id: s.id, healthy: true, reason: `${s.consecutiveOk} probes ok` });
      }
    } else {
      s.consecutiveFail++;
      s.consecutiveOk = 0;
      s.lastError = result.error ?? 'probe failed';
      if (s.healthy && s.consecutiveFail >= probe.fall) {
        s.healthy = false;
        this.changes++;
        this.onChange({
          id: s.id,
          healthy: false,
          reason: `${s.consecutiveFail} probes failed: ${s.lastError}`,
        });
      }
    }
  }
}
