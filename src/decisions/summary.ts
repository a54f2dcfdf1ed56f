import type { DecisionRecord } from './record';

export interface ShareBucket {
  /** Start of the bucket, ISO 8601. */
  readonly start: string;
  /** Segment-placing decisions in the bucket. */
  readonly decisions: number;
  /** Fraction of them per CDN (every CDN seen in the log, 0 when none). */
  readonly shares: Readonly<Record<string, number>>;
}

export interface DecisionSummary {
  readonly records: number;
  readonly from: string | null;
  readonly to: string | null;
  readonly sessions: number;
  /** Sampling rates the records were taken at (several when the config changed). */
  readonly sampleRates: readonly number[];
  readonly cdns: readonly string[];
  readonly bucketMs: number;
  readonly buckets: readonly ShareBucket[];
  /** Shares over the whole log (segment-placing decisions). */
  readonly shares: Readonly<Record<string, number>>;
  readonly switches: {
    readonly total: number;
    readonly sessions: number;
    readonly byPair: readonly { readonly from: string; readonly to: string; readonly count: number }[];
  };
  /** Reasons with their numbers blanked ("cost: filling a commit (# GB left)"), most frequent first. */
  readonly reasons: readonly { readonly reason: string; readonly count: number }[];
  readonly streams: Readonly<Record<string, number>>;
  readonly arms: Readonly<Record<string, number>>;
}

const NICE_BUCKETS_MS = [
  1_000,
  5_000,
  10_000,
  30_000,
  60_000,
  300_000,
  900_000,
  1_800_000,
  3_600_000,
  6 * 3_600_000,
  86_400_000,
];
const MAX_REASONS = 20;

/** A bucket size that gives at most `rows` rows over `spanMs`. */
export function bucketFor(spanMs: number, rows = 24): number {
  for (const b of NICE_BUCKETS_MS) if (spanMs / b <= rows) return b;
  return NICE_BUCKETS_MS[NICE_BUCKETS_MS.length - 1] as number;
}

/** "cost: filling a commit (1234 GB left)" → "cost: filling a commit (# GB left)". */
export function reasonPattern(reason: string): string {
  return reason.replace(/\d+(?:\.\d+)?/g, '#').slice(0, 120);
}

/**
 * Collects what a summary needs from records in any order, keeping only compact per-decision data
 * (time and CDN), so a log of millions of lines fits.
 */
export class SummaryBuilder {
  private readonly times: number[] = [];
  private readonly cdnOfPlace: number[] = [];
  private readonly cdnIndex = new Map<string, number>();
  private readonly sessions = new Set<string>();
  private readonly switchSessions = new Set<string>();
  private readonly pairs = new Map<string, number>();
  private readonly reasons = new Map<string, number>();
  private readonly streams = new Map<string, number>();
  private readonly arms = new Map<string, number>();
  private readonly rates = new Set<number>();
  private count = 0;
  private minAt = Infinity;
  private maxAt = -Infinity;
  private switches = 0;

  add(r: DecisionRecord): void {
    const at = Date.parse(r.at);
    this.count++;
    if (at < this.minAt) this.minAt = at;
    if (at > this.maxAt) this.maxAt = at;
    this.sessions.add(r.session);
    this.rates.add(r.rate);
    for (const v of r.cdns) this.indexOf(v.id);
    if (r.places) {
      this.times.push(at);
      this.cdnOfPlace.push(this.indexOf(r.cdn));
    }
    if (r.switched) {
      this.switches++;
      this.switchSessions.add(r.session);
      const key = `${r.switched.from}\u0000${r.switched.to}`;
      this.pairs.set(key, (this.pairs.get(key) ?? 0) + 1);
    }
    const reason = reasonPattern(r.reason);
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    this.streams.set(r.stream, (this.streams.get(r.stream) ?? 0) + 1);
    if (r.arm) this.arms.set(r.arm, (this.arms.get(r.arm) ?? 0) + 1);
  }

  private indexOf(cdn: string): number {
    let i = this.cdnIndex.get(cdn);
    if (i === undefined) {
      i = this.cdnIndex.size;
      this.cdnIndex.set(cdn, i);
    }
    return i;
  }

  finish(bucketMs?: number): DecisionSummary {
    const cdns = [...this.cdnIndex.keys()].sort();
    const byIndex = [...this.cdnIndex.keys()];
    const empty = this.count === 0;
    const size = bucketMs ?? bucketFor(empty ? 0 : this.maxAt - this.minAt);
    const origin = empty ? 0 : Math.floor(this.minAt / size) * size;
    const counts = new Map<number, number[]>();
    const total = new Array<number>(byIndex.length).fill(0);
    this.times.forEach((t, i) => {
      const b = Math.floor((t - origin) / size);
      let row = counts.get(b);
      if (!row) counts.set(b, (row = new Array<number>(byIndex.length).fill(0)));
      const c = this.cdnOfPlace[i] as number;
      row[c] = (row[c] ?? 0) + 1;
      total[c] = (total[c] ?? 0) + 1;
    });
    const shareOf = (row: readonly number[]): Record<string, number> => {
      const sum = row.reduce((a, b) => a + b, 0);
      const out: Record<string, number> = {};
      for (const id of cdns) out[id] = sum === 0 ? 0 : (row[this.cdnIndex.get(id) as number] ?? 0) / sum;
      return out;
    };
    const buckets = [...counts.keys()]
      .sort((a, b) => a - b)
      .map((b) => {
        const row = counts.get(b) as number[];
        return {
          start: new Date(origin + b * size).toISOString(),
          decisions: row.reduce((a, x) => a + x, 0),
          shares: shareOf(row),
        };
      });
    const sorted = <K>(m: Map<K, number>) =>
      [...m].sort((a, b) => b[1] - a[1] || (String(a[0]) < String(b[0]) ? -1 : 1));
    return {
      records: this.count,
      from: empty ? null : new Date(this.minAt).toISOString(),
      to: empty ? null : new Date(this.maxAt).toISOString(),
      sessions: this.sessions.size,
      sampleRates: [...this.rates].sort((a, b) => a - b),
      cdns,
      bucketMs: size,
      buckets,
      shares: shareOf(total),
      switches: {
        total: this.switches,
        sessions: this.switchSessions.size,
        byPair: sorted(this.pairs).map(([k, count]) => {
          const [from, to] = k.split('\u0000') as [string, string];
          return { from, to, count };
        }),
      },
      reasons: sorted(this.reasons)
        .slice(0, MAX_REASONS)
        .map(([reason, count]) => ({ reason, count })),
      streams: Object.fromEntries([...this.streams].sort()),
      arms: Object.fromEntries([...this.arms].sort()),
    };
  }
}

function pct(x: number): string {
  return (x * 100).toFixed(1) + '%';
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** The summary as a terminal table (what `switchyard decisions` prints). */
export function formatSummary(source: string, s: DecisionSummary, unreadable: number): string {
  const out: string[] = [];
  const rates = s.sampleRates.map(pct).join(', ') || '–';
  out.push(
    `${source}: ${s.records} decision(s), ${s.sessions} session(s), sample ${rates}` +
      (unreadable > 0 ? `, ${unreadable} unreadable line(s)` : ''),
  );
  if (s.records === 0) return out.join('\n') + '\n';
  out.push(`from ${s.from} to ${s.to}`);
  out.push('');
  out.push(`Share of segment-placing decisions per CDN, per ${duration(s.bucketMs)}:`);
  const width = Math.max(7, ...s.cdns.map((c) => c.length + 1));
  out.push(['  start (UTC)         ', 'count'.padStart(7), ...s.cdns.map((c) => c.padStart(width))].join(''));
  for (const b of s.buckets) {
    out.push(
      [
        '  ' + b.start.slice(0, 19).replace('T', ' ') + ' ',
        String(b.decisions).padStart(7),
        ...s.cdns.map((c) => pct(b.shares[c] ?? 0).padStart(width)),
      ].join(''),
    );
  }
  out.push(
    [
      '  whole log           ',
      ''.padStart(7),
      ...s.cdns.map((c) => pct(s.shares[c] ?? 0).padStart(width)),
    ].join(''),
  );
  out.push('');
  out.push(`Switches: ${s.switches.total} (${s.switches.sessions} session(s))`);
  for (const p of s.switches.byPair) out.push(`  ${p.from} → ${p.to}  ${p.count}`);
  out.push('');
  out.push('Reasons (numbers blanked):');
  for (const r of s.reasons) out.push(`  ${String(r.count).padStart(7)}  ${r.reason}`);
  out.push('');
  out.push(
    'Streams: ' +
      Object.entries(s.streams)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  );
  if (Object.keys(s.arms).length > 0)
    out.push(
      'Rollout arms: ' +
        Object.entries(s.arms)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
    );
  return out.join('\n') + '\n';
}
