import type { ZodType } from 'zod';
import type { SharedPolicyState } from '../state/policy-state';

export type { SharedPolicyState } from '../state/policy-state';

export type { CdnId, CdnView } from '../cdn-view';
import type { CdnId, CdnView } from '../cdn-view';

export interface SelectionRequest {
  readonly session: {
    readonly id: string;
    readonly startedAt: number;
    readonly previous?: CdnId;
    /**
     * Asked by the stickiness layer before it moves the session from a healthy CDN to another: a
     * reason to stay instead (e.g. the new CDN does not serve the live playlist's newest segment yet),
     * or undefined to let it move. Set by the server for live rewrite-mode playlists.
     */
    readonly vetoSwitch?: (from: CdnId, to: CdnId) => string | undefined;
  };
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
  /**
   * Set (by withStickiness / the `sticky` policy) when this decision moves the session off the CDN it
   * had: the server logs one line per switch with session, from, to and reason.
   */
  readonly switched?: { readonly from: CdnId; readonly to: CdnId };
}

/**
 * What the server tells policies after the fact, through CdnSelectionPolicy.observe. Every field is
 * data the server already has; observe is synchronous and must stay cheap (no I/O).
 */
export type PolicyEvent =
  | {
      /**
       * Media the session will fetch from `cdn` because of a manifest Switchyard served: estimated from
       * the segments' duration and the variant's bandwidth (bytes = mediaSeconds * bitrateBps / 8).
       */
      readonly kind: 'delivery';
      readonly sessionId: string;
      readonly streamId: string;
      readonly cdn: CdnId;
      readonly mediaSeconds: number;
      readonly bitrateBps: number;
      readonly at: number;
    }
  | {
      /** A player's report (CMCD on a playlist/segment request, or steering `_HLS_throughput`). */
      readonly kind: 'cmcd';
      readonly sessionId: string;
      readonly cdn: CdnId;
      readonly cmcd: Readonly<Record<string, string | number | boolean>>;
      readonly at: number;
    }
  | {
      /**
       * The session was put on `cdn` by someone other than this policy (a wrapper kept it on its
       * previous CDN): stateful policies fix their accounting with it.
       */
      readonly kind: 'assigned';
      readonly sessionId: string;
      readonly cdn: CdnId;
      readonly at: number;
    };

/** Synchronous and on the hot path: no I/O. Data it needs arrives in the SelectionRequest. */
export interface CdnSelectionPolicy {
  readonly name: string;
  select(req: SelectionRequest): Selection;
  /** Optional: feedback after the decision. Composite policies forward it to their children. */
  observe?(event: PolicyEvent): void;
}

export interface PolicyContext {
  /** Configured CDN ids, in config order. */
  readonly cdnIds: readonly CdnId[];
  /** Builds a child policy from a nested policy config (for composing policies). */
  createChild(config: unknown, path: readonly (string | number)[]): CdnSelectionPolicy;
  /**
   * State that survives config reloads (session memory, volume ledger, scores), owned by the state
   * store (src/state) and handed in here; policies keep no state of their own beyond it.
   */
  readonly shared: SharedPolicyState;
}

export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

export interface CheckContext {
  readonly cdnIds: readonly CdnId[];
  /**
   * Validates a nested policy config (recursively); `path` is relative to this policy's options, e.g.
   * ['rules', 2, 'policy']. Returns its problems with paths relative to this policy's options.
   */
  validateChild(config: unknown, path: readonly (string | number)[]): PolicyIssue[];
}

export interface PolicyFactory<O> {
  readonly type: string;
  readonly options: ZodType<O>;
  /** Checks options against the rest of the config (e.g. CDN ids); returns problems as messages. */
  check?(options: O, ctx: CheckContext): PolicyIssue[];
  create(options: O, ctx: PolicyContext): CdnSelectionPolicy;
}
