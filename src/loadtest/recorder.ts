import { build, type Histogram } from 'hdr-histogram-js';

/** Latencies are recorded in microseconds, from 1 µs to 10 min, 3 significant digits. */
export function newHistogram(digits: 2 | 3 = 3): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: digits,
    useWebAssembly: false,
  });
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** Milliseconds, rounded to µs. */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

function record(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

/** One second of the run. */
export interface SecondBucket {
  manifests: number;
  manifestErrors: number;
  segmentErrors: number;
  readonly latency: Histogram;
  readonly segmentsByCdn: Map<string, number>;
  activeSessions: number;
}

export interface InstanceStats {
  readonly url: string;
  manifests: number;
  errors: number;
  readonly latency: Histogram;
}

export interface CdnStats {
  requests: number;
  errors: number;
  bytes: number;
  /** Start of every request, ms since the start of the run, ascending. */
  readonly times: number[];
}

/**
 * What the simulated players saw, as they saw it. Mutable and cheap on the hot side; report.ts does
 * the maths afterwards.
 */
export class Recorder {
  readonly manifestLatency = newHistogram();
  readonly blockingLatency = newHistogram();
  readonly segmentLatency = newHistogram();
  readonly seconds: SecondBucket[] = [];
  readonly errors = new Map<string, number>();
  readonly cdns = new Map<string, CdnStats>();
  readonly instances: InstanceStats[];
  /** Switches per session, by session number. */
  readonly switches = new Map<number, number>();
  /** Segments a session never got (every copy failed; a player skips them), by session number. */
  readonly lost = new Map<number, number>();
  /** Time a session's playback stood still waiting for media after it had started (ms). */
  readonly stalls = new Map<number, { totalMs: number; longestMs: number }>();
  /** Segments fetched from a fallback the manifest offered (redundant variant, next BaseURL). */
  fallbacks = 0;
  /** When each failed request (manifest or segment) was sent, ms since the start, in no order. */
  readonly errorTimes: number[] = [];
  manifests = 0;
  manifestErrors = 0;
  blockingReloads = 0;
  segments = 0;
  segmentErrors = 0;
  sessionsStarted = 0;
  sessionsEnded = 0;
  active = 0;
  maxTargetDurationS = 0;

  constructor(
    readonly startMs: number,
    instanceUrls: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    this.instances = instanceUrls.map((url) => ({ url, manifests: 0, errors: 0, latency: newHistogram() }));
  }

  elapsed(at: number = this.now()): number {
    return at - this.startMs;
  }

  bucket(at: number = this.now()): SecondBucket {
    const i = Math.max(0, Math.floor(this.elapsed(at) / 1000));
    while (this.seconds.length <= i) {
      this.seconds.push({
        manifests: 0,
        manifestErrors: 0,
        segmentErrors: 0,
        latency: newHistogram(2),
        segmentsByCdn: new Map(),
        activeSessions: this.active,
      });
    }
    return this.seconds[i] as SecondBucket;
  }

  private error(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  manifest(instance: number, ms: number, blocking: boolean, error?: string): void {
    const b = this.bucket();
    const inst = this.instances[instance];
    this.manifests++;
    b.manifests++;
    if (inst) inst.manifests++;
    if (error !== undefined) {
      this.manifestErrors++;
      this.errorTimes.push(Math.max(0, this.elapsed() - ms));
      b.manifestErrors++;
      if (inst) inst.errors++;
      this.error(`manifest:${error}`);
      return;
    }
    if (blocking) {
      // Held by the server on purpose until the next part exists: not a latency of the proxy.
      this.blockingReloads++;
      record(this.blockingLatency, ms);
      return;
    }
    record(this.manifestLatency, ms);
    record(b.latency, ms);
    if (inst) record(inst.latency, ms);
  }

  cdn(id: string): CdnStats {
    let c = this.cdns.get(id);
    if (!c) {
      c = { requests: 0, errors: 0, bytes: 0, times: [] };
      this.cdns.set(id, c);
    }
    return c;
  }

  /**
   * Counted when the request is sent: the CDN logs it whatever happens next. Returns when it was sent
   * (ms since the start), for segmentDone.
   */
  segmentSent(cdn: string, at: number = this.now()): number {
    const c = this.cdn(cdn);
    c.requests++;
    const sentAt = this.elapsed(at);
    c.times.push(sentAt);
    this.segments++;
    const b = this.bucket(at);
    b.segmentsByCdn.set(cdn, (b.segmentsByCdn.get(cdn) ?? 0) + 1);
    return sentAt;
  }

  /** `sentAt`: what segmentSent returned (else the answer time less `ms`). */
  segmentDone(cdn: string, ms: number, bytes: number, error?: string, sentAt?: number): void {
    const c = this.cdn(cdn);
    if (error !== undefined) {
      c.errors++;
      this.segmentErrors++;
      this.errorTimes.push(sentAt ?? Math.max(0, this.elapsed() - ms));
      this.bucket().segmentErrors++;
      this.error(`segment:${error}`);
      return;
    }
    c.bytes += bytes;
    record(this.segmentLatency, ms);
  }

  sessionStarted(session: number): void {
    this.sessionsStarted++;
    this.active++;
    this.switches.set(session, 0);
    this.lost.set(session, 0);
    this.stalls.set(session, { totalMs: 0, longestMs: 0 });
    this.bucket().activeSessions = this.active;
  }

  sessionEnded(): void {
    this.sessionsEnded++;
    this.active--;
  }

  switched(session: number): void {
    this.switches.set(session, (this.switches.get(session) ?? 0) + 1);
  }

  segmentLost(session: number): void {
    this.lost.set(session, (this.lost.get(session) ?? 0) + 1);
    this.error('segment:lost');
  }

  stalled(session: number, ms: number): void {
    if (!(ms > 0)) return;
    const s = this.stalls.get(session) ?? { totalMs: 0, longestMs: 0 };
    this.stalls.set(session, { totalMs: s.totalMs + ms, longestMs: Math.max(s.longestMs, ms) });
  }

  fallback(): void {
    this.fallbacks++;
  }

  /** CMCD event-mode batches POSTed, and how many Switchyard accepted. */
  readonly cmcdReports = { sent: 0, accepted: 0 };

  cmcdReported(accepted: boolean): void {
    this.cmcdReports.sent++;
    if (accepted) this.cmcdReports.accepted++;
    else this.error('cmcd:refused');
  }

  targetDuration(s: number): void {
    if (s > this.maxTargetDurationS) this.maxTargetDurationS = s;
  }
}
