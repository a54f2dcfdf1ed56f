import type { RolloutMetric } from '../config/schema';
import type { QoeSignal } from '../qoe/signals';
import type { Arm } from './arms';

/** Distinct sessions counted per arm and metric at most (memory bound; the evidence is ample by then). */
const MAX_SESSIONS = 500_000;

/** One arm's figures for one metric: numerator / denominator over the sessions that reported. */
export interface MetricFigures {
  readonly value: number | null;
  readonly sessions: number;
  readonly numerator: number;
  readonly denominator: number;
}

export type ArmFigures = Readonly<Record<RolloutMetric, MetricFigures>>;

class Tally {
  numerator = 0;
  denominator = 0;
  readonly sessions = new Set<string>();

  add(session: string, numerator: number, denominator: number): void {
    this.numerator += numerator;
    this.denominator += denominator;
    if (this.sessions.size < MAX_SESSIONS) this.sessions.add(session);
  }

  figures(): MetricFigures {
    return {
      value: this.denominator > 0 ? this.numerator / this.denominator : null,
      sessions: this.sessions.size,
      numerator: this.numerator,
      denominator: this.denominator,
    };
  }
}

/**
 * What the arms did during one rollout step: segment errors and rebuffering from QoE signals, manifest
 * answers from Switchyard itself, each attributed to the arm of its session.
 */
export class ArmEvidence {
  private readonly tallies: Record<Arm, Record<RolloutMetric, Tally>> = {
    control: {
      segment_error_rate: new Tally(),
      rebuffer_ratio: new Tally(),
      manifest_error_rate: new Tally(),
    },
    canary: {
      segment_error_rate: new Tally(),
      rebuffer_ratio: new Tally(),
      manifest_error_rate: new Tally(),
    },
  };

  signal(arm: Arm, s: QoeSignal & { sessionId: string }): void {
    const t = this.tallies[arm];
    const requests = s.segmentRequests ?? 0;
    if (requests > 0)
      t.segment_error_rate.add(s.sessionId, Math.min(s.segmentErrors ?? 0, requests), requests);
    const play = s.playMs ?? 0;
    const rebuffer = s.rebufferMs ?? 0;
    if (play > 0 || rebuffer > 0) t.rebuffer_ratio.add(s.sessionId, rebuffer, play + rebuffer);
  }

  manifest(arm: Arm, session: string, failed: boolean): void {
    this.tallies[arm].manifest_error_rate.add(session, failed ? 1 : 0, 1);
  }

  figures(arm: Arm): ArmFigures {
    const t = this.tallies[arm];
    return {
      segment_error_rate: t.segment_error_rate.figures(),
      rebuffer_ratio: t.rebuffer_ratio.figures(),
      manifest_error_rate: t.manifest_error_rate.figures(),
    };
  }
}
