import type { Config } from '../config/schema';
import type { DecisionRecord } from '../decisions/record';
import type { PolicyRegistry } from '../policy/registry';
import type { CdnView, SelectionRequest } from '../policy/types';
import { createPolicyState } from '../state/policy-state';

/** What one policy decided (or failed to) for one recorded request. */
export interface ReplayedDecision {
  readonly cdn?: string;
  readonly reason?: string;
  /** The policy threw, or chose a CDN the config does not have. */
  readonly error?: string;
  /** No CDN the policy could choose was healthy in the recorded views (it fell back to an unhealthy one). */
  readonly noHealthy: boolean;
}

export interface ReplayInput {
  /** Records in log order; replayed in time order (ties keep log order). */
  readonly records: readonly DecisionRecord[];
  readonly config: Config;
  readonly registry: PolicyRegistry;
  /** Added to every record's time: replays the log as if it had happened then (billing periods, rules by time). */
  readonly shiftMs?: number;
}

/** Records sorted by time, ties in log order: the order every replay uses. */
export function replayOrder(records: readonly DecisionRecord[]): DecisionRecord[] {
  return records
    .map((r, i) => ({ r, i, t: Date.parse(r.at) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.r);
}

/**
 * The CDNs as the config's policy would have seen them at a recorded decision: the recorded health,
 * share, error rate and latency, with the config's weight and tags. A CDN of the config that the
 * record does not list was not observed then: it counts as unhealthy (no evidence it would have
 * served). CDNs the config does not have are left out.
 */
export function viewsFor(record: DecisionRecord, config: Config): CdnView[] {
  const recorded = new Map(record.cdns.map((c) => [c.id, c]));
  return config.cdns.map((c) => {
    const seen = recorded.get(c.id);
    return {
      id: c.id,
      baseUrl: c.baseUrl,
      weight: c.weight,
      tags: c.tags,
      healthy: seen?.healthy ?? false,
      errorRate: seen?.errorRate ?? 0,
      latencyMs: seen?.latencyMs ?? null,
      share: seen?.share ?? 0,
    };
  });
}

/**
 * Replays recorded requests through a config's policy, from empty state (session memory, volume
 * ledger), on the records' own clock: the same records and config give the same decisions, always.
 * Records must be in replay order (replayOrder). Pure but for the policy modules a config loads.
 */
export function replay(input: ReplayInput): ReplayedDecision[] {
  const { config } = input;
  const shift = input.shiftMs ?? 0;
  let clock = 0;
  const state = createPolicyState({
    sessionOptions: { now: () => clock, max: Math.max(1_000, input.records.length) },
  });
  const cdnIds = config.cdns.map((c) => c.id);
  const known = new Set(cdnIds);
  const policy = input.registry.create(config.policy, cdnIds, ['policy'], { state });
  const startedAt = new Map<string, number>();
  const out: ReplayedDecision[] = [];
  for (const r of input.records) {
    const now = Date.parse(r.at) + shift;
    clock = now;
    if (!startedAt.has(r.session)) startedAt.set(r.session, now);
    const cdns = viewsFor(r, config);
    const headers: Record<string, string | undefined> = { ...r.client.headers };
    if (r.client.userAgent !== undefined) headers['user-agent'] = r.client.userAgent;
    const request: SelectionRequest = {
      session: { id: r.session, startedAt: startedAt.get(r.session) ?? now },
      client: {
        ip: '',
        ...(r.client.country === undefined ? {} : { country: r.client.country }),
        ...(r.client.region === undefined ? {} : { region: r.client.region }),
        ...(r.client.userAgent === undefined ? {} : { userAgent: r.client.userAgent }),
        headers,
        ...(r.client.cmcd === undefined ? {} : { cmcd: r.client.cmcd }),
      },
      stream: { id: r.stream, protocol: r.protocol, live: r.live },
      cdns,
      now,
    };
    const noHealthy = !cdns.some((c) => c.healthy && c.weight > 0);
    try {
      const s = policy.select(request);
      if (!known.has(s.cdn)) {
        out.push({ error: `policy ${policy.name} chose unknown CDN "${s.cdn}"`, noHealthy });
        continue;
      }
      const chosen = cdns.find((c) => c.id === s.cdn);
      out.push({ cdn: s.cdn, reason: s.reason, noHealthy: noHealthy || chosen?.healthy !== true });
      // A sampled decision stands for 1/rate of the audience's: ledgers (commits) fill at the real pace.
      // Records kept only because they switched stand for nobody else.
      if (r.places && r.sampled && r.rate > 0 && r.delivery !== undefined && policy.observe) {
        policy.observe({
          kind: 'delivery',
          sessionId: r.session,
          streamId: r.stream,
          cdn: s.cdn,
          mediaSeconds: r.delivery.mediaSeconds,
          bitrateBps: r.delivery.bitrateBps / r.rate,
          at: now,
        });
      }
    } catch (err) {
      out.push({ error: firstLine(err), noHealthy });
    }
  }
  return out;
}

/** What the log says happened, in the same shape (the baseline when no current config is given). */
export function recorded(records: readonly DecisionRecord[]): ReplayedDecision[] {
  return records.map((r) => {
    const chosen = r.cdns.find((c) => c.id === r.cdn);
    return { cdn: r.cdn, reason: r.reason, noHealthy: chosen?.healthy !== true };
  });
}

function firstLine(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' ? message : String(err);
  return (text.split('\n')[0] ?? text).slice(0, 300);
}
