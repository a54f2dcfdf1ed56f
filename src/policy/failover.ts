import { z } from 'zod';
import { unknownCdns } from './check';
import type { CdnSelectionPolicy, PolicyFactory, Selection, SelectionRequest } from './types';

const options = z.strictObject({
  /** Priority order of CDN ids; CDNs not listed follow in config order. Default: config order. */
  order: z.array(z.string().min(1)).optional(),
});
type FailoverOptions = z.infer<typeof options>;

export const failoverPolicy: PolicyFactory<FailoverOptions> = {
  type: 'failover',
  options,
  check(opts, ctx) {
    return unknownCdns(
      (opts.order ?? []).map((id, i) => [['order', i], id] as const),
      ctx.cdnIds,
    );
  },
  create(opts, ctx): CdnSelectionPolicy {
    const listed = opts.order ?? [];
    const order = [...listed, ...ctx.cdnIds.filter((id) => !listed.includes(id))];
    const rank = new Map(order.map((id, i) => [id, i]));
    return {
      name: 'failover',
      select(req: SelectionRequest): Selection {
        const sorted = [...req.cdns].sort(
          (a, b) => (rank.get(a.id) ?? Number.MAX_SAFE_INTEGER) - (rank.get(b.id) ?? Number.MAX_SAFE_INTEGER),
        );
        const firstHealthy = sorted.find((c) => c.healthy && c.weight > 0) ?? sorted.find((c) => c.healthy);
        const chosen = firstHealthy ?? sorted[0];
        if (chosen === undefined) throw new Error('failover policy: no CDN configured');
        const primary = sorted[0];
        const reason =
          firstHealthy === undefined
            ? 'failover: no healthy CDN, using first'
            : chosen === primary
              ? 'failover: primary healthy'
              : `failover: ${sorted
                  .slice(0, sorted.indexOf(chosen))
                  .map((c) => c.id)
                  .join(', ')} unhealthy`;
        const ranked = [...sorted.filter((c) => c.healthy), ...sorted.filter((c) => !c.healthy)].map(
          (c) => c.id,
        );
        return { cdn: chosen.id, reason, ranked };
      },
    };
  },
};
