import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { duration } from '../config/duration';
import type {
  CdnId,
  CdnSelectionPolicy,
  PolicyEvent,
  PolicyFactory,
  Selection,
  SelectionRequest,
} from './types';

export interface SessionRecord {
  /** The CDN the session was last given. */
  readonly cdn: CdnId;
  /** When it was first given that CDN (dwell time starts here). */
  readonly since: number;
  readonly lastReason: string;
  /** When the session was last seen. */
  readonly seenAt: number;
  /**
   * The CDNs the session left, newest first (at most MAX_HANDOFFS), each with where its segments end
   * in every playlist that listed some from it: what keeps a re-rendered playlist's already-listed
   * segments on the CDN they were first listed with. The policy layer only carries them along.
   */
  readonly handoffs?: readonly SessionHandoff[];
}

export interface SessionHandoff {
  readonly cdn: CdnId;
  readonly at: number;
  /** Opaque to policies: playlist key → first media sequence number no longer on `cdn`. */
  readonly points: Readonly<Record<string, number>>;
}

/** Moves remembered per session: more than a playlist window's worth of flapping is not kept. */
export const MAX_HANDOFFS = 8;

export interface SessionMemoryOptions {
  /** Most sessions remembered; the least recently seen go first. */
  readonly max?: number;
  /** A session not seen for this long is forgotten (a live player reloads every few seconds). */
  readonly ttlMs?: number;
  /** Clock of the cache's own TTL bookkeeping; the same clock as SelectionRequest.now. */
  readonly now?: () => number;
}

/**
 * Per-instance memory of which CDN each session has, bounded in size and age. It is an optimisation,
 * not a source of truth: sessions stay stateless (any instance serves any session), and a session an
 * instance does not remember simply has no previous CDN there.
 */
export class SessionMemory {
  readonly ttlMs: number;
  private readonly cache: LRUCache<string, SessionRecord>;

  constructor(options: SessionMemoryOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    const clock = options.now ?? Date.now;
    this.cache = new LRUCache<string, SessionRecord>({
      max: options.max ?? 20_000,
      ttl: this.ttlMs,
      // Checking staleness on get is enough; no timers per entry.
      ttlAutopurge: false,
      perf: { now: clock },
    });
  }

  get(sessionId: string, now: number): SessionRecord | undefined {
    const rec = this.cache.get(sessionId);
    return rec !== undefined && now - rec.seenAt <= this.ttlMs ? rec : undefined;
  }

  set(sessionId: string, record: SessionRecord): void {
    this.cache.set(sessionId, record);
  }

  delete(sessionId: string): void {
    this.cache.delete(sessionId);
  }

  get size(): number {
    return this.cache.size;
  }
}

export interface StickinessOptions {
  /** A session keeps its CDN at least this long while that CDN is healthy. 0: never hold it back. */
  readonly minDwellMs: number;
}

/**
 * Wraps a policy so a session does not flap: the wrapped policy sees the session's previous CDN in
 * `session.previous`; when it picks another one while the previous CDN is healthy and the session has
 * been on it for less than `minDwellMs`, the session stays. A real move is reported in
 * `Selection.switched`, which the server logs (one line per switch). An unhealthy CDN is left at once.
 */
export function withStickiness(
  policy: CdnSelectionPolicy,
  memory: SessionMemory,
  options: StickinessOptions,
): CdnSelectionPolicy {
  const { minDwellMs } = options;
  const wrapped: CdnSelectionPolicy = {
    name: policy.name,
    select(req: SelectionRequest): Selection {
      const sessionId = req.session.id;
      const rec = memory.get(sessionId, req.now);
      const previous = req.session.previous ?? rec?.cdn;
      const inner = policy.select(
        previous !== undefined && req.session.previous === undefined
          ? { ...req, session: { ...req.session, previous } }
          : req,
      );
      let out: Selection = inner;
      // Unknown start (the previous CDN came from the request, not from memory): old enough to move.
      const since = rec !== undefined && rec.cdn === previous ? rec.since : Number.NEGATIVE_INFINITY;
      if (previous !== undefined && inner.cdn !== previous) {
        const prevView = req.cdns.find((c) => c.id === previous);
        const dwell = req.now - since;
        if (prevView !== undefined && prevView.healthy && dwell < minDwellMs) {
          out = {
            cdn: previous,
            reason: `sticky: on ${previous} for ${Math.round(dwell / 1000)}s < ${Math.round(minDwellMs / 1000)}s (wanted ${inner.cdn}: ${inner.reason})`,
            ranked: [previous, ...(inner.ranked ?? [inner.cdn]).filter((id) => id !== previous)],
          };
          policy.observe?.({ kind: 'assigned', sessionId, cdn: previous, at: req.now });
        } else if (prevView !== undefined) {
          out = { ...inner, switched: { from: previous, to: inner.cdn } };
        }
      }
      // A move off the CDN the memory had starts a handoff: segments listed from it stay there.
      const handoffs =
        rec !== undefined && rec.cdn !== out.cdn
          ? [{ cdn: rec.cdn, at: req.now, points: {} }, ...(rec.handoffs ?? [])].slice(0, MAX_HANDOFFS)
          : rec?.handoffs;
      memory.set(sessionId, {
        cdn: out.cdn,
        since: out.cdn === previous && since !== Number.NEGATIVE_INFINITY ? since : req.now,
        lastReason: out.reason,
        seenAt: req.now,
        ...(handoffs === undefined ? {} : { handoffs }),
      });
      return out;
    },
  };
  if (policy.observe) {
    const observe = policy.observe.bind(policy);
    return { ...wrapped, observe: (event: PolicyEvent) => observe(event) };
  }
  return wrapped;
}

const options = z.strictObject({
  /** How long a session keeps a healthy CDN before the child policy may move it. */
  minDwell: duration.default(30_000),
  policy: z.record(z.string(), z.unknown()),
});

/** `{ type: sticky, minDwell: 30s, policy: {...} }`: withStickiness around a child policy, as config. */
export const stickyPolicy: PolicyFactory<z.output<typeof options>> = {
  type: 'sticky',
  options,
  check: (opts, ctx) => ctx.validateChild(opts.policy, ['policy']),
  create(opts, ctx) {
    return withStickiness(ctx.createChild(opts.policy, ['policy']), ctx.shared.sessions, {
      minDwellMs: opts.minDwell,
    });
  },
};
