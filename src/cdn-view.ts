/**
 * One CDN as a policy sees it: its config, its health verdict and its share of recent selections. A
 * leaf: the health monitor builds these (src/health) and policies read them (src/policy), neither
 * importing the other.
 */
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
  /**
   * The CDN's CMSD said `du` (duress) on its last probe: it still serves, and asks clients to move off
   * it. Absent when not under duress.
   */
  readonly duress?: boolean;
  readonly tags: Readonly<Record<string, string>>;
}
