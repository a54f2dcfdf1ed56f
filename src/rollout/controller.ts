import type { Logger } from 'pino';
import type { CdnConfig, RolloutConfig } from '../config/schema';
import type { CdnSelectionPolicy, CdnView } from '../policy/types';
import type { QoeSignalBus } from '../qoe/signals';
import { armOf, type Arm } from './arms';
import type { Candidate } from './candidate';
import { ArmEvidence, type ArmFigures } from './evidence';
import { judge, type Judgement } from './verdict';

export type RolloutState = 'running' | 'failing' | 'aborted' | 'promoted';

export interface RolloutEvent {
  readonly at: number;
  readonly event: 'start' | 'step' | 'failing' | 'recovered' | 'abort' | 'promote';
  readonly share: number;
  readonly by?: 'guards' | 'operator' | 'steps';
  readonly detail: string;
  /** The guards' figures when the event was decided by them. */
  readonly judgement?: Judgement;
}

export interface RolloutDeps {
  readonly now: () => number;
  readonly logger: Logger;
  readonly bus: QoeSignalBus;
  /** Makes the candidate the live config (and writes it where configured); throws when it cannot. */
  readonly promote: (candidate: Candidate) => void;
}

/** What /admin/rollout, /metrics and the status page show. */
export interface RolloutSnapshot {
  readonly id: string;
  readonly candidate: string;
  readonly state: RolloutState;
  readonly share: number;
  readonly stage: number;
  readonly stages: readonly number[];
  readonly stepStartedAt: number;
  readonly rollback: RolloutConfig['rollback'];
  readonly minSessions: number;
  readonly arms: Readonly<Record<Arm, ArmFigures>>;
  readonly judgement: Judgement | null;
  readonly history: readonly RolloutEvent[];
}

const MAX_HISTORY = 100;

/**
 * One canary rollout: which sessions get the candidate's decisions (the canary arm, by rendezvous
 * hash of the session id), the evidence per arm during the current step, and the verdicts that
 * advance, promote or abort it. Decisions and evidence arrive synchronously from the request path;
 * verdicts are given on a timer every `interval`. An aborted or promoted rollout puts every session in
 * the control arm, i.e. back on the live config at its next reload.
 */
export class RolloutController {
  readonly id: string;
  readonly policy: CdnSelectionPolicy;
  private readonly settings: RolloutConfig;
  private readonly cdns: ReadonlyMap<string, CdnConfig>;
  private readonly stages: readonly number[];
  private stage = 0;
  private status: RolloutState = 'running';
  private stepStartedAt: number;
  private evidence = new ArmEvidence();
  private earlierControl: ArmFigures | undefined;
  private judgement: Judgement | null = null;
  private readonly history: RolloutEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private viewsCache: { live: readonly CdnView[]; views: CdnView[] } | undefined;

  constructor(
    readonly candidate: Candidate,
    settings: RolloutConfig,
    policy: CdnSelectionPolicy,
    private readonly deps: RolloutDeps,
  ) {
    this.id = candidate.id;
    this.settings = settings;
    this.policy = policy;
    this.cdns = new Map(candidate.config.cdns.map((c) => [c.id, c]));
    const stages = [settings.share, ...(settings.step?.to ?? [])];
    this.stages = stages.filter((s, i) => i === 0 || s !== stages[i - 1]);
    this.stepStartedAt = deps.now();
    this.log('start', undefined, `canary at ${pct(this.share)} of sessions, candidate ${candidate.file}`);
  }

  get state(): RolloutState {
    return this.status;
  }

  get share(): number {
    return this.active ? (this.stages[this.stage] as number) : 0;
  }

  private get active(): boolean {
    return this.status === 'running' || this.status === 'failing';
  }

  /** Whether the rollout still splits sessions (running, or failing under manual rollback). */
  get running(): boolean {
    return this.active;
  }

  /** The session's arm now (control for everyone once the rollout is over). */
  armOf(sessionId: string): Arm {
    return this.active ? armOf(sessionId, this.stages[this.stage] as number, this.id) : 'control';
  }

  /** The live views as the candidate's policy sees them: its CDNs, with its weights and tags. */
  views(live: readonly CdnView[]): readonly CdnView[] {
    const cached = this.viewsCache;
    if (cached?.live === live) return cached.views;
    const views: CdnView[] = [];
    for (const v of live) {
      const c = this.cdns.get(v.id);
      if (c !== undefined) views.push({ ...v, weight: c.weight, tags: c.tags });
    }
    this.viewsCache = { live, views };
    return views;
  }

  /** A manifest Switchyard answered for a session (failed: a 5xx). */
  manifestAnswered(sessionId: string, failed: boolean): void {
    if (!this.active) return;
    this.evidence.manifest(this.armOf(sessionId), sessionId, failed);
  }

  start(): void {
    if (this.timer || !this.active) return;
    this.unsubscribe = this.deps.bus.subscribe((s) => {
      if (s.sessionId === undefined || !this.active) return;
      this.evidence.signal(this.armOf(s.sessionId), { ...s, sessionId: s.sessionId });
    });
    this.timer = setInterval(() => this.evaluate(), this.settings.interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** One evaluation: abort on a failed guard (or flag it, with manual rollback), else maybe advance. */
  evaluate(): void {
    if (!this.active) return;
    const now = this.deps.now();
    const j = judge(
      this.settings.guards,
      this.evidence.figures('canary'),
      this.evidence.figures('control'),
      this.earlierControl,
      this.settings.minSessions,
    );
    this.judgement = j;
    if (j.verdict === 'fail') {
      if (this.settings.rollback === 'automatic') {
        this.finish('abort', 'guards', failedText(j), j);
      } else if (this.status === 'running') {
        this.status = 'failing';
        this.log('failing', 'guards', `${failedText(j)}: waiting for an operator (rollback: manual)`, j);
      }
      return;
    }
    if (this.status === 'failing') {
      this.status = 'running';
      this.log('recovered', 'guards', 'no guard fails any more', j);
    }
    const step = this.settings.step;
    if (step === undefined || j.verdict !== 'pass' || now - this.stepStartedAt < step.every) return;
    if (this.stage < this.stages.length - 1) {
      this.earlierControl = merged(
        this.evidence.figures('control'),
        this.earlierControl,
        this.settings.minSessions,
      );
      this.stage++;
      this.evidence = new ArmEvidence();
      this.stepStartedAt = now;
      this.log('step', 'guards', `canary at ${pct(this.share)} of sessions`, j);
      return;
    }
    this.promote('steps', j);
  }

  /** Operator abort: every canary session goes back to the live config at its next reload. */
  abort(detail = 'aborted by an operator'): boolean {
    if (!this.active) return false;
    this.finish('abort', 'operator', detail, this.judgement ?? undefined);
    return true;
  }

  /** Makes the candidate live now (operator, or the last step passed). */
  promote(by: 'operator' | 'steps' = 'operator', j?: Judgement): boolean {
    if (!this.active) return false;
    const judgement = j ?? this.judgement ?? undefined;
    const share = this.share;
    this.finish('promote', by, `candidate ${this.candidate.file} is the live config`, judgement);
    try {
      this.deps.promote(this.candidate);
    } catch (err) {
      // Nothing changed: the live config keeps serving, and every session is in the control arm.
      this.status = 'aborted';
      this.log(
        'abort',
        by,
        `promotion failed (${(err as Error).message.split('\n')[0] ?? ''}): the live config keeps serving`,
        judgement,
        share,
      );
      return false;
    }
    return true;
  }

  private finish(
    event: 'abort' | 'promote',
    by: 'guards' | 'operator' | 'steps',
    detail: string,
    j?: Judgement,
  ): void {
    const share = this.share;
    this.status = event === 'abort' ? 'aborted' : 'promoted';
    this.stop();
    this.log(event, by, detail, j, share);
  }

  snapshot(): RolloutSnapshot {
    return {
      id: this.id,
      candidate: this.candidate.file,
      state: this.status,
      share: this.share,
      stage: this.stage,
      stages: this.stages,
      stepStartedAt: this.stepStartedAt,
      rollback: this.settings.rollback,
      minSessions: this.settings.minSessions,
      arms: { control: this.evidence.figures('control'), canary: this.evidence.figures('canary') },
      judgement: this.judgement,
      history: [...this.history],
    };
  }

  private log(
    event: RolloutEvent['event'],
    by: RolloutEvent['by'],
    detail: string,
    judgement?: Judgement,
    share = this.share,
  ): void {
    const entry: RolloutEvent = {
      at: this.deps.now(),
      event,
      share,
      ...(by === undefined ? {} : { by }),
      detail,
      ...(judgement === undefined ? {} : { judgement }),
    };
    this.history.push(entry);
    if (this.history.length > MAX_HISTORY) this.history.splice(0, this.history.length - MAX_HISTORY);
    const level = event === 'abort' || event === 'failing' ? 'warn' : 'info';
    this.deps.logger[level](
      {
        event: `rollout_${event}`,
        rollout: this.id,
        share,
        ...(by === undefined ? {} : { by }),
        ...(judgement === undefined
          ? {}
          : {
              evidence: judgement.guards.map((g) => ({
                metric: g.metric,
                verdict: g.verdict,
                canary: g.canary,
                control: g.control,
                limit: g.limit,
                why: g.why,
              })),
            }),
      },
      `rollout ${event}: ${detail}`,
    );
  }
}

/** Per metric, this step's control figures when they are evidence enough, else the earlier ones. */
function merged(now: ArmFigures, earlier: ArmFigures | undefined, minSessions: number): ArmFigures {
  const pick = <K extends keyof ArmFigures>(k: K) =>
    now[k].sessions >= minSessions || earlier === undefined ? now[k] : earlier[k];
  return {
    segment_error_rate: pick('segment_error_rate'),
    rebuffer_ratio: pick('rebuffer_ratio'),
    manifest_error_rate: pick('manifest_error_rate'),
  };
}

function failedText(j: Judgement): string {
  return j.guards
    .filter((g) => g.verdict === 'fail')
    .map((g) => `${g.metric}: ${g.why}`)
    .join('; ');
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}
