/** What the runtime records decisions into and policies' CdnView.share comes from. */
export interface SelectionCounter {
  record(cdnId: string, now?: number): void;
  shares(now?: number): Map<string, number>;
}

/**
 * Recent selections per CDN with exponential decay (half-life configurable): share() is each CDN's
 * fraction of recent decisions, without keeping a log of them.
 */
export class SelectionShare implements SelectionCounter {
  private readonly weights = new Map<string, number>();
  private updatedAt: number;

  constructor(
    readonly halfLifeMs = 30_000,
    now = Date.now(),
  ) {
    this.updatedAt = now;
  }

  record(cdnId: string, now = Date.now()): void {
    this.decay(now);
    this.weights.set(cdnId, (this.weights.get(cdnId) ?? 0) + 1);
  }

  shares(now = Date.now()): Map<string, number> {
    this.decay(now);
    let total = 0;
    for (const w of this.weights.values()) total += w;
    const out = new Map<string, number>();
    for (const [id, w] of this.weights) out.set(id, total > 0 ? w / total : 0);
    return out;
  }

  /** Decayed selection counts per CDN at `now` (what instances share; shares are their fractions). */
  counts(now = Date.now()): Map<string, number> {
    this.decay(now);
    return new Map(this.weights);
  }

  private decay(now: number): void {
    const dt = now - this.updatedAt;
    if (dt <= 0) return;
    const factor = Math.pow(0.5, dt / this.halfLifeMs);
    for (const [id, w] of this.weights) {
      const next = w * factor;
      if (next < 1e-6) this.weights.delete(id);
      else this.weights.set(id, next);
    }
    this.updatedAt = now;
  }
}
