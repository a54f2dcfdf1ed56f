import type { NextFunction, Request, Response, Router } from 'express';
import { SwitchyardError } from '../errors';
import type { RolloutSnapshot } from '../rollout/controller';
import type { Runtime } from './runtime';

/** A rollout as the admin API shows it: times as ISO 8601. */
export function rolloutView(s: RolloutSnapshot): unknown {
  return {
    ...s,
    stepStartedAt: new Date(s.stepStartedAt).toISOString(),
    history: s.history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
  };
}

/**
 * `GET /admin/rollout`: the current (or last) rollout, its arms, their figures and the verdict;
 * `POST /admin/rollout/promote`: the candidate becomes the live config now; `POST /admin/rollout/abort`:
 * every canary session goes back to the live config at its next reload. 409 when no rollout runs.
 */
export function rolloutRoutes(router: Router, runtime: Runtime): void {
  router.get('/rollout', (_req: Request, res: Response) => {
    const r = runtime.rollout;
    res.setHeader('cache-control', 'no-store');
    res.json({ rollout: r === undefined ? null : rolloutView(r.snapshot()) });
  });
  const act = (action: 'promote' | 'abort') => (_req: Request, res: Response, next: NextFunction) => {
    const r = runtime.activeRollout;
    if (r === undefined)
      return next(
        new SwitchyardError(
          'ROLLOUT_CONFLICT',
          runtime.rollout === undefined
            ? 'no rollout is configured'
            : `the rollout is already ${runtime.rollout.state}`,
        ),
      );
    const done = action === 'promote' ? r.promote('operator') : r.abort();
    if (!done && action === 'promote')
      return next(
        new SwitchyardError(
          'ROLLOUT_CONFLICT',
          `promotion failed: ${r.snapshot().history.at(-1)?.detail ?? ''}`,
        ),
      );
    res.json({ rollout: rolloutView(r.snapshot()) });
  };
  router.post('/rollout/promote', act('promote'));
  router.post('/rollout/abort', act('abort'));
}

/** The few rollout figures the status page draws (polled every second). */
export function rolloutStatus(runtime: Runtime): unknown {
  const r = runtime.rollout;
  if (r === undefined) return null;
  const s = r.snapshot();
  const last = s.history.at(-1);
  return {
    state: s.state,
    candidate: s.candidate,
    share: s.share,
    stage: s.stage,
    stages: s.stages,
    verdict: s.judgement?.verdict ?? 'no_verdict',
    guards: (s.judgement?.guards ?? []).map((g) => ({ metric: g.metric, verdict: g.verdict, why: g.why })),
    arms: {
      control: armLine(s.arms.control),
      canary: armLine(s.arms.canary),
    },
    last:
      last === undefined
        ? null
        : { at: new Date(last.at).toISOString(), event: last.event, detail: last.detail },
  };
}

function armLine(a: RolloutSnapshot['arms']['control']): unknown {
  return {
    sessions: Math.max(a.manifest_error_rate.sessions, a.segment_error_rate.sessions),
    segment_error_rate: a.segment_error_rate.value,
    rebuffer_ratio: a.rebuffer_ratio.value,
    manifest_error_rate: a.manifest_error_rate.value,
  };
}
