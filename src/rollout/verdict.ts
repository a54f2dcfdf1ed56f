import type { GuardConfig, RolloutMetric } from '../config/schema';
import type { ArmFigures, MetricFigures } from './evidence';

export type Verdict = 'pass' | 'fail' | 'no_verdict';

export interface GuardResult {
  readonly metric: RolloutMetric;
  readonly verdict: Verdict;
  readonly canary: MetricFigures;
  /** The control figures compared with (this step's, or the last step's with enough evidence). */
  readonly control: MetricFigures | null;
  readonly controlFrom: 'this step' | 'an earlier step' | null;
  /** The most the canary's value may be, when there is evidence to say. */
  readonly limit: number | null;
  readonly why: string;
}

export interface Judgement {
  readonly verdict: Verdict;
  readonly guards: readonly GuardResult[];
}

function fmt(x: number | null): string {
  return x === null ? 'n/a' : String(Math.round(x * 1e6) / 1e6);
}

/**
 * Each guard compared between the arms (pure). A guard gives no verdict until the canary, and for a
 * ratio the control, has `minSessions` sessions in its metric; the control arm of an earlier step
 * stands in when this step has none (at 100%). Any failing guard fails the whole; otherwise any guard
 * without a verdict leaves the whole without one.
 */
export function judge(
  guards: readonly GuardConfig[],
  canary: ArmFigures,
  control: ArmFigures,
  earlierControl: ArmFigures | undefined,
  minSessions: number,
): Judgement {
  const results = guards.map((g): GuardResult => {
    const c = canary[g.metric];
    let k: MetricFigures | null = null;
    let controlFrom: GuardResult['controlFrom'] = null;
    if (control[g.metric].sessions >= minSessions) {
      k = control[g.metric];
      controlFrom = 'this step';
    } else if (earlierControl && earlierControl[g.metric].sessions >= minSessions) {
      k = earlierControl[g.metric];
      controlFrom = 'an earlier step';
    }
    const base = { metric: g.metric, canary: c, control: k ?? control[g.metric], controlFrom };
    if (c.sessions < minSessions)
      return {
        ...base,
        verdict: 'no_verdict',
        limit: null,
        why: `canary: ${c.sessions} of ${minSessions} sessions`,
      };
    const limits: number[] = [];
    if (g.max !== undefined) limits.push(g.max);
    if (g.max_ratio !== undefined) {
      if (k === null)
        return {
          ...base,
          verdict: 'no_verdict',
          limit: g.max ?? null,
          why: `control: ${control[g.metric].sessions} of ${minSessions} sessions`,
        };
      limits.push(g.max_ratio * Math.max(k.value ?? 0, g.floor));
    }
    const limit = Math.min(...limits);
    const value = c.value ?? 0;
    const ok = value <= limit;
    return {
      ...base,
      verdict: ok ? 'pass' : 'fail',
      limit,
      why: `canary ${fmt(value)} ${ok ? '<=' : '>'} ${fmt(limit)}` + (k ? ` (control ${fmt(k.value)})` : ''),
    };
  });
  const verdict: Verdict = results.some((r) => r.verdict === 'fail')
    ? 'fail'
    : results.some((r) => r.verdict === 'no_verdict')
      ? 'no_verdict'
      : 'pass';
  return { verdict, guards: results };
}
