/**
 * The maths of the report, as pure functions over what the recorder collected, and the report's
 * shape (JSON, versioned). Times are milliseconds since the start of the run unless a name says so.
 */
import { describeAction, isOutage, LoadtestUsageError, parseDurationMs, type Fault } from './faults';
import { summarize, type LatencySummary, type Recorder } from './recorder';

export interface Evacuation {
  /** From the fault to the start of the last segment request to that CDN; null: never left it. */
  readonly evacuateMs: number | null;
  /** Segment requests to the CDN from the fault on (within the fault's window). */
  readonly requestsAfterFault: number;
  readonly lastRequestMs: number | null;
}

/**
 * Time to evacuate: from a CDN fault until no session fetches from that CDN any more. `times` are the
 * starts of segment requests to the CDN, ascending. Evacuated means quiet for `settleMs` before the
 * window ends (the fault's end, or the run's): a player fetching every segment would have asked again.
 */
export function timeToEvacuate(
  times: readonly number[],
  faultAtMs: number,
  windowEndMs: number,
  settleMs: number,
): Evacuation {
  let first = lowerBound(times, faultAtMs);
  let last: number | null = null;
  let n = 0;
  for (; first < times.length && (times[first] as number) < windowEndMs; first++) {
    last = times[first] as number;
    n++;
  }
  if (last === null) return { evacuateMs: 0, requestsAfterFault: 0, lastRequestMs: null };
  const quiet = windowEndMs - last >= settleMs;
  return { evacuateMs: quiet ? last - faultAtMs : null, requestsAfterFault: n, lastRequestMs: last };
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Nearest-rank percentile of plain numbers (switch counts); 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface SwitchStats {
  readonly total: number;
  readonly sessionsSwitched: number;
  readonly meanPerSession: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function switchStats(perSession: readonly number[]): SwitchStats {
  const total = perSession.reduce((a, b) => a + b, 0);
  return {
    total,
    sessionsSwitched: perSession.filter((n) => n > 0).length,
    meanPerSession: perSession.length === 0 ? 0 : round3(total / perSession.length),
    p50: percentile(perSession, 50),
    p99: percentile(perSession, 99),
    max: maxOf(perSession),
  };
}

/** What viewers would have noticed: segments lost and playback stalled, per session. */
export interface PlaybackStats {
  readonly lostSegments: number;
  readonly sessionsWithLoss: number;
  readonly maxLostPerSession: number;
  /** Segments that came from a fallback the manifest offered (redundant variant, next BaseURL). */
  readonly fallbacks: number;
  readonly stallMs: {
    readonly total: number;
    readonly sessionsStalled: number;
    readonly meanPerSession: number;
    readonly p99PerSession: number;
    readonly maxPerSession: number;
    /** The longest single stall of any session. */
    readonly longest: number;
  };
}

export function playbackStats(
  lost: readonly number[],
  stalls: readonly { totalMs: number; longestMs: number }[],
  fallbacks: number,
): PlaybackStats {
  const lostTotal = lost.reduce((a, b) => a + b, 0);
  const totals = stalls.map((x) => Math.round(x.totalMs));
  const stallTotal = totals.reduce((a, b) => a + b, 0);
  return {
    lostSegments: lostTotal,
    sessionsWithLoss: lost.filter((n) => n > 0).length,
    maxLostPerSession: maxOf(lost),
    fallbacks,
    stallMs: {
      total: stallTotal,
      sessionsStalled: totals.filter((n) => n > 0).length,
      meanPerSession: totals.length === 0 ? 0 : Math.round(stallTotal / totals.length),
      p99PerSession: percentile(totals, 99),
      maxPerSession: maxOf(totals),
      longest: Math.round(maxOf(stalls.map((x) => x.longestMs))),
    },
  };
}

/** Fractions of segment requests per CDN in one interval; all zero when there were none. */
export function shares(counts: ReadonlyMap<string, number>, cdns: readonly string[]): Record<string, number> {
  let total = 0;
  for (const id of cdns) total += counts.get(id) ?? 0;
  const out: Record<string, number> = {};
  for (const id of cdns) out[id] = total === 0 ? 0 : round3((counts.get(id) ?? 0) / total);
  return out;
}

/** Origin fetches per manifest request: 1 / (how many player requests one origin fetch served). */
export function coalescing(originFetches: number | null, manifestRequests: number): number | null {
  if (originFetches === null || manifestRequests === 0) return null;
  return round5(originFetches / manifestRequests);
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
function round5(n: number): number {
  return Math.round(n * 100000) / 100000;
}

// ---------------------------------------------------------------------------------------------------
// Expectations: --expect "errors=0" --expect "evacuate<=8s" --expect "p99<50ms"

export type Comparison = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface Expectation {
  readonly text: string;
  readonly metric: string;
  readonly op: Comparison;
  readonly value: number;
}

/** Metric names and whether their values are durations (ms; "8s" allowed). */
export const METRICS: Readonly<Record<string, { duration: boolean; what: string }>> = {
  errors: { duration: false, what: 'manifest + segment errors' },
  manifest_errors: { duration: false, what: 'failed manifest requests' },
  segment_errors: { duration: false, what: 'failed segment requests' },
  error_rate: { duration: false, what: 'errors / all requests (0..1)' },
  detection_errors: { duration: false, what: 'errors while an outage was detected (fault to evacuation)' },
  errors_after_evacuation: { duration: false, what: 'errors outside every detection window (want 0)' },
  evacuate: { duration: true, what: 'slowest time to evacuate over the outage faults' },
  p50: { duration: true, what: 'manifest latency p50' },
  p90: { duration: true, what: 'manifest latency p90' },
  p99: { duration: true, what: 'manifest latency p99' },
  p999: { duration: true, what: 'manifest latency p99.9' },
  max: { duration: true, what: 'manifest latency max' },
  rps: { duration: false, what: 'manifest requests per second' },
  origin_fetches: { duration: false, what: 'origin manifest fetches' },
  origin_ratio: { duration: false, what: 'origin fetches / manifest requests' },
  switches: { duration: false, what: 'mean CDN switches per session' },
  max_switches: { duration: false, what: 'most CDN switches of one session' },
  sessions: { duration: false, what: 'sessions started' },
  lost: { duration: false, what: 'segments lost (every copy the manifest offered failed)' },
  max_lost: { duration: false, what: 'most segments one session lost' },
  max_stall: { duration: true, what: 'most stall time of one session' },
  longest_stall: { duration: true, what: 'longest single stall of any session' },
};

export function parseExpectation(text: string): Expectation {
  const m = /^\s*([a-z_0-9]+)\s*(<=|>=|!=|==|=|<|>)\s*([0-9.]+\s*[a-z]*)\s*$/i.exec(text);
  if (!m) {
    throw new LoadtestUsageError(
      `--expect "${text}": expected <metric><op><value>, e.g. "errors=0" or "evacuate<=8s"`,
    );
  }
  const metric = (m[1] as string).toLowerCase();
  const info = METRICS[metric];
  if (!info) {
    throw new LoadtestUsageError(
      `--expect "${text}": unknown metric "${metric}" (expected one of ${Object.keys(METRICS).join(', ')})`,
    );
  }
  const raw = m[3] as string;
  const value = info.duration ? parseDurationMs(raw, 'ms') : /^[0-9.]+$/.test(raw) ? Number(raw) : undefined;
  if (value === undefined || !Number.isFinite(value)) {
    throw new LoadtestUsageError(
      `--expect "${text}": expected ${info.duration ? 'a duration like 250ms or 8s' : 'a number'}, got "${raw}"`,
    );
  }
  const op = (m[2] === '==' ? '=' : m[2]) as Comparison;
  return { text: text.trim(), metric, op, value };
}

export interface ExpectationResult {
  readonly expect: string;
  /** In the metric's unit: ms for durations. */
  readonly actual: number | null;
  /** The actual value with its unit, as printed (`1.83 s`, `0`). */
  readonly shown: string;
  readonly ok: boolean;
  readonly note?: string;
}

export function compare(actual: number, op: Comparison, value: number): boolean {
  switch (op) {
    case '=':
      return actual === value;
    case '!=':
      return actual !== value;
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
  }
}

/** A metric that could not be measured (null) fails: a gate must not pass on missing evidence. */
export function evaluate(
  expectations: readonly Expectation[],
  metrics: Readonly<Record<string, number | null>>,
): ExpectationResult[] {
  return expectations.map((e) => {
    const actual = metrics[e.metric] ?? null;
    if (actual === null) {
      const note = 'not measured in this run';
      return { expect: e.text, actual: null, shown: note, ok: false, note };
    }
    const shown = METRICS[e.metric]?.duration === true ? ms(actual) : String(round3(actual));
    return { expect: e.text, actual, shown, ok: compare(actual, e.op, e.value) };
  });
}

// ---------------------------------------------------------------------------------------------------
// The report

export interface FaultReport {
  readonly spec: string;
  readonly cdn: string;
  readonly action: string;
  readonly outage: boolean;
  readonly atMs: number;
  readonly endMs: number | null;
  readonly evacuateMs: number | null;
  readonly requestsAfterFault: number;
  readonly lastRequestMs: number | null;
}

export interface LoadtestReport {
  readonly version: 1;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly sessions: { readonly target: number; readonly started: number; readonly ended: number };
  readonly manifests: {
    readonly requests: number;
    readonly errors: number;
    readonly perSecond: number;
    readonly latencyMs: LatencySummary;
    readonly blockingReloads: number;
    readonly blockingLatencyMs: LatencySummary;
  };
  readonly segments: {
    readonly requests: number;
    readonly errors: number;
    readonly latencyMs: LatencySummary;
    readonly byCdn: Readonly<
      Record<string, { requests: number; errors: number; bytes: number; share: number }>
    >;
  };
  readonly errors: {
    readonly total: number;
    /** Of requests sent while an outage fault was being detected (from the fault to evacuation). */
    readonly duringDetection: number;
    /** Of the rest; null when an outage was never evacuated (its window has no end). */
    readonly afterEvacuation: number | null;
    readonly byKind: Readonly<Record<string, number>>;
  };
  readonly switches: SwitchStats;
  readonly playback: PlaybackStats;
  readonly origin: { readonly fetches: number | null; readonly perManifestRequest: number | null };
  readonly faults: readonly FaultReport[];
  /** Slowest evacuation over the outage faults; null when one never completed or there was none. */
  readonly evacuateMs: number | null;
  /** probe interval × fall + one target duration, when the health settings are known. */
  readonly evacuateBoundMs: number | null;
  readonly timeline: readonly {
    readonly t: number;
    readonly sessions: number;
    readonly manifests: number;
    readonly errors: number;
    readonly p50: number;
    readonly p99: number;
    readonly segmentsByCdn: Readonly<Record<string, number>>;
    readonly share: Readonly<Record<string, number>>;
  }[];
  readonly instances: readonly {
    readonly url: string;
    readonly manifests: number;
    readonly errors: number;
    readonly perSecond: number;
    readonly latencyMs: LatencySummary;
  }[];
  readonly expectations: readonly ExpectationResult[];
  readonly passed: boolean;
}

export interface ReportInput {
  readonly recorder: Recorder;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly targetSessions: number;
  readonly settings: Readonly<Record<string, unknown>>;
  /** When each fault step was applied, ms since the start: start and (when it has one) end. */
  readonly faults: readonly { fault: Fault; appliedAtMs: number; endedAtMs: number | null }[];
  readonly originFetches: number | null;
  readonly cdnIds: readonly string[];
  readonly health: { intervalMs: number; fall: number } | null;
  readonly expectations: readonly Expectation[];
}

export function buildReport(input: ReportInput): LoadtestReport {
  const r = input.recorder;
  const cdnIds = [...new Set([...input.cdnIds, ...r.cdns.keys()])];
  const seconds = Math.max(0.001, input.durationMs / 1000);
  const settleMs = Math.max(2000, 2000 * r.maxTargetDurationS);

  const faults: FaultReport[] = input.faults.map(({ fault, appliedAtMs, endedAtMs }) => {
    const end = endedAtMs ?? input.durationMs;
    const ev = timeToEvacuate(r.cdns.get(fault.cdn)?.times ?? [], appliedAtMs, end, settleMs);
    return {
      spec: fault.spec,
      cdn: fault.cdn,
      action: describeAction(fault.action),
      outage: isOutage(fault.action),
      atMs: appliedAtMs,
      endMs: endedAtMs,
      ...ev,
    };
  });
  const outages = faults.filter((f) => f.outage);
  const evacuateMs =
    outages.length === 0 || outages.some((f) => f.evacuateMs === null)
      ? null
      : maxOf(outages.map((f) => f.evacuateMs as number));

  const byCdn: Record<string, { requests: number; errors: number; bytes: number; share: number }> = {};
  const totals = new Map(cdnIds.map((id) => [id, r.cdns.get(id)?.requests ?? 0]));
  const share = shares(totals, cdnIds);
  for (const id of cdnIds) {
    const c = r.cdns.get(id);
    byCdn[id] = {
      requests: c?.requests ?? 0,
      errors: c?.errors ?? 0,
      bytes: c?.bytes ?? 0,
      share: share[id] ?? 0,
    };
  }

  const timeline = r.seconds.map((b, t) => {
    const segmentsByCdn: Record<string, number> = {};
    for (const id of cdnIds) segmentsByCdn[id] = b.segmentsByCdn.get(id) ?? 0;
    const lat = summarize(b.latency);
    return {
      t,
      sessions: b.activeSessions,
      manifests: b.manifests,
      errors: b.manifestErrors + b.segmentErrors,
      p50: lat.p50,
      p99: lat.p99,
      segmentsByCdn,
      share: shares(b.segmentsByCdn, cdnIds),
    };
  });

  const switches = switchStats([...r.switches.values()]);
  const playback = playbackStats([...r.lost.values()], [...r.stalls.values()], r.fallbacks);
  const errorsTotal = r.manifestErrors + r.segmentErrors;
  const split = splitErrors(r.errorTimes, outages);
  const latency = summarize(r.manifestLatency);
  const perManifestRequest = coalescing(input.originFetches, r.manifests);
  const metrics: Record<string, number | null> = {
    errors: errorsTotal,
    manifest_errors: r.manifestErrors,
    segment_errors: r.segmentErrors,
    error_rate: r.manifests + r.segments === 0 ? 0 : errorsTotal / (r.manifests + r.segments),
    detection_errors: split.duringDetection,
    errors_after_evacuation: split.afterEvacuation,
    evacuate: evacuateMs,
    p50: latency.count ? latency.p50 : null,
    p90: latency.count ? latency.p90 : null,
    p99: latency.count ? latency.p99 : null,
    p999: latency.count ? latency.p999 : null,
    max: latency.count ? latency.max : null,
    rps: r.manifests / seconds,
    origin_fetches: input.originFetches,
    origin_ratio: perManifestRequest,
    switches: switches.meanPerSession,
    max_switches: switches.max,
    sessions: r.sessionsStarted,
    lost: playback.lostSegments,
    max_lost: playback.maxLostPerSession,
    max_stall: playback.stallMs.maxPerSession,
    longest_stall: playback.stallMs.longest,
  };
  const expectations = evaluate(input.expectations, metrics);
  return {
    version: 1,
    startedAt: new Date(input.startedAt).toISOString(),
    durationMs: Math.round(input.durationMs),
    settings: input.settings,
    sessions: { target: input.targetSessions, started: r.sessionsStarted, ended: r.sessionsEnded },
    manifests: {
      requests: r.manifests,
      errors: r.manifestErrors,
      perSecond: round3(r.manifests / seconds),
      latencyMs: latency,
      blockingReloads: r.blockingReloads,
      blockingLatencyMs: summarize(r.blockingLatency),
    },
    segments: {
      requests: r.segments,
      errors: r.segmentErrors,
      latencyMs: summarize(r.segmentLatency),
      byCdn,
    },
    errors: {
      total: errorsTotal,
      duringDetection: split.duringDetection,
      afterEvacuation: split.afterEvacuation,
      byKind: Object.fromEntries([...r.errors].sort((a, b) => b[1] - a[1])),
    },
    switches,
    playback,
    origin: { fetches: input.originFetches, perManifestRequest },
    faults,
    evacuateMs,
    evacuateBoundMs:
      input.health === null
        ? null
        : input.health.intervalMs * input.health.fall + r.maxTargetDurationS * 1000,
    timeline,
    instances: r.instances.map((i) => ({
      url: i.url,
      manifests: i.manifests,
      errors: i.errors,
      perSecond: round3(i.manifests / seconds),
      latencyMs: summarize(i.latency),
    })),
    expectations,
    passed: expectations.every((e) => e.ok),
  };
}

// ---------------------------------------------------------------------------------------------------
// Text output

function ms(n: number | null): string {
  if (n === null) return 'n/a';
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 2 : 1)} ms`;
}

export function formatSummary(report: LoadtestReport): string {
  const L: string[] = [];
  const m = report.manifests;
  const pad = (s: string, n: number): string => s.padEnd(n);
  L.push('');
  L.push(
    `Switchyard loadtest: ${(report.durationMs / 1000).toFixed(1)} s, ${report.sessions.started} sessions started (target ${report.sessions.target})`,
  );
  L.push('');
  L.push(`${pad('manifests', 22)}${m.requests} requests, ${m.perSecond}/s, ${m.errors} errors`);
  L.push(
    `${pad('manifest latency', 22)}p50 ${ms(m.latencyMs.p50)}  p90 ${ms(m.latencyMs.p90)}  p99 ${ms(m.latencyMs.p99)}  max ${ms(m.latencyMs.max)}`,
  );
  if (m.blockingReloads > 0) {
    L.push(
      `${pad('blocking reloads', 22)}${m.blockingReloads} (held p50 ${ms(m.blockingLatencyMs.p50)}, p99 ${ms(m.blockingLatencyMs.p99)})`,
    );
  }
  L.push(`${pad('segments', 22)}${report.segments.requests} requests, ${report.segments.errors} errors`);
  L.push('');
  L.push(`  ${pad('CDN', 12)}${pad('requests', 12)}${pad('errors', 10)}${pad('share', 8)}MB`);
  for (const [id, c] of Object.entries(report.segments.byCdn)) {
    L.push(
      `  ${pad(id, 12)}${pad(String(c.requests), 12)}${pad(String(c.errors), 10)}${pad(`${Math.round(c.share * 100)}%`, 8)}${(c.bytes / 1e6).toFixed(1)}`,
    );
  }
  L.push('');
  const o = report.origin;
  L.push(
    `${pad('origin fetches', 22)}${o.fetches ?? 'n/a'}${o.perManifestRequest === null ? '' : ` (${o.perManifestRequest} per manifest request)`}`,
  );
  const s = report.switches;
  L.push(
    `${pad('CDN switches', 22)}${s.total} (${s.sessionsSwitched} sessions; per session mean ${s.meanPerSession}, max ${s.max})`,
  );
  const pb = report.playback;
  L.push(
    `${pad('lost segments', 22)}${pb.lostSegments} (${pb.sessionsWithLoss} sessions; most in one ${pb.maxLostPerSession}; ${pb.fallbacks} segments from a manifest fallback)`,
  );
  L.push(
    `${pad('stalls', 22)}${pb.stallMs.sessionsStalled} sessions stalled; per session mean ${ms(pb.stallMs.meanPerSession)}, p99 ${ms(pb.stallMs.p99PerSession)}, max ${ms(pb.stallMs.maxPerSession)}; longest ${ms(pb.stallMs.longest)}`,
  );
  if (Object.keys(report.errors.byKind).length > 0) {
    L.push(
      `${pad('errors by kind', 22)}${Object.entries(report.errors.byKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  }
  for (const f of report.faults) {
    const ev = f.outage
      ? `time to evacuate ${f.evacuateMs === null ? 'not evacuated' : ms(f.evacuateMs)}`
      : 'not an outage';
    L.push(
      `${pad('fault', 22)}${f.spec} (applied at ${ms(f.atMs)}): ${ev}, ${f.requestsAfterFault} requests to ${f.cdn} after it`,
    );
  }
  if (report.evacuateBoundMs !== null && report.faults.some((f) => f.outage)) {
    L.push(
      `${pad('evacuation bound', 22)}${ms(report.evacuateBoundMs)} (probe interval × fall + one target duration)`,
    );
  }
  if (report.instances.length > 1) {
    L.push('');
    for (const i of report.instances) {
      L.push(
        `  ${i.url}  ${i.manifests} manifests (${i.perSecond}/s), ${i.errors} errors, p50 ${ms(i.latencyMs.p50)} p99 ${ms(i.latencyMs.p99)}`,
      );
    }
  }
  if (report.expectations.length > 0) {
    L.push('');
    for (const e of report.expectations) {
      L.push(`  ${e.ok ? 'PASS' : 'FAIL'}  ${e.expect}  (actual ${e.shown})`);
    }
  }
  L.push('');
  return L.join('\n');
}

/**
 * Errors split by when their request was sent: inside an outage's detection window (from the fault
 * to the last request the faulted CDN got: in rewrite mode segments already handed out fail there, by
 * design) or outside every one (there must be none). `afterEvacuation` is null when an outage was
 * never evacuated: its window has no end, so nothing can be said after it.
 */
export function splitErrors(
  errorTimes: readonly number[],
  outages: readonly Pick<FaultReport, 'atMs' | 'evacuateMs'>[],
): { duringDetection: number; afterEvacuation: number | null } {
  const windows = outages.map((f) =>
    f.evacuateMs === null ? ([f.atMs, Infinity] as const) : ([f.atMs, f.atMs + f.evacuateMs] as const),
  );
  let during = 0;
  for (const t of errorTimes) if (windows.some(([from, to]) => t >= from && t <= to)) during++;
  return {
    duringDetection: during,
    afterEvacuation: outages.some((f) => f.evacuateMs === null) ? null : errorTimes.length - during,
  };
}

/** The largest value, 0 for none: a loop, since Math.max(...xs) overflows the stack on ~100k values. */
function maxOf(xs: readonly number[]): number {
  let max = xs.length === 0 ? 0 : -Infinity;
  for (const x of xs) if (x > max) max = x;
  return max;
}
