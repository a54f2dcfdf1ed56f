import { z } from 'zod';
import { duration } from '../duration';
import { MAX_HANDOFFS, type SessionMemory } from '../state/session-memory';
import type { CdnSelectionPolicy, PolicyEvent, PolicyFactory, Selection, SelectionRequest } from './types';

export interface StickinessOptions {
  /** A session keeps its CDN at least this long while that CDN is healthy. 0: never hold it back. */
  readonly minDwellMs: number;
}

/**
 * Wraps a policy so a session does not flap: the wrapped policy sees the session's previous CDN in
 * `session.previous`; when it picks another one while the previous CDN is healthy and the session has
 * been on it for less than `minDwellMs`, the session stays. A real move is reported in
 * `Selection.switched`, which the server logs (one line per switch). An unhealthy CDN is left at once.
 * A move off a healthy CDN that the request's `session.vetoSwitch` refuses does not happen either.
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
          const veto = prevView.healthy ? req.session.vetoSwitch?.(previous, inner.cdn) : undefined;
          if (veto === undefined) {
            out = { ...inner, switched: { from: previous, to: inner.cdn } };
          } else {
            out = { cdn: previous, reason: `${veto} (wanted ${inner.cdn}: ${inner.reason})` };
            policy.observe?.({ kind: 'assigned', sessionId, cdn: previous, at: req.now });
          }
        }
      }
      // A move off the CDN the memory had starts a handoff: segments listed from it stay there.
      const handoffs =
        rec !== undefined && rec.cdn !== out.cdn
          ? [
              // The session's last manifest before the move, where this memory knows it exactly.
              memory.exactSeen
                ? { cdn: rec.cdn, at: req.now, seen: rec.seenAt, points: {} }
                : { cdn: rec.cdn, at: req.now, points: {} },
              ...(rec.handoffs ?? []),
            ].slice(0, MAX_HANDOFFS)
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
