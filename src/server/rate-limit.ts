import { LRUCache } from 'lru-cache';

/**
 * Token buckets per key (a client address): `rate` tokens a second up to `burst`. Bounded: the least
 * recently seen keys are forgotten past `maxKeys` (a forgotten key starts with a full bucket, which
 * is the most it could have had anyway after a while away).
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, { tokens: number; at: number }>;

  constructor(maxKeys = 50_000) {
    this.buckets = new LRUCache({ max: maxKeys });
  }

  /** Takes one token for `key` at `now` (ms); false when its bucket is empty. */
  take(key: string, now: number, rate: number, burst: number): boolean {
    const b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, { tokens: burst - 1, at: now });
      return true;
    }
    const refilled = Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * rate);
    b.at = Math.max(b.at, now);
    if (refilled < 1) {
      b.tokens = refilled;
      return false;
    }
    b.tokens = refilled - 1;
    return true;
  }

  /** Seconds until `key` has a token again (at least 1, for Retry-After). */
  retryAfter(key: string, rate: number): number {
    const b = this.buckets.get(key);
    if (!b) return 1;
    return Math.max(1, Math.ceil((1 - b.tokens) / rate));
  }
}
