import path from 'node:path';
import type { Config } from '../config/schema';
import type { DecisionRecord } from '../decisions/record';
import { bucketFor } from '../decisions/summary';
import { BYTES_PER_GB } from '../policy/cost';
import type { PolicyRegistry } from '../policy/registry';
import { recorded, replay, replayOrder, type ReplayedDecision } from './replay';

export const WHATIF_REPORT_VERSION = 1;

/** Most moves and problems listed one by one (all are counted). */
const MAX_LISTED = 1_000;

export interface WhatifOptions {
  readonly records: readonly DecisionRecord[];
  readonly candidate: Config;
  /** The config to compare with, replayed the same way; default: the decisions as recorded. */
  readonly current?: Config;
  readonly registry: PolicyRegistry;
  /** Replay as if the log had started at this instant (ms). */
  readonly at?: number;
  /** Share-over-time bucket; default at most 48 buckets over the log. */
  readonly bucketMs?: number;
  /** Shown in the report: where the candidate and the log came from. */
  readonly labels?: { readonly candidate?: string; readonly current?: string; readonly log?: string };
}

export interface SessionMove {
  readonly session: string;
  readonly stream: string;
  /** The first recorded request at which the candidate would send the session elsewhere. */
  readonly at: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface Problem {
  readonly at: string;
  readonly session: string;
  readonly stream: string;
  readonly kind: 'error' | 'no_healthy_cdn';
  readonly message: string;
}

export interface CostLine {
  readonly cdn: string;
  readonly pricePerGB: number | null;
  readonly commitGB: number;
  readonly currentGB: number;
  readonly candidateGB: number;
  /** Pay-as-you-go beyond the commit over the replayed span, extrapolated from the sample. */
  readonly currentOverage: number;
  readonly candidateOverage: number;
}

export interface WhatifReport {
  readonly version: number;
  readonly log: {
    readonly source: string;
    readonly records: number;
    readonly replayed: number;
    readonly sessions: number;
    readonly from: string | null;
    readonly to: string | null;
    /** The instant the replay started at (the log's first time, or --at). */
    readonly replayedAt: string | null;
    readonly sampleRates: readonly number[];
  };
  readonly current: { readonly label: string; readonly policy: string };
  readonly candidate: { readonly label: string; readonly policy: string };
  readonly cdns: readonly string[];
  readonly bucketMs: number;
  /** Share of segment-placing decisions of sampled sessions per CDN per bucket, both sides. */
  readonly shares: readonly {
    readonly start: string;
    readonly decisions: number;
    readonly current: Readonly<Record<string, number>>;
    readonly candidate: Readonly<Record<string, number>>;
  }[];
  readonly totals: readonly {
    readonly cdn: string;
    readonly currentShare: number;
    readonly candidateShare: number;
  }[];
  readonly moves: {
    /** Sessions the candidate would send to another CDN at some recorded request. */
    readonly sessions: number;
    readonly ofSessions: number;
    readonly byPair: readonly { readonly from: string; readonly to: string; readonly sessions: number }[];
    readonly listed: readonly SessionMove[];
  };
  readonly cost: {
    readonly period: string;
    readonly lines: readonly CostLine[];
    readonly note: string;
  } | null;
  readonly problems: { readonly count: number; readonly listed: readonly Problem[] };
  readonly notes: readonly string[];
}

/** Replays a log through the candidate (and the current config, or the recording) and compares. Pure. */
export function whatif(options: WhatifOptions): WhatifReport {
  const records = replayOrder(options.records);
  const first = records[0];
  const firstAt = first ? Date.parse(first.at) : undefined;
  const shiftMs = options.at !== undefined && firstAt !== undefined ? options.at - firstAt : 0;
  const candidate = replay({ records, config: options.candidate, registry: options.registry, shiftMs });
  const current =
    options.current === undefined
      ? recorded(records)
      : replay({ records, config: options.current, registry: options.registry, shiftMs });
  const cdns = [
    ...new Set([
      ...(options.current?.cdns.map((c) => c.id) ?? records.flatMap((r) => r.cdns.map((c) => c.id))),
      ...options.candidate.cdns.map((c) => c.id),
    ]),
  ].sort();
  const iso = (r: DecisionRecord) => new Date(Date.parse(r.at) + shiftMs).toISOString();

  // Shares over time: sampled sessions' segment-placing decisions (switch-only records would skew them).
  const last = records[records.length - 1];
  const span = first && last ? Date.parse(last.at) - Date.parse(first.at) : 0;
  const bucketMs = options.bucketMs ?? bucketFor(span, 48);
  const origin = firstAt === undefined ? 0 : Math.floor((firstAt + shiftMs) / bucketMs) * bucketMs;
  const buckets = new Map<number, { n: number; cur: Map<string, number>; cand: Map<string, number> }>();
  const totalCur = new Map<string, number>();
  const totalCand = new Map<string, number>();
  let placed = 0;
  records.forEach((r, i) => {
    if (!r.places || !r.sampled) return;
    const b = Math.floor((Date.parse(r.at) + shiftMs - origin) / bucketMs);
    let row = buckets.get(b);
    if (!row) buckets.set(b, (row = { n: 0, cur: new Map(), cand: new Map() }));
    row.n++;
    placed++;
    const c = current[i]?.cdn;
    const d = candidate[i]?.cdn;
    if (c !== undefined) {
      row.cur.set(c, (row.cur.get(c) ?? 0) + 1);
      totalCur.set(c, (totalCur.get(c) ?? 0) + 1);
    }
    if (d !== undefined) {
      row.cand.set(d, (row.cand.get(d) ?? 0) + 1);
      totalCand.set(d, (totalCand.get(d) ?? 0) + 1);
    }
  });
  const frac = (m: Map<string, number>, n: number): Record<string, number> =>
    Object.fromEntries(cdns.map((id) => [id, n === 0 ? 0 : round((m.get(id) ?? 0) / n)]));
  const shares = [...buckets.keys()]
    .sort((a, b) => a - b)
    .map((b) => {
      const row = buckets.get(b) as { n: number; cur: Map<string, number>; cand: Map<string, number> };
      return {
        start: new Date(origin + b * bucketMs).toISOString(),
        decisions: row.n,
        current: frac(row.cur, row.n),
        candidate: frac(row.cand, row.n),
      };
    });
  const totals = cdns.map((cdn) => ({
    cdn,
    currentShare: placed === 0 ? 0 : round((totalCur.get(cdn) ?? 0) / placed),
    candidateShare: placed === 0 ? 0 : round((totalCand.get(cdn) ?? 0) / placed),
  }));

  // Moves: per session, the first request where the candidate's CDN differs from the current one.
  const moved = new Map<string, SessionMove>();
  const sessions = new Set<string>();
  records.forEach((r, i) => {
    sessions.add(r.session);
    const c = current[i]?.cdn;
    const d = candidate[i];
    if (moved.has(r.session) || c === undefined || d?.cdn === undefined || d.cdn === c) return;
    moved.set(r.session, {
      session: r.session,
      stream: r.stream,
      at: iso(r),
      from: c,
      to: d.cdn,
      reason: d.reason ?? '',
    });
  });
  const pairs = new Map<string, number>();
  for (const m of moved.values()) {
    const key = `${m.from}\u0000${m.to}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  const byPair = [...pairs]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => {
      const [from, to] = k.split('\u0000') as [string, string];
      return { from, to, sessions: n };
    });

  // Problems: every request where the candidate errs or has no healthy CDN to give.
  const problems: Problem[] = [];
  let problemCount = 0;
  records.forEach((r, i) => {
    const d = candidate[i] as ReplayedDecision;
    if (d.error === undefined && !d.noHealthy) return;
    problemCount++;
    if (problems.length >= MAX_LISTED) return;
    problems.push({
      at: iso(r),
      session: r.session,
      stream: r.stream,
      kind: d.error !== undefined ? 'error' : 'no_healthy_cdn',
      message: d.error ?? `no healthy CDN: ${d.cdn ?? '?'} (${d.reason ?? ''})`,
    });
  });

  const notes: string[] = [];
  const seen = new Set(records.flatMap((r) => r.cdns.map((c) => c.id)));
  for (const c of options.candidate.cdns)
    if (!seen.has(c.id))
      notes.push(
        `CDN ${c.id} of the candidate was never observed in the log: replayed as unhealthy (no evidence it would serve)`,
      );
  const unsampled = records.filter((r) => !r.sampled).length;
  if (unsampled > 0)
    notes.push(
      `${unsampled} record(s) were kept only because their session switched: replayed for moves and problems, left out of shares and cost`,
    );
  notes.push('The replay starts from empty state: no session memory, volume ledgers at zero.');

  const cost = costReport(records, current, candidate, options, cdns);
  const rates = [...new Set(records.map((r) => r.rate))].sort((a, b) => a - b);
  return {
    version: WHATIF_REPORT_VERSION,
    log: {
      source: options.labels?.log ?? 'decision log',
      records: options.records.length,
      replayed: records.length,
      sessions: sessions.size,
      from: first ? first.at : null,
      to: last ? last.at : null,
      replayedAt: first ? iso(first) : null,
      sampleRates: rates,
    },
    current: {
      label: options.labels?.current ?? (options.current ? 'current config (replayed)' : 'as recorded'),
      policy: options.current
        ? policyName(options.current)
        : [...new Set(records.map((r) => r.policy))].join(', ') || '–',
    },
    candidate: { label: options.labels?.candidate ?? 'candidate', policy: policyName(options.candidate) },
    cdns,
    bucketMs,
    shares,
    totals,
    moves: {
      sessions: moved.size,
      ofSessions: sessions.size,
      byPair,
      listed: [...moved.values()].slice(0, MAX_LISTED),
    },
    cost,
    problems: { count: problemCount, listed: problems },
    notes,
  };
}

interface CostTerms {
  readonly period: string;
  readonly cdns: Readonly<Record<string, { readonly pricePerGB: number; readonly commitGB: number }>>;
}

/** The first `cost` policy in a policy tree (its options), if any. */
export function findCostTerms(policy: unknown, depth = 0): CostTerms | undefined {
  if (depth > 32 || typeof policy !== 'object' || policy === null) return undefined;
  const p = policy as Record<string, unknown>;
  if (p.type === 'cost' && typeof p.cdns === 'object' && p.cdns !== null) {
    const cdns: Record<string, { pricePerGB: number; commitGB: number }> = {};
    for (const [id, t] of Object.entries(
      p.cdns as Record<string, { pricePerGB?: unknown; commitGB?: unknown }>,
    )) {
      cdns[id] = {
        pricePerGB: typeof t.pricePerGB === 'number' ? t.pricePerGB : 0,
        commitGB: typeof t.commitGB === 'number' ? t.commitGB : 0,
      };
    }
    return { period: typeof p.period === 'string' ? p.period : 'month', cdns };
  }
  for (const v of Object.values(p)) {
    const found = Array.isArray(v)
      ? v.map((x) => findCostTerms(x, depth + 1)).find((t) => t !== undefined)
      : findCostTerms(v, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function costReport(
  records: readonly DecisionRecord[],
  current: readonly ReplayedDecision[],
  candidate: readonly ReplayedDecision[],
  options: WhatifOptions,
  cdns: readonly string[],
): WhatifReport['cost'] {
  const terms = findCostTerms(options.candidate.policy) ?? findCostTerms(options.current?.policy);
  if (!terms) return null;
  const cur = new Map<string, number>();
  const cand = new Map<string, number>();
  records.forEach((r, i) => {
    if (!r.places || !r.sampled || r.delivery === undefined || r.rate <= 0) return;
    // Each sampled decision stands for 1/rate decisions of the whole audience.
    const bytes = (r.delivery.mediaSeconds * r.delivery.bitrateBps) / 8 / r.rate;
    const c = current[i]?.cdn;
    const d = candidate[i]?.cdn;
    if (c !== undefined) cur.set(c, (cur.get(c) ?? 0) + bytes);
    if (d !== undefined) cand.set(d, (cand.get(d) ?? 0) + bytes);
  });
  const lines = cdns.map((cdn) => {
    const t = terms.cdns[cdn];
    const commitGB = t?.commitGB ?? 0;
    const currentGB = round((cur.get(cdn) ?? 0) / BYTES_PER_GB);
    const candidateGB = round((cand.get(cdn) ?? 0) / BYTES_PER_GB);
    const overage = (gb: number) => (t === undefined ? 0 : round(Math.max(0, gb - commitGB) * t.pricePerGB));
    return {
      cdn,
      pricePerGB: t?.pricePerGB ?? null,
      commitGB,
      currentGB,
      candidateGB,
      currentOverage: overage(currentGB),
      candidateOverage: overage(candidateGB),
    };
  });
  return {
    period: terms.period,
    lines,
    note: 'Volume over the replayed span only (not the whole billing period), estimated from the sampled sessions and scaled by 1/sample rate; commits as if nothing had been delivered before it.',
  };
}

function policyName(config: Config): string {
  const p = config.policy as Record<string, unknown>;
  return typeof p.type === 'string'
    ? p.type
    : typeof p.module === 'string'
      ? `module ${path.basename(p.module)}`
      : 'custom';
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
