import { z } from 'zod';
import { unknownCdns } from './check';
import { candidates, rendezvousRank } from './weighted';
import type { CdnSelectionPolicy, CdnView, PolicyFactory, Selection, SelectionRequest } from './types';

/** CDN invoices count decimal gigabytes. */
export const BYTES_PER_GB = 1e9;

const options = z.strictObject({
  /** Billing period of the commits: calendar month or day, UTC. */
  period: z.enum(['month', 'day']).default('month'),
  /** Price and commit per CDN id; a CDN not listed is used only when no listed CDN is healthy. */
  cdns: z.record(
    z.string(),
    z.strictObject({
      /** Price per GB beyond the commit, in any currency (only the order matters). */
      pricePerGB: z.number().min(0),
      /** Volume already paid for each period, in GB: used before any pay-as-you-go traffic. */
      commitGB: z.number().min(0).default(0),
    }),
  ),
});
type CostOptions = z.output<typeof options>;

/**
 * Cheapest delivery: first fill the CDNs' committed volumes (already paid for), spreading sessions over
 * the CDNs with commit left in proportion to their commits; then the cheapest healthy CDN (ties by
 * rendezvous, so sessions stay put). Delivered volume comes from the shared VolumeLedger, which the
 * registry feeds from `observe({ kind: 'delivery' })` events.
 */
export const costPolicy: PolicyFactory<CostOptions> = {
  type: 'cost',
  options,
  check(opts, ctx) {
    return unknownCdns(
      Object.keys(opts.cdns).map((id) => [['cdns', id], id] as const),
      ctx.cdnIds,
    );
  },
  create(opts, ctx): CdnSelectionPolicy {
    const ledger = ctx.shared.ledger;
    const terms = new Map(Object.entries(opts.cdns));
    const price = (c: CdnView) => terms.get(c.id)?.pricePerGB ?? Infinity;
    return {
      name: 'cost',
      select(req: SelectionRequest): Selection {
        const { pool, degraded } = candidates(req.cdns);
        const committed: CdnView[] = [];
        const left = new Map<string, number>();
        for (const c of pool) {
          const commitGB = terms.get(c.id)?.commitGB ?? 0;
          if (commitGB <= 0) continue;
          const remaining = commitGB - ledger.delivered(c.id, opts.period, req.now) / BYTES_PER_GB;
          if (remaining > 0) {
            committed.push({ ...c, weight: commitGB });
            left.set(c.id, remaining);
          }
        }
        const byPrice = [...pool].sort((a, b) => price(a) - price(b));
        let chosen: CdnView | undefined;
        let reason: string;
        if (committed.length > 0) {
          chosen = rendezvousRank(req.session.id, committed)[0];
          reason = `cost: filling ${chosen?.id} commit (${Math.round(left.get(chosen?.id ?? '') ?? 0)} GB left)`;
        } else {
          const cheapest = price(byPrice[0] as CdnView);
          const tied = byPrice.filter((c) => price(c) === cheapest);
          chosen = rendezvousRank(req.session.id, tied)[0] ?? tied[0];
          reason = Number.isFinite(cheapest)
            ? `cost: cheapest (${cheapest}/GB)`
            : 'cost: no priced CDN healthy, using unpriced';
        }
        if (chosen === undefined) throw new Error('cost policy: no CDN configured');
        if (degraded) reason += ' (no healthy CDN, using all)';
        const picked = chosen.id;
        const ranked = [
          picked,
          ...committed.map((c) => c.id),
          ...byPrice.map((c) => c.id),
          ...req.cdns.map((c) => c.id),
        ].filter((id, i, all) => all.indexOf(id) === i);
        return { cdn: picked, reason, ranked };
      },
    };
  },
};
