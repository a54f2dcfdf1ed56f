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
import { manifestBytes, manifestTtl, parseManifest, type ParsedManifest } from '../manifest/load';
import { Metrics, type QoeRow } from '../metrics';
import { LRUCache } from 'lru-cache';
import { SegmentAvailability } from '../health/segment-check';
import type { CdnView } from '../policy/types';
import { PerClientLimit } from './blocking';
import { CdnSigners } from '../signing/cdn-signers';
import { QoeSignalBus } from '../qoe/signals';
import { QoeReader } from '../qoe/reader';
import { qoeKey, toEstimate, type QoeWindowSettings } from '../qoe/aggregate';

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
}

/** How long a computed set of CDN views serves decisions (shares move slowly; health changes reset it). */
const VIEWS_MAX_AGE_MS = 100;

export interface SwitchEvent {
  readonly at: number;
  readonly session: string;
  readonly stream: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

const MAX_SWITCH_EVENTS = 200;

export interface RuntimeOptions {
  logger: Logger;
  policies?: PolicyRegistry;
  prober?: Prober;
  now?: () => number;
  /** Process metrics (CPU, memory, event loop) in /metrics; off for several instances in one process. */
  defaultMetrics?: boolean;
  /** The shared state store to use instead of the one the config names (cluster workers). */
  stateStore?: (config: Config, deps: StateStoreDeps) => StateStore;
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

  constructor(config: Config, options: RuntimeOptions) {
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.policies = options.policies ?? builtinPolicies();
    this.monitor = new HealthMonitor(
      options.prober ?? httpProber(this.probeAgent),
      (change) =>
        this.logger.warn(
          { event: 'cdn_health', cdn: change.id, healthy: change.healthy, reason: change.reason },
          'CDN health changed',
        ),
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
        })),
      { defaultMetrics: options.defaultMetrics },
    );
    const deps = { logger: this.logger, now: this.now, registry: this.metrics.registry };
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
    this.apply(config);
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
    this.apply(config);
    this.lastReloadError = null;
    this.metrics.configReload(true);
    this.logger.info({ event: 'config_reload', ok: true, version: this.current.version }, 'config applied');
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

  recordSwitch(input: Omit<SwitchEvent, 'at'> & { requestId?: string }): void {
    const { requestId, ...event } = input;
    const full = { at: this.now(), ...event };
    this.recentSwitches.push(full);
    this.metrics.switched(event.from, event.to, event.reason);
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
        reason: event.reason,
      },
      'session switched CDN',
    );
  }

  private apply(config: Config): void {
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
    const cacheKey = JSON.stringify([config.cache, originKey]);
    const prevCacheKey = previous ? JSON.stringify([previous.config.cache, prevOriginKey]) : '';
    if (cacheKey !== prevCacheKey) this.cacheInstance = this.makeCache(config);

    this.monitor.setCdns(monitoredCdns(config));
    this.store.qoe.configure(qoeWindowSettings(config));
    this.qoeReader.configure(config);

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
      urlSigners: new CdnSigners({
        cdns: config.cdns,
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
      load: (response, originBase) => {
        const value = parseManifest(response.body, response.url, originBase, response.contentType);
        for (const [url, bps] of value.info.variantBandwidths ?? []) this.variantBandwidth.set(url, bps);
        return { value, ttlMs: manifestTtl(value.info, config.cache, response.cacheControl) };
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

  /** Circuit breaker state of each configured origin (scheme://host:port). */
  originCircuits(): { origin: string; state: string }[] {
    const origins = new Set(this.current.config.streams.map((s) => new URL(s.origin).origin));
    return [...origins].map((origin) => ({
      origin: originHost(origin),
      state: this.client.breakerState(origin),
    }));
  }

  start(): void {
    this.monitor.start();
    this.store.start();
  }

  async close(): Promise<void> {
    this.monitor.stop();
    await this.store.close();
    await Promise.all([this.client.close(), this.segments.close(), this.probeAgent.close()]);
  }
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
