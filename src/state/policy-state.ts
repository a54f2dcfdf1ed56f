import type { QoeAggregates } from '../qoe/aggregate';
import { InMemoryVolumeLedger, type VolumeLedger } from './ledger';
import { SessionMemory, type SessionMemoryOptions } from './session-memory';

/**
 * The state policies read and write that outlives one config: session memory (previous CDN, dwell),
 * the delivered-volume ledger, and long-lived per-key objects (e.g. QoE scores). It belongs to the
 * state store (shared by a fleet with Redis), not to any policy: the runtime builds one and hands it
 * to every policy through PolicyContext.shared, so a reload builds new policies over the same state.
 */
export interface SharedPolicyState {
  readonly sessions: SessionMemory;
  readonly ledger: VolumeLedger;
  /**
   * The fleet's QoE aggregates (CMCD/CMSD per CDN x country x ASN, fed by the server's readers), when
   * the policy runs in a server; absent for a policy built alone (it then counts what it sees itself).
   */
  readonly qoe?: QoeAggregates;
  /** One long-lived object per key (e.g. 'qoe:scores'), created on first use. */
  get<T>(key: string, init: () => T): T;
}

/** A policy state over the given session memory and ledger (in-process ones by default). */
export function createPolicyState(
  parts: {
    sessions?: SessionMemory;
    ledger?: VolumeLedger;
    qoe?: QoeAggregates;
    sessionOptions?: SessionMemoryOptions;
  } = {},
): SharedPolicyState {
  const objects = new Map<string, unknown>();
  return {
    sessions: parts.sessions ?? new SessionMemory(parts.sessionOptions),
    ledger: parts.ledger ?? new InMemoryVolumeLedger(),
    ...(parts.qoe ? { qoe: parts.qoe } : {}),
    get<T>(key: string, init: () => T): T {
      if (!objects.has(key)) objects.set(key, init());
      return objects.get(key) as T;
    },
  };
}
