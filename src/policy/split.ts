import { z } from 'zod';
import { unitHash } from './hash';
import type {
  CdnSelectionPolicy,
  PolicyEvent,
  PolicyFactory,
  PolicyIssue,
  Selection,
  SelectionRequest,
} from './types';

const options = z.strictObject({
  /** Changing the salt reshuffles which sessions land in which arm (a new experiment). */
  salt: z.string().default(''),
  splits: z
    .array(
      z.strictObject({
        /** Shown in the reason (X-Switchyard-Reason), e.g. "canary". Default: the arm's index. */
        name: z.string().min(1).optional(),
        percent: z.number().min(0).max(100),
        policy: z.unknown(),
      }),
    )
    .min(1),
});
type SplitOptions = z.output<typeof options>;

/** Sums within this of 100 are accepted (0.1 + 0.2 style float noise). */
const SUM_TOLERANCE = 1e-6;

/**
 * Percentage split between child policies (A/B tests, canaries). A session's arm comes from a hash of
 * its id (and the salt), so it is the same on every reload and on every instance.
 */
export const splitPolicy: PolicyFactory<SplitOptions> = {
  type: 'split',
  options,
  check(opts, ctx) {
    const problems: PolicyIssue[] = [];
    const sum = opts.splits.reduce((s, a) => s + a.percent, 0);
    if (Math.abs(sum - 100) > SUM_TOLERANCE) {
      problems.push({ path: ['splits'], message: `expected percentages summing to 100, got ${sum}` });
    }
    opts.splits.forEach((arm, i) => problems.push(...ctx.validateChild(arm.policy, ['splits', i, 'policy'])));
    return problems;
  },
  create(opts, ctx): CdnSelectionPolicy {
    const arms = opts.splits.map((arm, i) => ({
      label: arm.name ?? String(i),
      percent: arm.percent,
      policy: ctx.createChild(arm.policy, ['splits', i, 'policy']),
    }));
    const percents = arms.map((a) => a.percent);
    const armFor = (sessionId: string) =>
      arms[splitArm(sessionId, percents, opts.salt)] as (typeof arms)[number];
    return {
      name: 'split',
      select(req: SelectionRequest): Selection {
        const arm = armFor(req.session.id);
        const inner = arm.policy.select(req);
        return { ...inner, reason: `split ${arm.label}: ${inner.reason}` };
      },
      observe(event: PolicyEvent) {
        // Events about a session go to the arm that serves it; volume is recorded once, by the registry.
        armFor(event.sessionId).policy.observe?.(event);
      },
    };
  },
};

function lastWithShare(arms: readonly { percent: number }[]): number {
  for (let i = arms.length - 1; i >= 0; i--) if ((arms[i] as { percent: number }).percent > 0) return i;
  return arms.length - 1;
}

/** Which arm (index) a session id lands in, for tests and tooling. */
export function splitArm(sessionId: string, percents: readonly number[], salt = ''): number {
  const u = unitHash('split\u0000' + salt + '\u0000' + sessionId);
  let acc = 0;
  for (let i = 0; i < percents.length; i++) {
    acc += (percents[i] as number) / 100;
    if (u < acc) return i;
  }
  return lastWithShare(percents.map((percent) => ({ percent })));
}
