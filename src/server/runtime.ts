import path from 'node:path';
import { ListingHistory } from './delivery/listings';
import type { Logger } from 'pino';
import { cdnPrefix, type Config, type CdnConfig, type StreamConfig } from '../config/schema';
import { TokenSigner } from '../session/token';
import { builtinPolicies, type PolicyRegistry } from '../policy/registry';
import type { CdnSelectionPolicy } from '../policy/types';
import { Agent } from 'undici';
import { HealthMonitor, httpProber, type MonitoredCdn, type Prober } from '../health/monitor';
import type { SelectionCounter } from '../state/share';
import { configHash, createStateStore, type StateStore, type StateStoreDeps } from '../state';
import { createPolicyState, type SharedPolicyState } from '../state/policy-state';
import { OriginClient } from '../origin/client';
import { ManifestCache } from '../origin/cache';
import { manifestBytes, manifestTtl, type ParsedManifest } from '../manifest/load';
import { autoWorkers, ManifestParsing, type ParseSettings } from '../parse-pool/parsing';
import { ACTIVE_SESSION_WINDOW_MS, Metrics, reasonKind, type QoeRow } from '../metrics';
import { LRUCache } from 'lru-cache';
import { SegmentAvailability } from '../health/segment-check';
import type { CdnView } from '../policy/types';
import { cachedAnswerTtl, PerClientLimit } from './blocking';
import { CdnSigners } from '../signing/cdn-signers';
import { QoeSignalBus } from '../qoe/signals';
import { QoeReader } from '../qoe/reader';
import { qoeKey, toEstimate, type QoeWindowSettings } from '../qoe/aggregate';
import { DecisionLog, type DecisionLogOptions, type DecisionSink } from '../decisions/log';
import { routedHeaders } from '../decisions/record';
import { FileSink } from '../decisions/file-sink';
import { RedisSink } from '../decisions/redis-sink';
import { readCandidate, type Candidate } from '../rollout/candidate';
import { RolloutController } from '../rollout/controller';
import { rename, writeFile } from 'node:fs/promises';
import { defaultHeapBudget, HeapGuard } from './heap';
import { version as packageVersion } from '../version';
import { RetryMemory } from './delivery/retry-memory';
import type { SignerRegistry } from '../signing/registry';

/** Everything derived from one config; swapped as a whole on reload, so a request sees one config. */
export interface ConfigState {
  readonly config: Config;
  readonly version: number;
  readonly loadedAt: number;
  readonly signer: TokenSigner;
  readonly policy: CdnSelectionPolicy;
  readonly streams: ReadonlyMap<string, StreamConfig>;
  readonly cdns: ReadonlyMap<string, CdnConfig>;
  /** `<cdn baseUrl><pathTemplate before {path}>` per stream id, per CDN id. */
  readonly cdnPrefixes: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Base URL (ending in '/') of Switchyard's own URIs in manifests: absolute, or '/' (root-relative). */
  readonly publicBase: string;
  /** Headers every player response carries (CORS, nosniff), built once per config. */
  readonly playerHeaders: Readonly<Record<string, string>>;
  /** Per-CDN URL signing (token authentication) and its per-epoch caches. */
  readonly urlSigners: CdnSigners;
  /** Request headers the decision log keeps (the ones this config's policies route on). */
  readonly recordedHeaders: readonly string[];
}

/** How long a computed set of CDN views serves decisions (shares move slowly; health changes reset it). */
const VIEWS_MAX_AGE_MS = 100;

export interface SwitchEvent {
  readonly at: number;
  readonly session: string;
  readonly stream: string;
  readonly from: string;
  readonly to: string;
  /**
   * Why, for people: what was wrong with `from` when it was left ("a unhealthy: 2 probes failed:
   * ECONNREFUSED", "a drained by alice"), then the policy's own reason ("weighted: rendezvous").
   */
  readonly reason: string;
  /** unhealthy | drained | the policy reason's first word: the bounded kind metrics count. */
  readonly kind: string;
}

/** One point of the status page's chart: per CDN, active sessions, decision share and health. */
export interface StatusSample {
  readonly at: number;
  readonly cdns: readonly {
    readonly id: string;
    readonly sessions: number;
    readonly share: number;
    readonly healthy: boolean;
  }[];
}

/** The status page's history: a sample every 2 s for the last 5 minutes (150 points). */
export const STATUS_SAMPLE_MS = 2_000;
export const STATUS_HISTORY_MS = 300_000;

/** An operator's drain of a CDN on this instance: who (the X-Switchyard-Operator header) and when. */
export interface DrainRecord {
  readonly by: string;
  readonly at: number;
}

const MAX_SWITCH_EVENTS = 200;

/** A stream served within this window has live viewers, for the removal warning of a reload. */
const LIVE_STREAM_WINDOW_MS = 5 * 60_000;

export interface RuntimeOptions {
  logger: Logger;
  /** Policies the config may name (`policy: { type }`); default: the built-ins. */
  policies?: PolicyRegistry;
  /** URL signers the config may name (`cdns[].auth.scheme`) besides the built-in schemes. */
  signers?: SignerRegistry;
  prober?: Prober;
  now?: () => number;
  /** Process metrics (CPU, memory, event loop) in /metrics; off for several instances in one process. */
  defaultMetrics?: boolean;
  /** The shared state store to use instead of the one the config names (cluster workers). */
  stateStore?: (config: Config, deps: StateStoreDeps) => StateStore;
  /**
   * Set in a cluster worker: its decision log file gets `.w<id>` before the extension, so workers
   * never rotate one another's file.
   */
  workerId?: number;
}

/** The CDNs of a config as the health monitor probes them. */
export function monitoredCdns(config: Config): MonitoredCdn[] {
  return config.cdns.map((c) => ({
    id: c.id,
    baseUrl: c.baseUrl,
    weight: c.weight,
    tags: c.tags,
    probe: { ...config.health, ...c.health },
  }));
}

export { cdnPrefix } from '../config/schema';

/** The aggregation settings of a config's `qoe` section. */
export function qoeWindowSettings(config: Config): Partial<QoeWindowSettings> {
  const q = config.qoe;
  return {
    windowMs: q.window,
    windows: q.windows,
    minSessions: q.minSessions,
    sessionsPerClient: q.sessionsPerClient,
    duressMinSessions: q.duressMinSessions,
    throughputMargin: q.throughputMargin,
  };
}

/**
 * The long-lived parts of a Switchyard instance (origin connections, manifest cache, health monitor,
 * selection shares) and the current config state, which reload() replaces atomically.
 */
export class Runtime {
  readonly logger: Logger;
  readonly monitor: HealthMonitor;
  /** Recent selections per CDN (over the fleet with a shared state store). */
  readonly share: SelectionCounter;
  /** State shared with the other instances (in-process only by default). */
  readonly store: StateStore;
  readonly policies: PolicyRegistry;
  readonly signers: SignerRegistry | undefined;
  /** Session memory, volume ledger and scores every config's policy is built over (the store's). */
  readonly policyState: SharedPolicyState;
  readonly now: () => number;
  private current!: ConfigState;
  private client!: OriginClient;
  private cacheInstance!: ManifestCache<ParsedManifest>;
  private version = 0;
  /** Set when the last reload attempt failed: what an operator sees on /admin/config. */
  lastReloadError: { at: number; message: string } | null = null;
  /** The most recent CDN switches, newest last (bounded). */
  readonly recentSwitches: SwitchEvent[] = [];
  /** Drains made through this instance's admin API, by CDN id (a peer's drain arrives without one). */
  readonly drains = new Map<string, DrainRecord>();
  /** The reason of each CDN's latest health verdict ("2 probes failed: ECONNREFUSED"). */
  readonly verdicts = new Map<string, { healthy: boolean; reason: string; at: number }>();
  /** The last five minutes of per-CDN sessions and shares, oldest first (the status page's chart). */
  readonly history: StatusSample[] = [];
  private sampler: NodeJS.Timeout | undefined;
  /** Where the config came from, when it came from a file. */
  configSource: string | undefined;
  /**
   * The text of /metrics: this process's registry, or (cluster workers) every worker's, aggregated by
   * the primary.
   */
  metricsText: () => Promise<string> = () => this.metrics.registry.metrics();
  readonly metrics: Metrics;
  /** Live switches wait until the new CDN serves the playlist's newest segment. */
  readonly segments = new SegmentAvailability();
  /** When each live media playlist version was first rendered: bounds what a moving session holds. */
  readonly listings = new ListingHistory();
  /** LL-HLS blocking reloads in flight per client address (capped by limits.blockingPerClient). */
  readonly blockingClients = new PerClientLimit();
  /** Heap above limits.heapBudget: new manifest work is shed (503 OVERLOADED). */
  readonly heap: HeapGuard;
  private readonly fallbackHeapBudget = defaultHeapBudget();
  /** Big manifests are parsed in worker threads (limits.parse), small ones inline. */
  readonly parsing: ManifestParsing;
  /** Stream id → when a manifest of it was last served (for the removal warning of a reload). */
  private readonly lastServed = new Map<string, number>();
  /** Redirect mode: where each session's recent segments were sent, to see its retries. */
  readonly redirectRetries = new RetryMemory();
  /** Variant playlist URL → BANDWIDTH from the masters seen, for delivered-volume estimates (cost). */
  readonly variantBandwidth = new LRUCache<string, number>({ max: 20_000 });
  private views: { at: number; version: number; views: CdnView[] } | undefined;
  /** Connections of the health probes: closed with the runtime so no socket outlives it. */
  private readonly probeAgent = new Agent({ keepAliveTimeout: 5_000, connections: 4 });
  /**
   * Every QoE observation (CMCD from players in any transmission mode, CMSD from CDNs), for whoever
   * subscribes: the fleet's QoE aggregates (the qoe policy reads them) and rollout guards.
   */
  readonly qoeSignals = new QoeSignalBus();
  /** Turns CMCD/CMSD into signals on qoeSignals (src/qoe/reader.ts). */
  readonly qoeReader: QoeReader;
  /** Sampled decisions: the recent window in memory, and the configured file / Redis stream. */
  readonly decisions: DecisionLog;
  private decisionSinksKey = '';
  private readonly workerId: number | undefined;
  /** The current config's rollout, or the last one (finished rollouts stay for /admin/rollout). */
  private rolloutCtl: RolloutController | undefined;
  /** Rollouts that ended (aborted, promoted) by id: the same rollout is not started again by a reload. */
  private readonly finishedRollouts = new Map<string, RolloutController>();
  private started = false;

  constructor(config: Config, options: RuntimeOptions) {
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.policies = options.policies ?? builtinPolicies();
    this.signers = options.signers;
    this.monitor = new HealthMonitor(
      options.prober ?? httpProber(this.probeAgent),
      // A CDN going down is a warning; its recovery is good news, logged at info.
      (change) => {
        this.verdicts.set(change.id, { healthy: change.healthy, reason: change.reason, at: this.now() });
        this.logger[change.healthy ? 'info' : 'warn'](
          { event: 'cdn_health', cdn: change.id, healthy: change.healthy, reason: change.reason },
          change.healthy ? 'CDN healthy again' : 'CDN unhealthy',
        );
      },
      this.now,
    );
    this.metrics = new Metrics(
      () =>
        this.monitor.views(this.share.shares(this.now())).map((v) => ({
          id: v.id,
          healthy: v.healthy,
          drained: this.monitor.health(v.id)?.drained ?? false,
          share: v.share,
          errorRate: v.errorRate,
          duress: v.duress === true,
          weight: v.weight,
        })),
      {
        defaultMetrics: options.defaultMetrics,
        version: packageVersion,
        policy: () => policyType(this.current.config.policy),
        activeSessions: () => this.activeSessions(),
      },
    );
    this.monitor.onProbe = (id, result) => this.metrics.probe(id, result.ok, result.latencyMs);
    const deps = {
      logger: this.logger,
      now: this.now,
      registry: this.metrics.registry,
      sessions: { max: config.state.maxSessions },
    };
    this.store = options.stateStore ? options.stateStore(config, deps) : createStateStore(config.state, deps);
    this.share = this.store.selections;
    this.policyState = createPolicyState({
      sessions: this.store.sessions,
      ledger: this.store.ledger,
      qoe: this.store.qoe,
    });
    this.store.attachHealth(this.monitor);
    this.qoeReader = new QoeReader(
      { bus: this.qoeSignals, sessionCdn: (id, now) => this.store.sessions.get(id, now)?.cdn },
      config,
    );
    this.qoeSignals.subscribe((signal) => {
      this.store.qoe.record(signal);
      this.metrics.qoeSignal(signal.source);
    });
    this.metrics.qoeRows = () => this.qoeSummary(this.now());
    this.monitor.onCmsd = (id, at, cmsd, latencyMs) => this.qoeReader.fromProbe(id, at, cmsd, latencyMs);
    this.workerId = options.workerId;
    this.metrics.rolloutSource = () => this.rolloutCtl?.snapshot();
    this.decisions = new DecisionLog(this.decisionLogOptions(config));
    this.heap = new HeapGuard(() => this.current.config.limits.heapBudget ?? this.fallbackHeapBudget);
    this.parsing = new ManifestParsing(parseSettings(config), {
      parsed: (where, result, seconds) => this.metrics.manifestParsed(where, result, seconds),
      onRestart: (reason, detail) => {
        this.metrics.parseWorkerRestart(reason);
        this.logger.warn(
          { event: 'parse_worker_restart', reason, detail },
          reason === 'timeout'
            ? 'manifest parse past its time budget: worker terminated and replaced'
            : 'manifest parse worker died and was replaced',
        );
      },
      onUnavailable: (error) =>
        this.logger.error(
          { event: 'parse_pool_unavailable', error },
          'manifest parse workers cannot start: every manifest is parsed on the main thread',
        ),
    });
    this.metrics.parsePool = () => this.parsing.stats();
    this.apply(config);
  }

  private decisionLogOptions(config: Config): DecisionLogOptions {
    return {
      sample: config.decisions.sample,
      recent: config.decisions.recent,
      flushIntervalMs: config.decisions.flushInterval,
      onBatch: (sink, ok, records) => this.metrics.decisionsWritten(sink, ok, records),
    };
  }

  /** The decision log's settings, and new sinks when where they write changed. */
  private configureDecisions(config: Config): void {
    const { file, redis } = config.decisions;
    const key = JSON.stringify([file, redis, redis ? [config.state.url, config.state.keyPrefix] : null]);
    let sinks: DecisionSink[] | undefined;
    if (key !== this.decisionSinksKey) {
      this.decisionSinksKey = key;
      sinks = [];
      const warn = (sink: string) => (err: Error) =>
        this.logger.warn(
          { event: 'decision_log_error', sink, error: err.message },
          'decision log cannot write; decisions are dropped until it can',
        );
      if (file) {
        sinks.push(
          new FileSink({
            path: workerFile(file.path, this.workerId),
            maxBytes: file.maxBytes,
            keep: file.keep,
            onError: warn('file'),
          }),
        );
      }
      if (redis && config.state.backend === 'redis') {
        sinks.push(
          new RedisSink({
            url: config.state.url,
            cluster: config.state.cluster,
            key: config.state.keyPrefix + redis.stream,
            maxLen: redis.maxLen,
            commandTimeout: config.state.commandTimeout,
            connectTimeout: config.state.connectTimeout,
            onError: warn('redis'),
          }),
        );
      }
    }
    void this.decisions.reconfigure(this.decisionLogOptions(config), sinks);
  }

  /**
   * The CDNs as policies see them. Rebuilt at most every 100 ms, and at once after any health verdict,
   * drain or reload: decisions on the hot path do not each recompute shares and views.
   */
  cdnViews(now: number): readonly CdnView[] {
    const cached = this.views;
    if (
      cached &&
      cached.version === this.monitor.version &&
      now - cached.at < VIEWS_MAX_AGE_MS &&
      now >= cached.at
    ) {
      return cached.views;
    }
    const views = this.monitor.views(this.share.shares(now));
    this.views = { at: now, version: this.monitor.version, views };
    return views;
  }

  /** Each configured CDN's fleet-wide QoE over the covered windows (every viewer, any sample size). */
  /**
   * Each CDN's QoE score (share of voting sessions that did not suffer, fleet-wide) where enough
   * sessions voted (qoe.minSessions): what the decision log records beside the CDN views.
   */
  qoeScores(now: number): Map<string, number> {
    const min = this.current.config.qoe.minSessions;
    const out = new Map<string, number>();
    for (const row of this.qoeSummary(now)) if (row.sessions >= min) out.set(row.cdn, row.goodShare);
    return out;
  }

  qoeSummary(now: number): QoeRow[] {
    return [...this.current.cdns.keys()].map((cdn) => {
      const e = toEstimate(this.store.qoe.tally(qoeKey(cdn), now), 'all');
      return {
        cdn,
        sessions: e.sessions,
        goodShare: e.goodShare,
        errorRate: e.errorRate,
        rebufferRatio: e.rebufferRatio,
      };
    });
  }

  get state(): ConfigState {
    return this.current;
  }

  get cache(): ManifestCache<ParsedManifest> {
    return this.cacheInstance;
  }

  /** Validated config in, new state out; on error the old state keeps serving. */
  reload(config: Config): void {
    if (JSON.stringify(config.state) !== JSON.stringify(this.current.config.state))
      this.logger.warn({ event: 'config_reload' }, 'state store settings change at the next restart');
    this.warnRemovals(config);
    this.apply(config);
    this.heap.invalidate();
    this.lastReloadError = null;
    this.metrics.configReload(true);
    this.logger.info({ event: 'config_reload', ok: true, version: this.current.version }, 'config applied');
  }

  /** A manifest of this stream was served now: its viewers count as live for a reload's diff. */
  noteServed(streamId: string, now: number): void {
    this.lastServed.set(streamId, now);
  }

  /**
   * A reload that removes CDNs or streams is logged with the diff: as a warning when a removed one
   * still has viewers (a CDN with a share of recent decisions, a stream served within the last five
   * minutes) or when it leaves a single CDN or stream of several (a config cut short looks like that).
   */
  private warnRemovals(next: Config): void {
    const before = this.current.config;
    const now = this.now();
    const nextCdns = new Set(next.cdns.map((c) => c.id));
    const nextStreams = new Set(next.streams.map((s) => s.id));
    const removedCdns = before.cdns.map((c) => c.id).filter((id) => !nextCdns.has(id));
    const removedStreams = before.streams.map((s) => s.id).filter((id) => !nextStreams.has(id));
    if (removedCdns.length === 0 && removedStreams.length === 0) return;
    const shares = this.share.shares(now);
    const liveCdns = removedCdns.filter((id) => (shares.get(id) ?? 0) > 0);
    const liveStreams = removedStreams.filter((id) => {
      const at = this.lastServed.get(id);
      return at !== undefined && now - at <= LIVE_STREAM_WINDOW_MS;
    });
    const allButOne =
      (before.cdns.length > 1 && next.cdns.length === 1 && removedCdns.length > 0) ||
      (before.streams.length > 1 && next.streams.length === 1 && removedStreams.length > 0);
    const loud = liveCdns.length > 0 || liveStreams.length > 0 || allButOne;
    const diff = {
      event: 'config_removal',
      removedCdns,
      removedStreams,
      liveCdns,
      liveStreams,
      cdns: { before: before.cdns.length, after: next.cdns.length },
      streams: { before: before.streams.length, after: next.streams.length },
    };
    if (loud)
      this.logger.warn(
        diff,
        liveCdns.length > 0 || liveStreams.length > 0
          ? 'config reload removes CDNs or streams that viewers are using now'
          : 'config reload removes all but one CDN or stream',
      );
    else this.logger.info(diff, 'config reload removes CDNs or streams');
    for (const id of removedStreams) this.lastServed.delete(id);
  }

  /** A rejected reload: logged with every field path, kept for /admin/config. */
  reloadFailed(err: Error): void {
    this.lastReloadError = { at: this.now(), message: err.message };
    this.metrics.configReload(false);
    this.logger.error(
      { event: 'config_reload', ok: false, version: this.current.version, error: err.message },
      'config rejected; the previous config keeps serving',
    );
  }

  /**
   * What was wrong with a CDN a session left, if anything: drained (by whom) or unhealthy (the last
   * verdict's reason). Undefined when it was healthy (the policy moved the session for its own reason).
   */
  leaveCause(cdn: string): { kind: 'drained' | 'unhealthy'; text: string } | undefined {
    const h = this.monitor.health(cdn);
    if (h === undefined) return undefined;
    if (h.drained) {
      const d = this.drains.get(cdn);
      return {
        kind: 'drained',
        text: `${cdn} drained by ${d === undefined ? 'an operator (on another instance)' : d.by}`,
      };
    }
    if (!h.healthy) {
      const v = this.verdicts.get(cdn);
      const why = v !== undefined && !v.healthy ? v.reason : (h.lastError ?? 'probes failed');
      return { kind: 'unhealthy', text: `${cdn} unhealthy: ${why}` };
    }
    return undefined;
  }

  recordSwitch(input: Omit<SwitchEvent, 'at' | 'kind'> & { requestId?: string }): void {
    const { requestId, ...event } = input;
    const cause = this.leaveCause(event.from);
    const full: SwitchEvent = {
      at: this.now(),
      ...event,
      reason: cause === undefined ? event.reason : `${cause.text}; ${event.reason}`,
      kind: cause?.kind ?? reasonKind(event.reason, this.state.cdns),
    };
    this.recentSwitches.push(full);
    this.metrics.switched(event.from, event.to, full.kind);
    if (this.recentSwitches.length > MAX_SWITCH_EVENTS)
      this.recentSwitches.splice(0, this.recentSwitches.length - MAX_SWITCH_EVENTS);
    this.logger.info(
      {
        event: 'cdn_switch',
        ...(requestId === undefined ? {} : { requestId }),
        session: event.session,
        stream: event.stream,
        from: event.from,
        to: event.to,
        reason: full.reason,
      },
      'session switched CDN',
    );
  }

  private apply(config: Config): void {
    // The candidate is read and checked before anything changes: a bad one rejects the whole config.
    const candidate = readCandidate(config, this.policies, this.signers);
    const cdnIds = config.cdns.map((c) => c.id);
    const policy = this.policies.create(config.policy, cdnIds, ['policy'], { state: this.policyState });
    const signer = new TokenSigner(config.secrets, config.session.maxAge);
    const previous = this.current as ConfigState | undefined;

    // Origin connections and the cache survive a reload unless what they depend on changed.
    const originKey = JSON.stringify([config.origin, config.streams.map((s) => s.origin)]);
    const prevOriginKey = previous
      ? JSON.stringify([previous.config.origin, previous.config.streams.map((s) => s.origin)])
      : '';
    if (originKey !== prevOriginKey) {
      const oldClient = previous ? this.client : undefined;
      this.client = new OriginClient({
        ...config.origin,
        allowedOrigins: config.streams.map((s) => s.origin),
        now: this.now,
        onBreaker: (origin, state) => {
          this.metrics.breakerChanged(originHost(origin), state);
          this.logger.warn(
            { event: 'origin_circuit', origin: originHost(origin), state },
            `origin circuit ${state}`,
          );
        },
      });
      void oldClient?.close();
    }
    // The cache's loader parses with the config's manifest limits: a change to those makes a new cache.
    const cacheKey = JSON.stringify([config.cache, config.limits.manifest, originKey]);
    const prevCacheKey = previous
      ? JSON.stringify([previous.config.cache, previous.config.limits.manifest, prevOriginKey])
      : '';
    if (cacheKey !== prevCacheKey) this.cacheInstance = this.makeCache(config);
    this.parsing.configure(parseSettings(config));

    this.monitor.setCdns(monitoredCdns(config));
    this.store.qoe.configure(qoeWindowSettings(config));
    this.qoeReader.configure(config);
    this.configureDecisions(config);

    const cdnPrefixes = new Map(
      config.streams.map((s) => [s.id, new Map(config.cdns.map((c) => [c.id, cdnPrefix(c, s.id)]))] as const),
    );
    this.current = {
      config,
      version: ++this.version,
      loadedAt: this.now(),
      signer,
      policy,
      streams: new Map(config.streams.map((s) => [s.id, s])),
      cdns: new Map(config.cdns.map((c) => [c.id, c])),
      cdnPrefixes,
      publicBase: config.publicUrl ?? '/',
      recordedHeaders: routedHeaders(config.policy),
      urlSigners: new CdnSigners({
        cdns: config.cdns,
        signers: this.signers,
        prefixes: cdnPrefixes,
        sessionMaxAgeMs: config.session.maxAge,
        onShortfall: (cdn, stream, shortfallMs) =>
          this.logger.warn(
            { event: 'signing_shortfall', cdn, stream, shortfallMs },
            "the CDN's token lifetime (auth.window) is shorter than players need for this stream: raise it at the CDN and in the config",
          ),
      }),
      playerHeaders: Object.freeze({
        'access-control-allow-origin': config.cors.allowOrigin,
        'access-control-expose-headers':
          'X-Switchyard-Session, X-Switchyard-Cdn, X-Switchyard-Reason, Age, Warning',
        'x-content-type-options': 'nosniff',
      }),
    };
    this.store.announceConfig(configHash(config), this.current.version);
    this.applyRollout(config, candidate);
  }

  /** The rollout running now, if any (the hot path asks this on every decision). */
  get activeRollout(): RolloutController | undefined {
    const r = this.rolloutCtl;
    return r !== undefined && r.running ? r : undefined;
  }

  /** The current or the last rollout (for /admin/rollout and the status page). */
  get rollout(): RolloutController | undefined {
    return this.rolloutCtl;
  }

  /**
   * Starts, keeps or ends the config's rollout. The same rollout (same section, same candidate text)
   * carries on across reloads with its evidence; one that already ended is not started again.
   */
  private applyRollout(config: Config, candidate: Candidate | undefined): void {
    const current = this.rolloutCtl;
    if (current !== undefined && !current.running) this.finishedRollouts.set(current.id, current);
    if (current !== undefined && current.running && current.id !== candidate?.id) {
      current.abort(
        candidate === undefined ? 'the rollout was removed from the config' : 'replaced by another rollout',
      );
      this.finishedRollouts.delete(current.id);
    }
    if (candidate === undefined || config.rollout === undefined) return;
    if (current?.id === candidate.id && current.running) return;
    const finished = this.finishedRollouts.get(candidate.id);
    if (finished !== undefined) {
      this.rolloutCtl = finished;
      this.logger.info(
        { event: 'rollout_kept', rollout: finished.id, state: finished.state },
        `rollout of ${candidate.file} already ${finished.state}: change the candidate or the rollout section to start another`,
      );
      return;
    }
    const settings = config.rollout;
    const policy = this.policies.create(
      candidate.config.policy,
      candidate.config.cdns.map((c) => c.id),
      ['rollout', 'candidate', 'policy'],
      { state: this.policyState },
    );
    const ctl = new RolloutController(candidate, settings, policy, {
      now: this.now,
      logger: this.logger,
      bus: this.qoeSignals,
      promote: (c) => this.promoteCandidate(c, settings.writeTo),
    });
    this.rolloutCtl = ctl;
    if (this.started) ctl.start();
  }

  /** Promotion: the candidate becomes the live config here, and is written where configured. */
  private promoteCandidate(candidate: Candidate, writeTo: string | undefined): void {
    this.reload(candidate.config);
    if (writeTo === undefined) {
      this.logger.warn(
        { event: 'rollout_promote', file: null },
        'the promoted config lives in memory only (no rollout.writeTo): the config file still holds the old one',
      );
      return;
    }
    const tmp = `${writeTo}.${process.pid}.tmp`;
    writeFile(tmp, candidate.text)
      .then(() => rename(tmp, writeTo))
      .then(
        () =>
          this.logger.info(
            { event: 'rollout_promote', file: writeTo },
            `promoted config written to ${writeTo}`,
          ),
        (err: unknown) =>
          this.logger.error(
            { event: 'rollout_promote', file: writeTo, error: (err as Error).message },
            'could not write the promoted config; it is live in memory only',
          ),
      );
  }

  private makeCache(config: Config): ManifestCache<ParsedManifest> {
    const client = this.client;
    return new ManifestCache<ParsedManifest>({
      client,
      maxEntries: config.cache.maxEntries,
      maxBytes: config.cache.maxBytes,
      sizeOf: manifestBytes,
      maxStaleMs: config.cache.maxStale,
      errorRetryMs: config.cache.errorRetry,
      now: this.now,
      // The partition is the requesting stream's origin base: URIs are placed relative to it.
      load: async (response, originBase, cachedAs) => {
        const value = await this.parsing.parse(
          response.body,
          response.url,
          originBase,
          response.contentType,
          config.limits.manifest,
          this.now(),
        );
        for (const [url, bps] of value.info.variantBandwidths ?? []) this.variantBandwidth.set(url, bps);
        const ttlMs = manifestTtl(value.info, config.cache, response.cacheControl);
        // An answer to a blocking reload serves every identical one for longer (./blocking).
        return {
          value,
          ttlMs: cachedAnswerTtl(cachedAs, value.info.blockingEdge, ttlMs, response.cacheControl),
        };
      },
      onLookup: (outcome) => this.metrics.cacheLookup(outcome),
      onOriginFetch: (url, result) => {
        this.metrics.originFetch(
          originHost(url),
          result.ok
            ? 'ok'
            : result.error?.details.cause === 'circuit_open'
              ? 'circuit_open'
              : (result.error?.code ?? 'error'),
          result.durationMs / 1000,
        );
        if (!result.ok) {
          this.logger.warn(
            {
              event: 'origin_error',
              url: redactQuery(url),
              code: result.error?.code,
              durationMs: result.durationMs,
            },
            result.error?.message ?? 'origin fetch failed',
          );
        }
      },
    });
  }

  /** Sessions this instance saw within ACTIVE_SESSION_WINDOW_MS, by the CDN each was last given. */
  activeSessions(): Map<string, number> {
    return this.policyState.sessions.activeByCdn(this.now(), ACTIVE_SESSION_WINDOW_MS);
  }

  /** Circuit breaker state of each configured origin (scheme://host:port). */
  originCircuits(): { origin: string; state: string }[] {
    const origins = new Set(this.current.config.streams.map((s) => new URL(s.origin).origin));
    return [...origins].map((origin) => ({
      origin: originHost(origin),
      state: this.client.breakerState(origin),
    }));
  }

  /** Appends the current per-CDN figures to `history` and drops samples older than its window. */
  sample(): StatusSample {
    const now = this.now();
    const active = this.activeSessions();
    const point: StatusSample = {
      at: now,
      cdns: this.cdnViews(now).map((v) => ({
        id: v.id,
        sessions: active.get(v.id) ?? 0,
        share: v.share,
        healthy: v.healthy,
      })),
    };
    this.history.push(point);
    while (this.history.length > 0 && (this.history[0] as StatusSample).at < now - STATUS_HISTORY_MS)
      this.history.shift();
    if (this.history.length > (STATUS_HISTORY_MS / STATUS_SAMPLE_MS) * 2) this.history.shift();
    return point;
  }

  start(): void {
    this.monitor.start();
    this.store.start();
    this.decisions.start();
    this.started = true;
    this.activeRollout?.start();
    if (this.sampler === undefined) {
      this.sample();
      this.sampler = setInterval(() => this.sample(), STATUS_SAMPLE_MS);
      this.sampler.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    this.sampler = undefined;
    this.monitor.stop();
    this.rolloutCtl?.stop();
    await this.decisions.close();
    await this.store.close();
    await Promise.all([
      this.client.close(),
      this.segments.close(),
      this.probeAgent.close(),
      this.parsing.close(),
    ]);
  }
}

/** The parse pool's settings from a config (`workers: auto` resolved for this machine). */
export function parseSettings(config: Config): ParseSettings {
  const p = config.limits.parse;
  return {
    workers: p.workers === 'auto' ? autoWorkers() : p.workers,
    offThreadBytes: p.offThreadBytes,
    maxQueued: p.maxQueued,
    timeoutMs: p.timeout,
    workerHeapBytes: p.workerHeapBytes,
  };
}

/** `decisions.jsonl` → `decisions.w3.jsonl` in cluster worker 3. */
export function workerFile(file: string, workerId: number | undefined): string {
  if (workerId === undefined) return file;
  const ext = path.extname(file);
  return file.slice(0, file.length - ext.length) + `.w${workerId}` + ext;
}

/** A policy config as a bounded label: its type, "module" for a custom one. */
function policyType(policy: Readonly<Record<string, unknown>>): string {
  return typeof policy.type === 'string' ? policy.type.slice(0, 32) : 'module';
}

function originHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid';
  }
}

/** Query strings may hold origin tokens: logs keep only the path. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q) + '?…';
}
