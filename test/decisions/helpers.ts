import { DECISION_SCHEMA_VERSION, type DecisionRecord } from '../../src/decisions/record';

/** A decision record as the log writes it, with the fields a test cares about overridden. */
export function rec(over: Partial<DecisionRecord> & { t: number }): DecisionRecord {
  const { t, ...rest } = over;
  return {
    v: DECISION_SCHEMA_VERSION,
    at: new Date(t).toISOString(),
    session: 's1',
    stream: 'live',
    protocol: 'hls',
    live: true,
    places: true,
    sampled: true,
    rate: 1,
    config: 1,
    policy: 'weighted',
    client: {},
    cdns: [
      { id: 'a', healthy: true, weight: 1, share: 0.5, errorRate: 0, latencyMs: 10 },
      { id: 'b', healthy: true, weight: 1, share: 0.5, errorRate: 0, latencyMs: 12 },
    ],
    cdn: 'a',
    reason: 'weighted: rendezvous',
    ...rest,
  };
}
