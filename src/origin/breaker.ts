/**
 * A circuit breaker per origin: after `failures` consecutive transient failures the circuit opens and
 * fetches fail at once (the cache answers from stale copies) instead of piling onto a dead origin.
 * After `coolDownMs` one probe is let through (half-open): success closes the circuit, failure opens it
 * for another cool-down. Pure state over an injected clock, so it is tested without a network.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly failures: number;
  readonly coolDownMs: number;
  readonly now?: () => number;
  /** Every change of state (for logs and metrics). */
  readonly onChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private consecutive = 0;
  /** URLs that answered 5xx in the current run of failures, and whether any failure was connection-level. */
  private readonly failingUrls = new Set<string>();
  private connectionFailure = false;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    if (!Number.isInteger(opts.failures) || opts.failures < 1)
      throw new TypeError(`breaker: expected failures to be an integer ≥ 1, got ${opts.failures}`);
    if (!(opts.coolDownMs >= 0))
      throw new TypeError(`breaker: expected coolDownMs ≥ 0, got ${opts.coolDownMs}`);
    this.now = opts.now ?? Date.now;
  }

  get current(): BreakerState {
    return this.state;
  }

  /**
   * Whether a fetch may go to the origin now. In half-open, exactly one caller (the probe) gets true
   * until it reports back.
   */
  tryAcquire(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.opts.coolDownMs) return false;
      this.set('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Milliseconds until a probe may go, while open; 0 otherwise. */
  retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.opts.coolDownMs - this.now()) : 0;
  }

  success(): void {
    this.consecutive = 0;
    this.failingUrls.clear();
    this.connectionFailure = false;
    this.probing = false;
    if (this.state !== 'closed') this.set('closed');
  }

  /**
   * A transient failure. Without `statusOf` it is connection-level (unreachable, timeout): that says the
   * origin is sick. A 5xx of one URL (`statusOf`) says only that URL is: the circuit opens on 5xx only
   * once the run of failures spans several URLs (min(3, failures)), so one broken playlist, or one
   * client asking for it, cannot cut every stream on that origin off.
   */
  failure(statusOf?: string): void {
    this.probing = false;
    this.consecutive++;
    if (statusOf === undefined) this.connectionFailure = true;
    else if (this.failingUrls.size < 64) this.failingUrls.add(statusOf);
    const originWide = this.connectionFailure || this.failingUrls.size >= Math.min(3, this.opts.failures);
    if (
      this.state === 'half-open' ||
      (this.state === 'closed' && this.consecutive >= this.opts.failures && originWide)
    ) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  /** An answer that says nothing about the origin's health (e.g. a 404): releases a probe slot. */
  neutral(): void {
    if (this.state === 'half-open' && this.probing) this.success();
    else this.probing = false;
  }

  private set(state: BreakerState): void {
    this.state = state;
    this.opts.onChange?.(state);
  }
}
