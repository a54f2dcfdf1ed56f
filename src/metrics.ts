import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RolloutSnapshot } from './rollout/controller';
import type { PoolStats, RestartReason } from './parse-pool/pool';
import type { ParseWhere } from './parse-pool/parsing';

export type RouteKind = 'manifest' | 'segment' | 'steering';
export type ConnectionCutReason = 'pipelining' | 'unread' | 'idle';
export type CacheOutcomeLabel = 'hit' | 'miss' | 'coalesced' | 'stale';

/**
 * A session counts as active while it asked for a manifest within this window: a live player reloads
 * every few seconds; a VOD player that has its playlists only fetches segments (from the CDN) and
 * drops out of the count after a minute.
 */
export const ACTIVE_SESSION_WINDOW_MS = 60_000;

/** Seconds, from half a millisecond to 10 s: for work done in this process (answers, parses). */
const WORK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Per-CDN figures read at scrape time (health and share change between scrapes, not per request). */
export interface CdnSnapshot {
  readonly id: string;
  readonly healthy: boolean;
  readonly drained: boolean;
  readonly share: number;
  readonly errorRate: number;
  /** CMSD duress on its last probe. */
  readonly duress?: boolean;
  /** The configured weight (share-drift alerts compare shares with weight / sum of weights). */
  readonly weight: number;
}

/** A CDN's fleet-wide QoE estimate over the covered windows (all viewers). */
export interface QoeRow {
  readonly cdn: string;
  readonly sessions: number;
  readonly goodShare: number;
  readonly errorRate: number;
  readonly rebufferRatio: number;
}

export type CmcdReportOutcome =
  'accepted' | 'invalid' | 'too_large' | 'media_type' | 'rate_limited' | 'token';

/**
 * Prometheus metrics (prom-client), one registry per Switchyard instance so tests and embedders can
 * run several side by side. Label values are bounded: routes, statuses, CDN ids and origin hosts from
 * the config, reason *kinds* (the reason's first word, e.g. "weighted", "failover", "stayed"), never
 * session ids, CDN ids inside reasons, or paths. Node.js process metrics keep their standard names
 * (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...) so stock Node.js dashboards work.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Cache lookups by outcome as plain numbers, for the status page (prom-client reads are async). */
  readonly cacheCounts: Record<CacheOutcomeLabel, number> = { hit: 0, miss: 0, coalesced: 0, stale: 0 };
  /** Player requests answered, by route, as plain numbers (the demo's summary line). */
  readonly requestCounts: Record<RouteKind, number> = { manifest: 0, segment: 0, steering: 0 };
  private readonly requests: Counter<'route' | 'status'>;
  private readonly latency: Histogram<'route'>;
  private readonly cache: Counter<'outcome'>;
  private readonly originFetches: Counter<'origin' | 'result'>;
  private readonly originLatency: Histogram<'origin'>;
  private readonly selections: Counter<'cdn' | 'reason'>;
  private readonly switches: Counter<'from' | 'to' | 'reason'>;
  private readonly reloads: Counter<'result'>;
  private readonly breaker: Gauge<'origin' | 'state'>;
  private readonly uncaught: Counter<'kind'>;
  private readonly cmcdReports: Counter<'outcome'>;
  private readonly qoeSignals: Counter<'source'>;
  /** The fleet's QoE per CDN, read at scrape time (set by the runtime). */
  qoeRows: () => readonly QoeRow[] = () => [];
  private readonly decisions: Counter<'sink' | 'result'>;
  /** The current or last rollout, read at scrape time (set by the runtime). */
  rolloutSource: () => RolloutSnapshot | undefined = () => undefined;
  private readonly cut: Counter<'reason'>;
  private readonly shed: Counter<'route'>;
  /** Connections cut by reason and requests shed, as plain numbers (tests, the status page). */
  readonly cutCounts: Record<ConnectionCutReason, number> = { pipelining: 0, unread: 0, idle: 0 };
  shedCount = 0;
  private readonly rejected: Counter<'status' | 'code'>;
  private readonly probes: Counter<'cdn' | 'result'>;
  private readonly probeLatency: Histogram<'cdn'>;
  private readonly reloadOk: Gauge;
  private readonly parses: Counter<'where' | 'result'>;
  private readonly parseTime: Histogram<'where'>;
  private readonly parseRestarts: Counter<'reason'>;
  /** The manifest parse pool's threads and queue, read at scrape time (set by the runtime). */
  parsePool: () => PoolStats = () => ({ workers: 0, busy: 0, queued: 0, restarts: 0 });

  constructor(
    snapshot: () => readonly CdnSnapshot[],
    options: {
      defaultMetrics?: boolean;
      version?: string;
      policy?: () => string;
      /** Sessions seen recently, by the CDN each was last given (see ACTIVE_SESSION_WINDOW_MS). */
      activeSessions?: () => ReadonlyMap<string, number>;
    } = {},
  ) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'switchyard_requests_total',
      help: 'Player requests by route and HTTP status',
      labelNames: ['route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'switchyard_request_duration_seconds',
      help: 'Time to answer player requests (manifests include origin fetches on a miss)',
      labelNames: ['route'],
      buckets: WORK_BUCKETS,
      registers,
    });
    this.cache = new Counter({
      name: 'switchyard_manifest_cache_total',
      help: 'Manifest cache lookups: hit, miss (origin fetch), coalesced (waited on an in-flight fetch), stale (served past TTL while the origin fails)',
      labelNames: ['outcome'],
      registers,
    });
    this.originFetches = new Counter({
      name: 'switchyard_origin_fetches_total',
      help: 'Origin manifest fetches by origin host and result (ok or an error code)',
      labelNames: ['origin', 'result'],
      registers,
    });
    this.originLatency = new Histogram({
      name: 'switchyard_origin_fetch_duration_seconds',
      help: 'Origin manifest fetch time',
      labelNames: ['origin'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.selections = new Counter({
      name: 'switchyard_selections_total',
      help: 'CDN decisions that placed segments, by CDN and reason kind',
      labelNames: ['cdn', 'reason'],
      registers,
    });
    this.switches = new Counter({
      name: 'switchyard_switches_total',
      help: 'Sessions moved from one CDN to another',
      labelNames: ['from', 'to', 'reason'],
      registers,
    });
    this.reloads = new Counter({
      name: 'switchyard_config_reloads_total',
      help: 'Config reloads by result',
      labelNames: ['result'],
      registers,
    });
    this.breaker = new Gauge({
      name: 'switchyard_origin_circuit',
      help: 'Origin circuit breaker state: 1 for the current state (closed, open, half-open) of each origin',
      labelNames: ['origin', 'state'],
      registers,
      // Aggregated over cluster workers (each has its own origin connections): "some worker is in it".
      aggregator: 'max',
    });
    this.uncaught = new Counter({
      name: 'switchyard_uncaught_errors_total',
      help: 'Errors that escaped every handler (uncaughtException, unhandledRejection); the process kept serving',
      labelNames: ['kind'],
      registers,
    });
    this.decisions = new Counter({
      name: 'switchyard_decisions_written_total',
      help: 'Decision log records by sink (file, redis) and result (written, or dropped because the sink failed)',
      labelNames: ['sink', 'result'],
      registers,
    });
    const rollout = () => this.rolloutSource();
    new Gauge({
      name: 'switchyard_rollout_share',
      help: 'Share of sessions in the canary arm of the rollout now (0 when none runs)',
      registers,
      aggregator: 'max',
      collect() {
        this.set(rollout()?.share ?? 0);
      },
    });
    new Gauge({
      name: 'switchyard_rollout_state',
      help: 'Rollout state: 1 for the current one (running, failing, aborted, promoted)',
      labelNames: ['state'],
      registers,
      aggregator: 'max',
      collect() {
        const r = rollout();
        if (r === undefined) return;
        for (const st of ['running', 'failing', 'aborted', 'promoted'] as const)
          this.set({ state: st }, r.state === st ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchyard_rollout_sessions',
      help: 'Sessions with evidence in the current rollout step, per arm and guard metric',
      labelNames: ['arm', 'metric'],
      registers,
      collect() {
        const r = rollout();
        if (r === undefined) return;
        for (const arm of ['control', 'canary'] as const)
          for (const [metric, f] of Object.entries(r.arms[arm])) this.set({ arm, metric }, f.sessions);
      },
    });
    new Gauge({
      name: 'switchyard_rollout_metric',
      help: 'Guard metric per arm over the current rollout step (segment_error_rate, rebuffer_ratio, manifest_error_rate)',
      labelNames: ['arm', 'metric'],
      registers,
      aggregator: 'average',
      collect() {
        const r = rollout();
        if (r === undefined) return;
        for (const arm of ['control', 'canary'] as const)
          for (const [metric, f] of Object.entries(r.arms[arm]))
            if (f.value !== null) this.set({ arm, metric }, f.value);
      },
    });
    new Gauge({
      name: 'switchyard_rollout_guard',
      help: 'Last verdict of each guard: 1 for the current one (pass, fail, no_verdict)',
      labelNames: ['metric', 'verdict'],
      registers,
      aggregator: 'max',
      collect() {
        for (const g of rollout()?.judgement?.guards ?? [])
          for (const v of ['pass', 'fail', 'no_verdict'] as const)
            this.set({ metric: g.metric, verdict: v }, g.verdict === v ? 1 : 0);
      },
    });
    this.cut = new Counter({
      name: 'switchyard_connections_cut_total',
      help: 'Player connections Switchyard closed: pipelining (too many requests queued on one connection), unread (too much output the client does not read), idle (no progress within limits.idleTimeout)',
      labelNames: ['reason'],
      registers,
    });
    this.shed = new Counter({
      name: 'switchyard_shed_total',
      help: 'Manifest requests answered 503 OVERLOADED because the heap was above limits.heapBudget',
      labelNames: ['route'],
      registers,
    });
    this.rejected = new Counter({
      name: 'switchyard_rejected_requests_total',
      help: 'Requests answered before reaching a stream: unknown stream or route (404), method (405), bad path (400), URL too long (414)',
      labelNames: ['status', 'code'],
      registers,
    });
    this.probes = new Counter({
      name: 'switchyard_cdn_probes_total',
      help: 'Active health probes this instance made, by CDN and result (ok or failed)',
      labelNames: ['cdn', 'result'],
      registers,
    });
    this.probeLatency = new Histogram({
      name: 'switchyard_cdn_probe_duration_seconds',
      help: 'Time to an answer of the active health probes (probes that got no answer are not observed)',
      labelNames: ['cdn'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.reloadOk = new Gauge({
      name: 'switchyard_config_last_reload_successful',
      help: '1 when the last config reload applied (or none was tried), 0 while the last one was rejected',
      registers,
      aggregator: 'min',
    });
    this.reloadOk.set(1);
    this.parses = new Counter({
      name: 'switchyard_manifest_parses_total',
      help: 'Manifest parses by where they ran (inline on the event loop, or worker: a parse thread) and result (ok or an error code; OVERLOADED: the parse pool and its queue were full)',
      labelNames: ['where', 'result'],
      registers,
    });
    this.parseTime = new Histogram({
      name: 'switchyard_manifest_parse_duration_seconds',
      help: 'Time one manifest parse took where it ran (inline: the event loop was held that long; worker: the thread was)',
      labelNames: ['where'],
      buckets: WORK_BUCKETS,
      registers,
    });
    this.parseRestarts = new Counter({
      name: 'switchyard_parse_worker_restarts_total',
      help: 'Parse threads replaced: timeout (a parse past limits.parse.timeout was terminated), oom (past limits.parse.workerHeapBytes), crash',
      labelNames: ['reason'],
      registers,
    });
    const pool = () => this.parsePool();
    new Gauge({
      name: 'switchyard_parse_queue_depth',
      help: 'Manifest parses waiting for a parse thread (at most limits.parse.maxQueued)',
      registers,
      aggregator: 'sum',
      collect() {
        this.set(pool().queued);
      },
    });
    new Gauge({
      name: 'switchyard_parse_workers',
      help: 'Parse threads alive, by state: busy (parsing) or idle (starting or waiting for work)',
      labelNames: ['state'],
      registers,
      aggregator: 'sum',
      collect() {
        const s = pool();
        this.set({ state: 'busy' }, s.busy);
        this.set({ state: 'idle' }, s.workers - s.busy);
      },
    });
    new Gauge({
      name: 'switchyard_info',
      help: 'Always 1: the running version and the configured policy type as labels',
      labelNames: ['version', 'policy'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        this.set({ version: options.version ?? 'unknown', policy: options.policy?.() ?? 'unknown' }, 1);
      },
    });
    new Gauge({
      name: 'switchyard_cdn_drained',
      help: '1 while an operator has drained the CDN (switchyard_cdn_healthy is 0 then too)',
      labelNames: ['cdn'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        for (const c of snapshot()) this.set({ cdn: c.id }, c.drained ? 1 : 0);
      },
    });
    const active = options.activeSessions;
    if (active !== undefined)
      new Gauge({
        name: 'switchyard_sessions_active',
        help: `Sessions this instance saw in the last ${ACTIVE_SESSION_WINDOW_MS / 1000} s, by the CDN each was last given`,
        labelNames: ['cdn'],
        registers,
        // Each worker sees its own sessions: the fleet's (and a cluster's) count is the sum.
        aggregator: 'sum',
        collect() {
          this.reset();
          const counts = active();
          for (const c of snapshot()) this.set({ cdn: c.id }, counts.get(c.id) ?? 0);
        },
      });
    new Gauge({
      name: 'switchyard_cdn_weight',
      help: 'Configured weight of the CDN (its expected share is weight / sum of the weights)',
      labelNames: ['cdn'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        for (const c of snapshot()) this.set({ cdn: c.id }, c.weight);
      },
    });
    new Gauge({
      name: 'switchyard_cdn_healthy',
      help: '1 when the CDN is healthy and not drained',
      labelNames: ['cdn'],
      registers,
      // Workers share the primary's verdicts: healthy only when every worker sees it so.
      aggregator: 'min',
      collect() {
        this.reset(); // a CDN removed by a reload leaves the series
        for (const c of snapshot()) this.set({ cdn: c.id }, c.healthy && !c.drained ? 1 : 0);
      },
    });
    this.cmcdReports = new Counter({
      name: 'switchyard_cmcd_event_reports_total',
      help: 'CMCD event-mode reports (POST /cmcd lines) accepted, and bodies refused by reason',
      labelNames: ['outcome'],
      registers,
    });
    this.qoeSignals = new Counter({
      name: 'switchyard_qoe_signals_total',
      help: 'QoE signals published, by source (cmcd-query, cmcd-header, cmcd-event, cmsd)',
      labelNames: ['source'],
      registers,
    });
    new Gauge({
      name: 'switchyard_cdn_duress',
      help: '1 while the CDN answers its probes with CMSD duress (du)',
      labelNames: ['cdn'],
      registers,
      aggregator: 'max',
      collect() {
        for (const c of snapshot()) this.set({ cdn: c.id }, c.duress === true ? 1 : 0);
      },
    });
    const qoeRows = () => this.qoeRows();
    const qoeGauge = (name: string, help: string, pick: (r: QoeRow) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['cdn'],
        registers,
        aggregator: 'max',
        collect() {
          this.reset();
          for (const r of qoeRows()) this.set({ cdn: r.cdn }, pick(r));
        },
      });
    qoeGauge(
      'switchyard_qoe_sessions',
      'Sessions voting on the CDN in the QoE windows (fleet-wide)',
      (r) => r.sessions,
    );
    qoeGauge(
      'switchyard_qoe_good_share',
      'Share of voting sessions that did not suffer on the CDN, 0..1',
      (r) => r.goodShare,
    );
    qoeGauge(
      'switchyard_qoe_segment_error_rate',
      'Failed / requested media segments players reported',
      (r) => r.errorRate,
    );
    qoeGauge(
      'switchyard_qoe_rebuffer_ratio',
      'Rebuffering / (rebuffering + playing) time players reported',
      (r) => r.rebufferRatio,
    );
    new Gauge({
      name: 'switchyard_cdn_share',
      help: 'Fraction of recent segment-placing decisions that went to the CDN',
      labelNames: ['cdn'],
      registers,
      aggregator: 'average',
      collect() {
        this.reset(); // a CDN removed by a reload leaves the series
        for (const c of snapshot()) this.set({ cdn: c.id }, c.share);
      },
    });
    new Gauge({
      name: 'switchyard_cdn_probe_error_rate',
      help: 'Recent probe failure rate of the CDN, 0..1',
      labelNames: ['cdn'],
      registers,
      aggregator: 'average',
      collect() {
        this.reset(); // a CDN removed by a reload leaves the series
        for (const c of snapshot()) this.set({ cdn: c.id }, c.errorRate);
      },
    });
  }

  request(route: RouteKind, status: number, seconds: number): void {
    this.requestCounts[route]++;
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  cacheLookup(outcome: CacheOutcomeLabel): void {
    this.cacheCounts[outcome]++;
    this.cache.inc({ outcome });
  }

  originFetch(origin: string, result: string, seconds: number): void {
    this.originFetches.inc({ origin, result });
    this.originLatency.observe({ origin }, seconds);
  }

  /** `cdnIds`: the configured CDNs, so a reason that starts with one (a custom policy's) is `other`. */
  selection(cdn: string, reason: string, cdnIds?: CdnIdSet): void {
    this.selections.inc({ cdn, reason: reasonKind(reason, cdnIds) });
  }

  switched(from: string, to: string, reason: string, cdnIds?: CdnIdSet): void {
    this.switches.inc({ from, to, reason: reasonKind(reason, cdnIds) });
  }

  breakerChanged(origin: string, state: 'closed' | 'open' | 'half-open'): void {
    for (const s of ['closed', 'open', 'half-open'] as const)
      this.breaker.set({ origin, state: s }, s === state ? 1 : 0);
  }

  /**
   * A request answered before it reached a stream (404 unknown stream or route, 405, 400 bad path,
   * 414): `code` is the error code (a bounded set), never the path.
   */
  rejectedRequest(status: number, code: string): void {
    this.rejected.inc({ status: String(status), code });
  }

  /** One active health probe: latency observed when the CDN answered at all. */
  probe(cdn: string, ok: boolean, latencyMs: number | null): void {
    this.probes.inc({ cdn, result: ok ? 'ok' : 'failed' });
    if (latencyMs !== null) this.probeLatency.observe({ cdn }, latencyMs / 1000);
  }

  uncaughtError(kind: 'exception' | 'rejection'): void {
    this.uncaught.inc({ kind });
  }

  cmcdReport(outcome: CmcdReportOutcome, count = 1): void {
    this.cmcdReports.inc({ outcome }, count);
  }

  qoeSignal(source: string): void {
    this.qoeSignals.inc({ source });
  }

  decisionsWritten(sink: string, ok: boolean, records: number): void {
    this.decisions.inc({ sink, result: ok ? 'written' : 'dropped' }, records);
  }

  connectionCut(reason: ConnectionCutReason): void {
    this.cutCounts[reason]++;
    this.cut.inc({ reason });
  }

  manifestParsed(where: ParseWhere, result: string, seconds: number | undefined): void {
    this.parses.inc({ where, result });
    if (seconds !== undefined) this.parseTime.observe({ where }, seconds);
  }

  parseWorkerRestart(reason: RestartReason): void {
    this.parseRestarts.inc({ reason });
  }

  shedRequest(route: RouteKind): void {
    this.shedCount++;
    this.shed.inc({ route });
  }

  configReload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'ok' : 'failed' });
    this.reloadOk.set(ok ? 1 : 0);
  }
}

/**
 * "weighted: rendezvous" → "weighted", "rules eu: weighted: …" → "rules", "stayed on a: c does not
 * serve …" → "stayed": the reason's first word, so no CDN id, rule label or figure reaches a label.
 */
export function reasonKind(reason: string, cdnIds?: CdnIdSet): string {
  const word = /^[A-Za-z][A-Za-z0-9_-]*/.exec(reason.trimStart());
  // A custom policy may start its reason with a CDN's id ("b is cheapest"): never a label value.
  if (word === null || cdnIds?.has(word[0]) === true) return 'other';
  return word[0].slice(0, 32).toLowerCase();
}

/** The configured CDN ids, as the live config state holds them. */
export interface CdnIdSet {
  has(id: string): boolean;
}
