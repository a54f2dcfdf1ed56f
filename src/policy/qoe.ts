import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { duration } from '../duration';
import { DEFAULT_GEO_HEADERS, geoOf } from '../qoe/geo';
import { clientCmcd, type CmcdValue } from './cmcd';
import { candidates, rendezvousRank } from './weighted';
import type {
  CdnId,
  CdnSelectionPolicy,
  CdnView,
  PolicyEvent,
  PolicyFactory,
  Selection,
  SelectionRequest,
} from './types';

export type Verdict = 'good' | 'bad';

/**
 * What one CMCD report says about the CDN serving the session: `bad` on buffer starvation (`bs`) or a
 * measured throughput (`mtp`) below the encoded bitrate (`br`) times `margin`; `good` when it carries a
 * throughput or buffer reading and neither; undefined when it says nothing about delivery.
 */
export function judgeCmcd(
  cmcd: Readonly<Record<string, CmcdValue>>,
  margin = 1,
): { verdict?: Verdict; why: string } {
  if (cmcd.bs === true) return { verdict: 'bad', why: 'buffer starvation' };
  const { mtp, br, bl } = cmcd;
  if (typeof mtp === 'number' && typeof br === 'number' && br > 0 && mtp < br * margin)
    return { verdict: 'bad', why: `throughput ${mtp} kbps < bitrate ${br} kbps` };
  if (typeof mtp === 'number' || typeof bl === 'number') return { verdict: 'good', why: 'ok' };
  return { why: 'no delivery data' };
}

/**
 * Per-CDN QoE over all sessions: exponentially decaying counts of good and bad reports. score() is in
 * (0, 1]: the share of good reports, smoothed by `prior` good reports so a few reports cannot swing it.
 */
export class QoeScoreboard {
  private readonly tallies = new Map<CdnId, { good: number; bad: number; at: number }>();
  // An event forwarded along several paths of a policy tree counts once.
  private readonly seen = new WeakSet<object>();

  record(cdn: CdnId, verdict: Verdict, now: number, halfLifeMs: number, event?: object): void {
    if (event) {
      if (this.seen.has(event)) return;
      this.seen.add(event);
    }
    const t = this.decayed(cdn, now, halfLifeMs);
    if (verdict === 'good') t.good += 1;
    else t.bad += 1;
  }

  score(cdn: CdnId, now: number, halfLifeMs: number, prior = 5): number {
    const t = this.decayed(cdn, now, halfLifeMs);
    return (t.good + prior) / (t.good + t.bad + prior);
  }

  private decayed(cdn: CdnId, now: number, halfLifeMs: number): { good: number; bad: number; at: number } {
    let t = this.tallies.get(cdn);
    if (!t) {
      t = { good: 0, bad: 0, at: now };
      this.tallies.set(cdn, t);
    } else if (now > t.at) {
      const f = Math.pow(0.5, (now - t.at) / halfLifeMs);
      t.good *= f;
      t.bad *= f;
      t.at = now;
    }
    return t;
  }
}

interface QoeSession {
  cdn?: CdnId;
  /** CDN id → until when this session stays off it. */
  avoid: Record<CdnId, number>;
}

const options = z.strictObject({
  /** Half-life of the per-CDN scores. */
  halfLife: duration.default(60_000),
  /** A report with mtp < br * throughputMargin counts as bad. */
  throughputMargin: z.number().positive().default(1),
  /** How long a session that had trouble on a CDN stays off it. */
  avoidFor: duration.default(300_000),
  /** A healthy session stays on its CDN unless that CDN's score is this far below the best one. */
  tolerance: z.number().min(0).max(1).default(0.2),
  /** How strongly scores steer new sessions: weight x score^sensitivity. */
  sensitivity: z.number().min(0).default(4),
  /** Reports' weight of the "good" prior in the score (smoothing). */
  prior: z.number().min(0).default(5),
  /** Most sessions remembered (their CDN and the CDNs they avoid). */
  maxSessions: z.number().int().min(1).default(100_000),
  /**
   * A CDN whose CMSD says `du` (on Switchyard's probes, or echoed by enough players) is under duress:
   * `avoid` takes it out of new choices and moves its sessions at their next reload while another CDN
   * is healthy; `ignore` leaves it to the scores.
   */
  duress: z.enum(['avoid', 'ignore']).default('avoid'),
  /** Request headers with the viewer's country and ASN, for per-location scores (first present wins). */
  geoHeaders: z
    .strictObject({
      country: z.array(z.string().min(1)).default([...DEFAULT_GEO_HEADERS.country]),
      asn: z.array(z.string().min(1)).default([...DEFAULT_GEO_HEADERS.asn]),
    })
    .default({ country: [...DEFAULT_GEO_HEADERS.country], asn: [...DEFAULT_GEO_HEADERS.asn] }),
});
type QoeOptions = z.output<typeof options>;

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * QoE-driven selection from CMCD and CMSD. New sessions go by rendezvous over healthy CDNs weighted by
 * weight x score^sensitivity; a session stays on its CDN while that CDN scores within `tolerance` of
 * the best; a session reporting starvation or throughput below its bitrate moves to the next-best CDN
 * and stays off the one it left for `avoidFor`; a CDN under CMSD duress is left while another serves.
 *
 * In a server, scores are the fleet's windowed aggregates (src/qoe/aggregate.ts: one vote per session
 * and window, per CDN x country x ASN, no score below `qoe.minSessions` voters), the most specific one
 * with enough voters for the viewer's location; smoothed by `prior`. Built alone (tests, what-if), the
 * policy keeps its own decaying scoreboard of the reports it sees (`halfLife`).
 */
export const qoePolicy: PolicyFactory<QoeOptions> = {
  type: 'qoe',
  options,
  create(opts, ctx): CdnSelectionPolicy {
    const scores = ctx.shared.get('qoe:scores', () => new QoeScoreboard());
    const fleet = ctx.shared.qoe;
    const geoHeaders = {
      country: opts.geoHeaders.country.map((h) => h.toLowerCase()),
      asn: opts.geoHeaders.asn.map((h) => h.toLowerCase()),
    };
    const sessions = ctx.shared.get(
      'qoe:sessions',
      () =>
        new LRUCache<string, QoeSession>({ max: opts.maxSessions, ttl: 30 * 60_000, ttlAutopurge: false }),
    );
    const score = (cdn: CdnId, now: number, geo: { country?: string; asn?: number }) => {
      if (!fleet) return scores.score(cdn, now, opts.halfLife, opts.prior);
      const e = fleet.estimate(cdn, now, geo.country, geo.asn);
      if (!e) return 1;
      return (e.sessions - e.bad + opts.prior) / (e.sessions + opts.prior);
    };
    const inDuress = (view: CdnView, now: number) =>
      opts.duress === 'avoid' && (view.duress === true || (fleet?.duress(view.id, now) ?? false));

    const report = (
      sessionId: string,
      cdn: CdnId,
      cmcd: Readonly<Record<string, CmcdValue>>,
      now: number,
      event?: object,
    ) => {
      const judged = judgeCmcd(cmcd, opts.throughputMargin);
      if (judged.verdict === undefined) return judged;
      // In a server the fleet's aggregates hear every report through the QoE bus.
      if (!fleet) scores.record(cdn, judged.verdict, now, opts.halfLife, event);
      if (judged.verdict === 'bad') {
        const s = sessions.get(sessionId) ?? { avoid: {} };
        s.avoid[cdn] = now + opts.avoidFor;
        sessions.set(sessionId, s);
      }
      return judged;
    };

    return {
      name: 'qoe',
      select(req: SelectionRequest): Selection {
        const id = req.session.id;
        const now = req.now;
        const state = sessions.get(id);
        const current = req.session.previous ?? state?.cdn;
        const cmcd = clientCmcd(req.client);
        const judged = cmcd && current !== undefined ? report(id, current, cmcd, now) : undefined;

        const s = sessions.get(id) ?? { avoid: {} };
        for (const [cdn, until] of Object.entries(s.avoid)) if (until <= now) delete s.avoid[cdn];
        const { pool: healthy, degraded } = candidates(req.cdns);
        const calm = healthy.filter((c) => !inDuress(c, now));
        const usable = calm.length > 0 ? calm : healthy;
        const allowed = usable.filter((c) => s.avoid[c.id] === undefined);
        const pool = allowed.length > 0 ? allowed : usable;
        const geo =
          req.client.country !== undefined
            ? { ...geoOf(req.client.headers ?? {}, geoHeaders), country: req.client.country.toUpperCase() }
            : geoOf(req.client.headers ?? {}, geoHeaders);
        const currentView = req.cdns.find((c) => c.id === current);
        const leavingDuress =
          currentView !== undefined && currentView.healthy && inDuress(currentView, now) && calm.length > 0;

        const scored = pool.map((c) => ({ view: c, score: round2(score(c.id, now, geo)) }));
        const best = Math.max(...scored.map((x) => x.score));
        const mine = scored.find((x) => x.view.id === current);
        let chosen: CdnView;
        let reason: string;
        const weighted = (xs: typeof scored) =>
          rendezvousRank(
            id,
            xs.map((x) => ({
              ...x.view,
              weight: Math.max(x.view.weight, 1e-9) * Math.pow(x.score, opts.sensitivity),
            })),
          );
        // Every CDN scoring 0 (prior 0, all failing): they still serve, by plain rendezvous.
        const byScore = weighted(scored);
        const ranking = byScore.length > 0 ? byScore : rendezvousRank(id, pool);
        if (mine && mine.score >= best * (1 - opts.tolerance)) {
          chosen = mine.view;
          reason = `qoe: staying on ${mine.view.id} (score ${mine.score})`;
        } else {
          chosen = ranking[0] as CdnView;
          const top = scored.find((x) => x.view.id === chosen.id)?.score ?? 0;
          reason =
            current === undefined
              ? `qoe: best by score (${chosen.id} ${top})`
              : leavingDuress && chosen.id !== current
                ? `qoe: ${current} under duress (CMSD du), moved to ${chosen.id} (score ${top})`
                : judged?.verdict === 'bad' && chosen.id !== current
                  ? `qoe: ${judged.why} on ${current}, moved to next-best ${chosen.id} (score ${top})`
                  : `qoe: ${current} scores ${mine?.score ?? 'n/a'}, moved to ${chosen.id} (score ${top})`;
        }
        if (chosen === undefined) throw new Error('qoe policy: no CDN configured');
        if (degraded) reason += ' (no healthy CDN, using all)';
        s.cdn = chosen.id;
        sessions.set(id, s);
        const ranked = [chosen.id, ...ranking.map((c) => c.id), ...req.cdns.map((c) => c.id)].filter(
          (cdn, i, all) => all.indexOf(cdn) === i,
        );
        return { cdn: chosen.id, reason, ranked };
      },
      observe(event: PolicyEvent) {
        if (event.kind === 'cmcd') report(event.sessionId, event.cdn, event.cmcd, event.at, event);
        else if (event.kind === 'assigned') {
          const s = sessions.get(event.sessionId) ?? { avoid: {} };
          s.cdn = event.cdn;
          sessions.set(event.sessionId, s);
        }
      },
    };
  },
};
