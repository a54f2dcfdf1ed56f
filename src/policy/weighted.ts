import { z } from 'zod';
import { unitHash } from './hash';
import type { CdnSelectionPolicy, CdnView, PolicyFactory, SelectionRequest, Selection } from './types';

/**
 * Weighted rendezvous (highest-random-weight) hashing: each CDN scores -weight / ln(u(session, cdn)),
 * the highest score wins. A session stays on its CDN while that CDN is healthy and the weights hold;
 * removing one CDN moves only the sessions it had, spread over the others in proportion to weight.
 */
export function rendezvousRank(sessionId: string, cdns: readonly CdnView[]): CdnView[] {
  const scored = cdns
    .filter((c) => c.weight > 0)
    .map((c) => ({ c, score: -c.weight / Math.log(unitHash(sessionId + '\u0000' + c.id)) }));
  scored.sort((x, y) => y.score - x.score || (x.c.id < y.c.id ? -1 : 1));
  return scored.map((s) => s.c);
}

/**
 * rendezvousRank, but never empty for a non-empty pool: when every CDN is weighted 0, they still
 * have to serve somebody, ranked with equal weights.
 */
export function rankForSession(sessionId: string, pool: readonly CdnView[]): CdnView[] {
  const ranked = rendezvousRank(sessionId, pool);
  return ranked.length > 0
    ? ranked
    : rendezvousRank(
        sessionId,
        pool.map((c) => ({ ...c, weight: 1 })),
      );
}

/** Healthy CDNs if any; otherwise every CDN, so a probe outage does not become a playback outage. */
export function candidates(cdns: readonly CdnView[]): { pool: readonly CdnView[]; degraded: boolean } {
  const healthy = cdns.filter((c) => c.healthy);
  return healthy.length > 0 ? { pool: healthy, degraded: false } : { pool: cdns, degraded: true };
}

const options = z.strictObject({});

export const weightedPolicy: PolicyFactory<z.infer<typeof options>> = {
  type: 'weighted',
  options,
  create(): CdnSelectionPolicy {
    return {
      name: 'weighted',
      select(req: SelectionRequest): Selection {
        const { pool, degraded } = candidates(req.cdns);
        const ranked = rankForSession(req.session.id, pool);
        const first = ranked[0];
        if (first === undefined) throw new Error('weighted policy: no CDN configured');
        const unhealthyRest = req.cdns.filter((c) => !ranked.includes(c));
        return {
          cdn: first.id,
          reason: degraded ? 'weighted: no healthy CDN, using all' : 'weighted: rendezvous',
          ranked: [...ranked, ...unhealthyRest].map((c) => c.id),
        };
      },
    };
  },
};
