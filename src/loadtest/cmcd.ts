/**
 * CMCD v2 as the simulated players send it (encoded by @svta/cml-cmcd, as real players do): in
 * `query` mode on every playlist request (`CMCD=` with the session's state: bitrate, buffer length,
 * starvation since the last report, measured throughput, playhead, sid); in `event` mode as
 * `application/cmcd` batches POSTed to Switchyard's reporting endpoint: one `rr` (response received:
 * rc, ttfb, ttlb, url, d) per media segment, `ps` (play state) when the buffer runs dry and when play
 * resumes, and a `t` (time interval) report every 10 s. Values follow the player's own model (see
 * PlaybackModel), so a degraded CDN shows in them as it would in a real player's.
 */
import { encodeCmcd, type Cmcd } from '@svta/cml-cmcd';

export type CmcdMode = 'off' | 'query' | 'event';

/** Reports buffered before a POST (or sooner, every FLUSH_MS). */
const BATCH = 8;
const FLUSH_MS = 4_000;
const INTERVAL_MS = 10_000;

export interface SegmentOutcome {
  readonly url: string;
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number;
  readonly ms: number;
  readonly bytes: number;
  readonly durationS: number;
  /** Stall this segment ended (0 when none), ms. */
  readonly stallMs: number;
  readonly at: number;
}

/** One session's CMCD: its state between reports, the payloads it sends, the events it queues. */
export class CmcdSession {
  readonly sid: string;
  private sn = 0;
  private bitrateKbps: number | undefined;
  private mtpKbps: number | undefined;
  private bufferMs = 0;
  private playheadMs = 0;
  private starvedSinceReport = false;
  private starvations = 0;
  private starvedMs = 0;
  private lastInterval: number;
  private readonly queue: string[] = [];
  private lastFlush: number;

  constructor(
    readonly mode: CmcdMode,
    random: () => number,
    private readonly live: boolean,
    now: number,
  ) {
    this.sid = uuid(random);
    this.lastInterval = now;
    this.lastFlush = now;
  }

  /** The variant's declared bandwidth, bits/s. */
  setBitrate(bps: number | undefined): void {
    if (bps !== undefined && bps > 0) this.bitrateKbps = Math.round(bps / 1000);
  }

  private base(now: number): Cmcd {
    return {
      sid: this.sid,
      sf: 'h',
      st: this.live ? 'l' : 'v',
      v: 2,
      ...(this.bitrateKbps === undefined ? {} : { br: [this.bitrateKbps] }),
      bl: [Math.round(this.bufferMs / 100) * 100],
      ...(this.mtpKbps === undefined ? {} : { mtp: [Math.max(100, Math.round(this.mtpKbps / 100) * 100)] }),
      pt: Math.round(this.playheadMs),
      ts: Math.round(now),
      sn: this.sn++,
    } as Cmcd;
  }

  /** The `CMCD=` value for a playlist request (query mode), or undefined in other modes. */
  queryPayload(now: number): string | undefined {
    if (this.mode !== 'query') return undefined;
    const data = { ...this.base(now), ot: 'm', ...(this.starvedSinceReport ? { bs: true } : {}) } as Cmcd;
    this.starvedSinceReport = false;
    return encodeCmcd(data, { version: 2 });
  }

  /** A media segment answered (or failed): the player's model moves on, event mode queues `rr`. */
  segment(o: SegmentOutcome): void {
    if (o.status >= 200 && o.status < 300 && o.ms > 0 && o.bytes > 0) this.mtpKbps = (o.bytes * 8) / o.ms; // bits per ms = kbit/s
    const ok = o.status >= 200 && o.status < 300;
    this.playheadMs += o.durationS * 1000;
    this.bufferMs = ok
      ? Math.min(30_000, this.bufferMs + o.durationS * 1000 - o.ms)
      : Math.max(0, this.bufferMs - o.ms);
    if (o.stallMs > 0) {
      this.starvedSinceReport = true;
      this.starvations++;
      this.starvedMs += o.stallMs;
      this.bufferMs = 0;
    }
    if (this.mode !== 'event') return;
    if (o.stallMs > 0) this.event({ ...this.base(o.at), e: 'ps', sta: 'r' } as Cmcd);
    this.event({
      ...this.base(o.at),
      e: 'rr',
      ot: 'v',
      rc: o.status,
      url: o.url,
      d: Math.round(o.durationS * 1000),
      ttfb: Math.round(o.ms / 2),
      ttlb: Math.round(o.ms),
      ...(o.stallMs > 0 ? { bs: true, bsd: [Math.round(o.stallMs)] } : {}),
    } as Cmcd);
    if (o.stallMs > 0) this.event({ ...this.base(o.at), e: 'ps', sta: 'p' } as Cmcd);
    if (o.at - this.lastInterval >= INTERVAL_MS) {
      this.lastInterval = o.at;
      this.event({
        ...this.base(o.at),
        e: 't',
        sta: 'p',
        bsa: [this.starvations],
        bsda: [Math.round(this.starvedMs)],
      } as Cmcd);
    }
  }

  private event(data: Cmcd): void {
    this.queue.push(encodeCmcd(data, { version: 2, reportingMode: 'event' }));
  }

  /** The batch to POST now (one report per line), or undefined when it is not time yet. */
  takeBatch(now: number, force = false): string | undefined {
    if (this.queue.length === 0) return undefined;
    if (!force && this.queue.length < BATCH && now - this.lastFlush < FLUSH_MS) return undefined;
    this.lastFlush = now;
    return this.queue.splice(0, this.queue.length).join('\n');
  }
}

/** Where a session reports in event mode: `/s/<token>/cmcd` when its URLs carry a session token, else `/cmcd`. */
export function reportUrl(manifestUrl: string): string {
  const u = new URL(manifestUrl);
  const m = /^(.*?\/)s\/([^/]+)\//.exec(u.pathname);
  return m ? `${u.origin}${m[1]}s/${m[2]}/cmcd` : `${u.origin}/cmcd`;
}

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
