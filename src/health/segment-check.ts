import { LRUCache } from 'lru-cache';
import { Agent, request } from 'undici';

export type Availability = 'available' | 'missing' | 'pending';

/**
 * "Does this CDN serve this segment?" — a HEAD request, cached per URL and deduplicated while in
 * flight. Asked before a live session is moved to another CDN: moving it to an edge that does not
 * have the playlist's newest segment yet would turn a planned switch into a playback error.
 * check() never waits: it answers from the cache, or starts the HEAD and says 'pending'.
 */
export class SegmentAvailability {
  private readonly results: LRUCache<string, Availability>;
  /** Checks in flight, each settling with its answer: waiters are woken by it, never by polling. */
  private readonly inFlight = new Map<string, Promise<Availability>>();
  private readonly agent = new Agent({ keepAliveTimeout: 5_000, connections: 8 });

  constructor(private readonly options: { timeoutMs?: number; ttlMs?: number; max?: number } = {}) {
    this.results = new LRUCache<string, Availability>({
      max: options.max ?? 5_000,
      ttl: options.ttlMs ?? 5_000,
    });
  }

  check(url: string): Availability {
    const known = this.results.get(url);
    if (known !== undefined) return known;
    if (!this.inFlight.has(url)) {
      const answer = this.head(url).then((ok): Availability => {
        const result = ok ? 'available' : 'missing';
        this.inFlight.delete(url);
        this.results.set(url, result);
        return result;
      });
      this.inFlight.set(url, answer);
    }
    return 'pending';
  }

  /** The answer for `url`, waiting for a check in flight at most `timeoutMs` ('pending' after that). */
  async wait(url: string, timeoutMs: number): Promise<Availability> {
    const first = this.check(url);
    if (first !== 'pending') return first;
    const answer = this.inFlight.get(url);
    if (answer === undefined) return this.results.get(url) ?? 'pending';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Availability>((resolve) => {
      timer = setTimeout(() => resolve('pending'), timeoutMs);
    });
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async head(url: string): Promise<boolean> {
    const timeout = this.options.timeoutMs ?? 1_000;
    try {
      const res = await request(url, {
        method: 'HEAD',
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeout),
        headersTimeout: timeout,
        headers: { 'user-agent': 'switchyard-segment-check' },
      });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
