import { z } from 'zod';
import { unknownCdns } from './check';
import { duration } from '../duration';
import { candidates, rankForSession } from './weighted';
import type {
  CdnId,
  CdnSelectionPolicy,
  CdnView,
  PolicyEvent,
  PolicyFactory,
  Selection,
  SelectionRequest,
} from './types';

/**
 * Distinct sessions per CDN seen within a sliding window, in bounded memory. A Map keeps insertion
 * order, and a session is re-inserted when seen, so the oldest sightings sit at the front: expiring
 * and evicting are pops from the front, O(1) amortised, driven by the request clock (no timers).
 */
export class SessionCounter {
  private readonly seen = new Map<string, { cdn: CdnId; at: number }>();
  private readonly counts = new Map<CdnId, number>();

  constructor(
    readonly windowMs: number,
    readonly maxSessions: number,
  ) {}

  /** Records that `sessionId` is on `cdn` at `now`. */
  touch(sessionId: string, cdn: CdnId, now: number): void {
    const prev = this.seen.get(sessionId);
    if (prev) {
      this.seen.delete(sessionId);
      if (prev.cdn !== cdn) this.bump(prev.cdn, -1);
    }
    if (!prev || prev.cdn !== cdn) this.bump(cdn, 1);
    this.seen.set(sessionId, { cdn, at: now });
    this.expire(now);
  }

  /** The CDN a session was last seen on within the window. */
  cdnOf(sessionId: string, now: number): CdnId | undefined {
    const s = this.seen.get(sessionId);
    return s !== undefined && now - s.at <= this.windowMs ? s.cdn : undefined;
  }

  count(cdn: CdnId, now: number): number {
    this.expire(now);
    return this.counts.get(cdn) ?? 0;
  }

  get size(): number {
    return this.seen.size;
  }

  private bump(cdn: CdnId, by: number): void {
    const next = (this.counts.get(cdn) ?? 0) + by;
    if (next <= 0) this.counts.delete(cdn);
    else this.counts.set(cdn, next);
  }

  private expire(now: number): void {
    for (const [id, s] of this.seen) {
      if (now - s.at <= this.windowMs && this.seen.size <= this.maxSessions) break;
      this.seen.delete(id);
      this.bump(s.cdn, -1);
    }
  }
}

const limit = z
  .strictObject({
    /** Most this CDN may get of recent selections, 0..1 (CdnView.share). */
    maxShare: z.number().min(0).max(1).optional(),
    /** Most distinct sessions this CDN may have within `window` (counted by this instance). */
    maxSessions: z.number().int().min(0).optional(),
  })
  .refine((l) => l.maxShare !== undefined || l.maxSessions !== undefined, {
    message: 'expected maxShare and/or maxSessions',
  });

const options = z.strictObject({
  /** Limits per CDN id; a CDN not listed has no limit. */
  cdns: z.record(z.string(), limit),
  /** A session counts towards a CDN's sessions while seen within this window. */
  window: duration.default(60_000),
  /**
   * A session already on a CDN stays until the CDN's share exceeds maxShare by this much (new
   * sessions are refused at maxShare): the band that keeps sessions at the limit from flapping.
   */
  hysteresis: z.number().min(0).max(0.5).default(0.02),
  /** Most sessions tracked for counting; the least recently seen are forgotten first. */
  maxTrackedSessions: z.number().int().min(1).default(200_000),
});
type CapacityOptions = z.output<typeof options>;

/**
 * "Balanced": every session has a rendezvous order of the healthy CDNs (by weight, stable per session);
 * it takes the first CDN in that order that still has room (share below maxShare, sessions below
 * maxSessions) and spills over to the next one otherwise. When every CDN is full, the least loaded
 * relative to its limits takes it.
 */
export const capacityPolicy: PolicyFactory<CapacityOptions> = {
  type: 'capacity',
  options,
  check(opts, ctx) {
    return unknownCdns(
      Object.keys(opts.cdns).map((id) => [['cdns', id], id] as const),
      ctx.cdnIds,
    );
  },
  create(opts): CdnSelectionPolicy {
    const counter = new SessionCounter(opts.window, opts.maxTrackedSessions);
    const limits = new Map(Object.entries(opts.cdns));
    /** Whether this session fits on the CDN; one already on it may use the hysteresis band. */
    const hasRoom = (cdn: CdnView, staying: boolean, now: number): boolean => {
      const l = limits.get(cdn.id);
      if (!l) return true;
      if (
        l.maxShare !== undefined &&
        (staying ? cdn.share > l.maxShare + opts.hysteresis : cdn.share >= l.maxShare)
      )
        return false;
      // A staying session is already among the counted ones.
      if (l.maxSessions !== undefined && counter.count(cdn.id, now) + (staying ? 0 : 1) > l.maxSessions)
        return false;
      return true;
    };
    /** How full a CDN is relative to its tightest limit (1 = at the limit). */
    const fullness = (cdn: CdnView, now: number): number => {
      const l = limits.get(cdn.id);
      if (!l) return 0;
      const byShare = l.maxShare === undefined ? 0 : l.maxShare > 0 ? cdn.share / l.maxShare : Infinity;
      const bySessions =
        l.maxSessions === undefined
          ? 0
          : l.maxSessions > 0
            ? counter.count(cdn.id, now) / l.maxSessions
            : Infinity;
      return Math.max(byShare, bySessions);
    };
    return {
      name: 'capacity',
      select(req: SelectionRequest): Selection {
        const { pool, degraded } = candidates(req.cdns);
        const order = rankForSession(req.session.id, pool);
        const current = req.session.previous ?? counter.cdnOf(req.session.id, req.now);
        const chosenWithRoom = order.find((cdn) => hasRoom(cdn, cdn.id === current, req.now));
        let chosen = chosenWithRoom;
        let reason: string;
        if (chosen) {
          const skipped = order.slice(0, order.indexOf(chosen)).map((c) => c.id);
          reason =
            skipped.length === 0
              ? 'capacity: within limits'
              : `capacity: ${skipped.join(', ')} full, spilled over`;
        } else {
          // Every CDN is full: the one least loaded relative to its limits takes the session.
          let min = Infinity;
          for (const cdn of order) {
            const f = fullness(cdn, req.now);
            if (f < min) {
              min = f;
              chosen = cdn;
            }
          }
          chosen ??= order[0];
          reason = 'capacity: every CDN at its limit, least loaded';
        }
        if (chosen === undefined) throw new Error('capacity policy: no CDN configured');
        if (degraded) reason += ' (no healthy CDN, using all)';
        counter.touch(req.session.id, chosen.id, req.now);
        const picked = chosen;
        const rest = req.cdns.filter((c) => !order.includes(c));
        return {
          cdn: picked.id,
          reason,
          ranked: [picked, ...order.filter((c) => c !== picked), ...rest].map((c) => c.id),
        };
      },
      observe(event: PolicyEvent) {
        if (event.kind === 'assigned') counter.touch(event.sessionId, event.cdn, event.at);
      },
    };
  },
};
