import type { ZodType } from 'zod';

export type CdnId = string;

/** One CDN as a policy sees it at the moment of a decision. */
export interface CdnView {
  readonly id: CdnId;
  readonly baseUrl: string;
  readonly weight: number;
  readonly healthy: boolean;
  /** Fraction of failed probes over the recent window, 0..1. */
  readonly errorRate: number;
  readonly latencyMs: number | null;
  /** Fraction of recent selections that went to this CDN, 0..1. */
  readonly share: number;
  readonly tags: Readonly<Record<string, string>>;
}

export interface SelectionRequest {
  readonly session: { readonly id: string; readonly startedAt: number; readonly previous?: CdnId };
  readonly client: {
    readonly ip: string;
    readonly country?: string;
    readonly region?: string;
    readonly userAgent?: string;
    readonly headers?: Readonly<Record<string, string | undefined>>;
    readonly cmcd?: Readonly<Record<string, string | number | boolean>>;
  };
  readonly stream: { readonly id: string; readonly protocol: 'hls' | 'dash'; readonly live: boolean };
  readonly cdns: readonly CdnView[];
  readonly now: number;
}

export interface Selection {
  readonly cdn: CdnId;
  /** Why, for the X-Switchyard-Reason header and the switch log. */
  readonly reason: string;
  /** Every candidate, best first: feeds steering pathway priority and failover. */
  readonly ranked?: readonly CdnId[];
}

/** Synchronous and on the hot path: no I/O. Data it needs arrives in the SelectionRequest. */
export interface CdnSelectionPolicy {
  readonly name: string;
  select(req: SelectionRequest): Selection;
}

export interface PolicyContext {
  /** Configured CDN ids, in config order. */
  readonly cdnIds: readonly CdnId[];
  /** Builds a child policy from a nested policy config (for composing policies). */
  createChild(config: unknown, path: readonly (string | number)[]): CdnSelectionPolicy;
}

export interface PolicyFactory<O> {
  readonly type: string;
  readonly options: ZodType<O>;
  /** Checks options against the rest of the config (e.g. CDN ids); returns problems as messages. */
  check?(options: O, ctx: Pick<PolicyContext, 'cdnIds'>): { path: (string | number)[]; message: string }[];
  create(options: O, ctx: PolicyContext): CdnSelectionPolicy;
}
