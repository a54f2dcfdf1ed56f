import { LRUCache } from 'lru-cache';
import { DEFAULT_MAX_SESSIONS } from '../config/schema';

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

/** Granularity of the last-seen tally behind activeByCdn (a session seen up to this much earlier counts). */
const TALLY_BUCKET_MS = 1_000;

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
  /**
   * The records the memory holds, counted by CDN and by the second they were last seen in, kept as
   * records come and go: activeByCdn reads it without walking every session.
   */
  private readonly tally = new Map<string, Map<number, number>>();

  constructor(options: SessionMemoryOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    const clock = options.now ?? Date.now;
    this.cache = new LRUCache<string, SessionRecord>({
      max: options.max ?? DEFAULT_MAX_SESSIONS,
      ttl: this.ttlMs,
      // Checking staleness on get is enough; no timers per entry.
      ttlAutopurge: false,
      perf: { now: clock },
      // Every way a record leaves (replaced, evicted, deleted, expired) takes it off the tally.
      dispose: (rec) => this.count(rec, -1),
    });
  }

  private count(rec: SessionRecord, delta: 1 | -1): void {
    let byBucket = this.tally.get(rec.cdn);
    if (byBucket === undefined) {
      if (delta < 0) return;
      byBucket = new Map();
      this.tally.set(rec.cdn, byBucket);
    }
    const bucket = Math.floor(rec.seenAt / TALLY_BUCKET_MS);
    const n = (byBucket.get(bucket) ?? 0) + delta;
    // A bucket pruned as too old (see activeByCdn) is not brought back by its records leaving.
    if (n > 0) byBucket.set(bucket, n);
    else byBucket.delete(bucket);
  }

  get(sessionId: string, now: number): SessionRecord | undefined {
    const rec = this.cache.get(sessionId);
    return rec !== undefined && now - rec.seenAt <= this.ttlMs ? rec : undefined;
  }

  set(sessionId: string, record: SessionRecord): void {
    // The same record again changes nothing (and the cache does not dispose of it).
    if (this.cache.peek(sessionId, { allowStale: true }) === record) return;
    this.count(record, 1);
    this.cache.set(sessionId, record);
  }

  delete(sessionId: string): void {
    this.cache.delete(sessionId);
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * Sessions seen within `windowMs` before `now` (to the second: one seen up to a second earlier may
   * count), counted by the CDN each was last given: the share of active sessions per CDN (the status
   * page, /metrics). It reads the tally (CDNs × seconds), never every session: a walk over hundreds of
   * thousands of records would hold the event loop for tens of milliseconds at every poll. Seconds
   * older than the memory's TTL are dropped from the tally here; their records count for nothing.
   */
  activeByCdn(now: number, windowMs: number): Map<string, number> {
    const counts = new Map<string, number>();
    const first = Math.floor((now - windowMs) / TALLY_BUCKET_MS);
    const last = Math.floor((now + windowMs) / TALLY_BUCKET_MS);
    const expired = Math.floor((now - Math.max(windowMs, this.ttlMs)) / TALLY_BUCKET_MS);
    for (const [cdn, byBucket] of this.tally) {
      let n = 0;
      for (const [bucket, c] of byBucket) {
        if (bucket < expired) byBucket.delete(bucket);
        else if (bucket >= first && bucket <= last) n += c;
      }
      if (byBucket.size === 0) this.tally.delete(cdn);
      if (n > 0) counts.set(cdn, n);
    }
    return counts;
  }
}
