/** A billing period: commits are per calendar month (UTC) in most CDN contracts; `day` suits tests and trials. */
export type BillingPeriod = 'month' | 'day';

/** Start (ms since epoch, UTC) of the billing period containing `at`. */
export function periodStart(period: BillingPeriod, at: number): number {
  const d = new Date(at);
  return period === 'month'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** Start of the period after the one containing `at`. */
export function periodEnd(period: BillingPeriod, at: number): number {
  const d = new Date(at);
  return period === 'month'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/**
 * Delivered volume per CDN per billing period. Both methods are synchronous because `delivered` is
 * read on the hot path: a shared implementation (e.g. Redis, for many instances) keeps a local copy
 * refreshed in the background and sends `add`s in batches, rather than doing I/O per call.
 */
export interface VolumeLedger {
  /** Records `bytes` delivered (estimated) by `cdn` at time `at`. */
  add(cdn: string, bytes: number, at: number): void;
  /** Bytes delivered by `cdn` in the billing period that contains `at`. */
  delivered(cdn: string, period: BillingPeriod, at: number): number;
}

/**
 * One process's ledger: totals per (CDN, day); a month is the sum of its days. Days older than
 * `keepDays` are dropped, so memory stays bounded (CDNs x days).
 */
export class InMemoryVolumeLedger implements VolumeLedger {
  private readonly days = new Map<string, Map<number, number>>();

  constructor(private readonly keepDays = 40) {}

  add(cdn: string, bytes: number, at: number): void {
    if (!(bytes > 0) || !Number.isFinite(bytes)) return;
    let perDay = this.days.get(cdn);
    if (!perDay) {
      perDay = new Map();
      this.days.set(cdn, perDay);
    }
    const day = periodStart('day', at);
    const isNewDay = !perDay.has(day);
    perDay.set(day, (perDay.get(day) ?? 0) + bytes);
    if (isNewDay) {
      const oldest = day - this.keepDays * 86_400_000;
      for (const d of perDay.keys()) if (d < oldest) perDay.delete(d);
    }
  }

  delivered(cdn: string, period: BillingPeriod, at: number): number {
    const perDay = this.days.get(cdn);
    if (!perDay) return 0;
    const from = periodStart(period, at);
    const to = periodEnd(period, at);
    let total = 0;
    for (const [day, bytes] of perDay) if (day >= from && day < to) total += bytes;
    return total;
  }
}
