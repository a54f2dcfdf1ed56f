import { LRUCache } from 'lru-cache';

export interface SessionRecord {
  /** The CDN the session was last given. */
  readonly cdn: string;
  /** When it was first given that CDN (dwell time starts here). */
  readonly since: number;
  readonly lastReason: string;
  /** When the session was last seen. */
  readonly seenAt: number;
  /**
   * The CDNs the session left, newest first (at most MAX_HANDOFFS), each with where its segments end
   * in every playlist that listed some from it: what keeps a re-rendered playlist's already-listed
   * segments on the CDN they were first listed with. The policy layer only carries them along.
   */
  readonly handoffs?: readonly SessionHandoff[];
}

export interface SessionHandoff {
  readonly cdn: string;
  readonly at: number;
  /** When the session was last given a manifest before it left `cdn` (set where exactSeen holds). */
  readonly seen?: number;
  /** Opaque to policies: playlist key → first media sequence number no longer on `cdn`. */
  readonly points: Readonly<Record<string, number>>;
}

/** Moves remembered per session: more than a playlist window's worth of flapping is not kept. */
export const MAX_HANDOFFS = 8;

export interface SessionMemoryOptions {
  /** Most sessions remembered; the least recently seen go first. */
  readonly max?: number;
  /** A session not seen for this long is forgotten (a live player reloads every few seconds). */
  readonly ttlMs?: number;
  /** Clock of the cache's own TTL bookkeeping; the same clock as SelectionRequest.now. */
  readonly now?: () => number;
}

/**
 * Per-instance memory of which CDN each session has, bounded in size and age. It is an optimisation,
 * not a source of truth: sessions stay stateless (any instance serves any session), and a session an
 * instance does not remember simply has no previous CDN there.
 */
export class SessionMemory {
  readonly ttlMs: number;
  /**
   * Whether a record's seenAt is the session's last request everywhere (one instance). A fleet's
   * copies are refreshed lazily, so a peer's seenAt may be older than the session's last request.
   */
  readonly exactSeen: boolean = true;
  private readonly cache: LRUCache<string, SessionRecord>;

  constructor(options: SessionMemoryOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    const clock = options.now ?? Date.now;
    this.cache = new LRUCache<string, SessionRecord>({
      max: options.max ?? 20_000,
      ttl: this.ttlMs,
      // Checking staleness on get is enough; no timers per entry.
      ttlAutopurge: false,
      perf: { now: clock },
    });
  }

  get(sessionId: string, now: number): SessionRecord | undefined {
    const rec = this.cache.get(sessionId);
    return rec !== undefined && now - rec.seenAt <= this.ttlMs ? rec : undefined;
  }

  set(sessionId: string, record: SessionRecord): void {
    this.cache.set(sessionId, record);
  }

  delete(sessionId: string): void {
    this.cache.delete(sessionId);
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * Sessions seen within `windowMs` before `now`, counted by the CDN each was last given: the share of
   * active sessions per CDN (the status page, /metrics). A walk over the memory (at most `max` entries),
   * for a poll or a scrape, never for a request.
   */
  activeByCdn(now: number, windowMs: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const rec of this.cache.values()) {
      if (now - rec.seenAt > windowMs || rec.seenAt > now + windowMs) continue;
      counts.set(rec.cdn, (counts.get(rec.cdn) ?? 0) + 1);
    }
    return counts;
  }
}
