import { LRUCache } from 'lru-cache';
import { SwitchyardError } from '../errors';
import type { OriginClient, OriginResponse } from './client';

export interface Cached<T> {
  readonly value: T;
  /** When the origin answered (ms since epoch): the Age header counts from here. */
  readonly fetchedAt: number;
  readonly ttlMs: number;
  /** Served past its TTL because the origin failed. */
  readonly stale: boolean;
  readonly error?: SwitchyardError;
}

export type CacheOutcome = 'hit' | 'miss' | 'coalesced' | 'stale';

export interface ManifestCacheOptions<T> {
  client: Pick<OriginClient, 'fetch'>;
  maxEntries: number;
  /** Budget of the whole cache in (estimated) bytes: least recently used entries go first. */
  maxBytes?: number;
  /** Estimated bytes one value holds in memory (with maxBytes). */
  sizeOf?(value: T): number;
  /** How long past its expiry a copy may still be served while the origin fails. */
  maxStaleMs: number;
  /** How long a stale copy is served before the origin is asked again. */
  errorRetryMs: number;
  /**
   * Turns an origin answer into the cached value and its TTL (ms), at once or later (a parse in a
   * worker thread). May throw (or reject with) SwitchyardError. `partition` is the caller's opaque tag
   * for the entry (two partitions never share one); `url` is the URL the entry is cached under, as
   * asked (its query included, whatever redirects followed).
   */
  load(
    response: OriginResponse,
    partition: string,
    url: string,
  ): { value: T; ttlMs: number } | Promise<{ value: T; ttlMs: number }>;
  /** Observes every lookup (metrics) and origin fetch. */
  onLookup?(outcome: CacheOutcome, url: string): void;
  onOriginFetch?(url: string, result: { ok: boolean; durationMs: number; error?: SwitchyardError }): void;
  now?(): number;
}

/**
 * Failures worth bridging with a stale copy: an unreachable, slow or erroring origin, and one that
 * blips out a truncated or garbled manifest. A 404 says the manifest is gone: that is passed on.
 */
function isTransient(err: SwitchyardError): boolean {
  return err.code !== 'ORIGIN_NOT_FOUND' && err.code !== 'ORIGIN_NOT_ALLOWED';
}

interface FetchContext {
  holdMs: number;
  url: string;
  partition: string;
}

/**
 * Parsed manifests by origin URL. Concurrent misses for one URL share a single origin fetch
 * (lru-cache fetchMethod); TTLs come from `load`; a failing origin is answered from a stale copy for
 * at most maxStaleMs past expiry, retried every errorRetryMs, then the error goes to the player.
 */
export class ManifestCache<T> {
  private readonly lru: LRUCache<string, Cached<T>, FetchContext>;
  private readonly now: () => number;

  constructor(private readonly opts: ManifestCacheOptions<T>) {
    this.now = opts.now ?? Date.now;
    this.lru = new LRUCache<string, Cached<T>, FetchContext>({
      max: opts.maxEntries,
      ...(opts.maxBytes !== undefined && opts.sizeOf !== undefined
        ? {
            maxSize: opts.maxBytes,
            sizeCalculation: (entry: Cached<T>) =>
              Math.max(1, Math.ceil((opts.sizeOf as (value: T) => number)(entry.value))),
          }
        : {}),
      ttl: 1000,
      allowStale: false,
      noDeleteOnStaleGet: true,
      perf: { now: () => this.now() },
      // lru-cache otherwise reuses one reading of the clock for 1 ms of real time (a timer), so an
      // injected clock that jumps (tests, simulations) was ignored until real time moved on.
      ttlResolution: 0,
      fetchMethod: (_key, staleValue, { options, context }) => this.fill(staleValue, options, context),
      // A fill is never cancelled: its waiters get what the origin and load() give. lru-cache aborts a
      // fill whose placeholder leaves the cache (the byte budget evicting it while other fills land,
      // delete, clear on a config reload) and would fail its waiters with "evicted"; ignored, the
      // fill still answers them and is simply not stored if its slot is gone.
      ignoreFetchAbort: true,
    });
  }

  async get(url: string, options: { holdMs?: number; partition?: string } = {}): Promise<Cached<T>> {
    const status: LRUCache.Status<string, Cached<T>, FetchContext> = {};
    const partition = options.partition ?? '';
    const cached = await this.lru.fetch(partition + '\n' + url, {
      status,
      context: { holdMs: options.holdMs ?? 0, url, partition },
    });
    // fetch() resolves undefined only for an aborted fill without a value; fills ignore aborts.
    if (cached === undefined) throw new SwitchyardError('INTERNAL', 'cache fill was aborted');
    const outcome: CacheOutcome = cached.stale
      ? 'stale'
      : status.fetch === 'hit'
        ? 'hit'
        : status.fetch === 'inflight'
          ? 'coalesced'
          : 'miss';
    this.opts.onLookup?.(outcome, url);
    return cached;
  }

  /**
   * The entry when it is fresh, synchronously (the hot path answers cache hits without a promise);
   * undefined when it is missing, expiring, stale or being fetched: then get() does the work.
   */
  peekFresh(url: string, partition = ''): Cached<T> | undefined {
    const cached = this.lru.get(partition + '\n' + url);
    if (cached === undefined || cached.stale) return undefined;
    this.opts.onLookup?.('hit', url);
    return cached;
  }

  /** The entry whatever its age (stale, expired, being refetched), without counting a lookup. */
  peekAny(url: string, partition = ''): Cached<T> | undefined {
    return this.lru.get(partition + '\n' + url, { allowStale: true });
  }

  get size(): number {
    return this.lru.size;
  }

  /** Estimated bytes held (0 without a byte budget). */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  clear(): void {
    this.lru.clear();
  }

  private async fill(
    staleValue: Cached<T> | undefined,
    options: LRUCache.FetcherFetchOptions<string, Cached<T>, FetchContext>,
    context: FetchContext,
  ): Promise<Cached<T>> {
    const { url, partition } = context;
    const started = this.now();
    try {
      const response = await this.opts.client.fetch(url, { holdMs: context.holdMs });
      const { value, ttlMs } = await this.opts.load(response, partition, url);
      options.ttl = Math.max(1, Math.round(ttlMs));
      this.opts.onOriginFetch?.(url, { ok: true, durationMs: this.now() - started });
      return { value, fetchedAt: response.fetchedAt, ttlMs, stale: false };
    } catch (thrown) {
      const err =
        thrown instanceof SwitchyardError
          ? thrown
          : new SwitchyardError('INTERNAL', 'manifest load failed', { cause: thrown });
      this.opts.onOriginFetch?.(url, { ok: false, durationMs: this.now() - started, error: err });
      if (staleValue && isTransient(err)) {
        const expiredFor = this.now() - (staleValue.fetchedAt + staleValue.ttlMs);
        if (expiredFor <= this.opts.maxStaleMs) {
          options.ttl = Math.max(1, Math.min(this.opts.errorRetryMs, this.opts.maxStaleMs - expiredFor + 1));
          return { ...staleValue, stale: true, error: err };
        }
      }
      throw err;
    }
  }
}
