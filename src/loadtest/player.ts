/**
 * One simulated viewer: master (or MPD) → chosen variant → the media playlist reloaded on the spec's
 * schedule → every new segment fetched from wherever the playlist points. Segments are fetched one at
 * a time on their own loop, as a player's buffer does, while the manifest loop keeps its own timing.
 */
import { CmcdSession, reportUrl, type CmcdMode, type SegmentOutcome } from './cmcd';
import { readMpd, type DashSnapshot } from './dash';
import {
  PlaylistError,
  chooseByBandwidth,
  isMasterPlaylist,
  parseMasterVariants,
  parseMediaPlaylist,
  withPlayerQuery,
  type HlsMediaSnapshot,
  type VariantChoice,
} from './hls';
import { StoppedError, TransportError, type HttpClient, type HttpResult } from './http';
import type { Recorder } from './recorder';
import {
  blockingTimeoutMs,
  dashReloadDelayMs,
  hlsReloadPlan,
  retryDelayMs,
  vodSegmentDueAt,
  type PlaylistPosition,
} from './schedule';

export type Protocol = 'hls' | 'dash';

export interface Entry {
  readonly instance: number;
  readonly url: string;
  readonly protocol: Protocol;
}

export interface PlayerContext {
  readonly http: HttpClient;
  readonly recorder: Recorder;
  /** The CDN id a segment URL belongs to. */
  readonly cdnOf: (url: string) => string;
  readonly segmentMethod: 'GET' | 'HEAD';
  readonly variant: VariantChoice;
  /** Aborted when the run stops. */
  readonly stop: AbortSignal;
  readonly random: () => number;
  readonly now: () => number;
  /** CMCD v2 the players send (default off): on playlist requests, or as event reports. */
  readonly cmcd?: CmcdMode;
}

/** Live players start this many segments behind the live edge (hls.js's default sync count). */
export const LIVE_START_SEGMENTS = 3;
/** VOD players keep this much media buffered ahead of the playhead. */
export const VOD_BUFFER_AHEAD_S = 6;
const MANIFEST_TIMEOUT_MS = 10_000;
const SEGMENT_TIMEOUT_MS = 10_000;

interface SegmentSource {
  readonly uri: string;
  readonly range: string | undefined;
  readonly init: string | undefined;
}

interface QueuedSegment extends SegmentSource {
  readonly dueAt: number;
  /** Seconds of media: what the playback model adds to the buffer. */
  readonly durationS: number;
  /**
   * The next copy of this segment the manifest offers (redundant variant, next BaseURL) after `failed`
   * failed, or undefined when there is none: the player then skips the segment (lost).
   */
  readonly fallback?: (failed: SegmentSource) => Promise<SegmentSource | undefined>;
}

/**
 * A player's buffer, as far as stalls go: playback starts with the first segment received and runs on
 * the run's clock; a segment that arrives after the playhead reached the end of the buffer stalled it
 * for the difference. A lost segment is skipped (players jump such gaps).
 */
export class PlaybackModel {
  private startedAt: number | undefined;
  private bufferedS = 0;
  private stalledMs = 0;

  /** Media of `durationS` arrived (or was given up on, `lost`) at `at`; returns the stall it ended. */
  add(durationS: number, at: number, lost = false): number {
    if (this.startedAt === undefined) {
      if (lost) return 0;
      this.startedAt = at;
      this.bufferedS = durationS;
      return 0;
    }
    const playheadS = (at - this.startedAt - this.stalledMs) / 1000;
    let stall = 0;
    if (playheadS > this.bufferedS) {
      stall = (playheadS - this.bufferedS) * 1000;
      this.stalledMs += stall;
    }
    this.bufferedS += durationS;
    return stall;
  }
}

/** Resolves after `ms`, or at once when `stop` aborts. */
export function sleep(ms: number, stop: AbortSignal): Promise<void> {
  if (ms <= 0 || stop.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
  });
}

/** Fetches segments in order, each when it is due; one request at a time per player. */
class SegmentLoop {
  private readonly queue: QueuedSegment[] = [];
  private readonly inits = new Set<string>();
  private wake: (() => void) | undefined;
  private lastCdn: string | undefined;
  private readonly playback = new PlaybackModel();
  private closed = false;
  readonly done: Promise<void>;
  /** Event-mode reports in flight (awaited when the session ends). */
  private readonly reports = new Set<Promise<void>>();
  /** Where event-mode reports go (set from the session's playlist URL). */
  reportTo: string | undefined;

  constructor(
    private readonly ctx: PlayerContext,
    private readonly session: number,
    readonly cmcd: CmcdSession | undefined,
  ) {
    this.done = this.run();
  }

  /** Sends the session's queued CMCD events when a batch is due (or all of them, `force`). */
  flushReports(force = false): void {
    const batch = this.cmcd?.takeBatch(this.ctx.now(), force);
    if (batch === undefined || this.reportTo === undefined) return;
    const never = new AbortController().signal;
    const sent = this.ctx.http
      .send(
        {
          url: this.reportTo,
          method: 'POST',
          payload: { type: 'application/cmcd', body: batch },
          timeoutMs: SEGMENT_TIMEOUT_MS,
          body: 'count',
        },
        never,
      )
      .then(
        (res) => this.ctx.recorder.cmcdReported(res.status === 204 || res.status === 200),
        () => this.ctx.recorder.cmcdReported(false),
      )
      .finally(() => this.reports.delete(sent));
    this.reports.add(sent);
  }

  /** Every report sent has been answered. */
  async settled(): Promise<void> {
    this.flushReports(true);
    await Promise.all([...this.reports]);
  }

  push(items: readonly QueuedSegment[]): void {
    // A loop: push(...items) overflows the stack for a playlist of ~100k segments.
    for (const item of items) this.queue.push(item);
    this.wake?.();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** No more segments will come: the loop ends once the queue is empty. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    const { ctx } = this;
    const onStop = (): void => this.wake?.();
    ctx.stop.addEventListener('abort', onStop);
    try {
      while (!ctx.stop.aborted) {
        const next = this.queue.shift();
        if (next === undefined) {
          if (this.closed) return;
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          continue;
        }
        await sleep(next.dueAt - ctx.now(), ctx.stop);
        if (ctx.stop.aborted) return;
        await this.play(next);
      }
    } finally {
      ctx.stop.removeEventListener('abort', onStop);
    }
  }

  /** One segment, from the copies the manifest offers in turn until one loads. */
  private async play(next: QueuedSegment): Promise<void> {
    const { ctx } = this;
    let source: SegmentSource | undefined = next;
    let tries = 0;
    while (source !== undefined) {
      if (source.init !== undefined && !this.inits.has(source.init)) {
        if (await this.fetch(source.init, undefined)) this.inits.add(source.init);
      }
      if (ctx.stop.aborted) return;
      if (await this.fetch(source.uri, source.range, next.durationS)) {
        if (tries > 0) ctx.recorder.fallback();
        const stall = this.playback.add(next.durationS, ctx.now());
        ctx.recorder.stalled(this.session, stall);
        this.report(stall);
        return;
      }
      // A copy the manifest offers is tried at most once per CDN-worth of copies.
      if (next.fallback === undefined || ++tries > 8 || ctx.stop.aborted) break;
      source = await next.fallback(source).catch(() => undefined);
    }
    if (ctx.stop.aborted) return;
    ctx.recorder.segmentLost(this.session);
    const stall = this.playback.add(next.durationS, ctx.now(), true);
    ctx.recorder.stalled(this.session, stall);
    this.report(stall);
  }

  /** The last segment's outcome, told to the session's CMCD (the stall is known once it is played). */
  private last: Omit<SegmentOutcome, 'stallMs'> | undefined;

  private report(stallMs: number): void {
    if (!this.cmcd) return;
    if (this.last) this.cmcd.segment({ ...this.last, stallMs });
    this.last = undefined;
    // A segment that failed everywhere queued its reports already (rr per copy): they go out on
    // the same schedule as the others. (They used to wait for the next segment that loaded, so a
    // session whose every segment failed told Switchyard nothing until it ended.)
    this.flushReports();
  }

  private async fetch(uri: string, range: string | undefined, durationS = 0): Promise<boolean> {
    const { ctx } = this;
    const cdn = ctx.cdnOf(uri);
    if (this.lastCdn !== undefined && this.lastCdn !== cdn) ctx.recorder.switched(this.session);
    this.lastCdn = cdn;
    const sentAt = ctx.recorder.segmentSent(cdn);
    // Once sent, a segment request runs to its end even when the run stops, so the counts match
    // the CDNs' own logs.
    const never = new AbortController().signal;
    try {
      const res = await ctx.http.send(
        { url: uri, method: ctx.segmentMethod, range, timeoutMs: SEGMENT_TIMEOUT_MS, body: 'count' },
        never,
      );
      const ok = res.status >= 200 && res.status < 300;
      ctx.recorder.segmentDone(cdn, res.ms, res.bytes, ok ? undefined : `http_${res.status}`, sentAt);
      if (durationS > 0) this.outcome(uri, res.status, res.ms, res.bytes, durationS);
      return ok;
    } catch (err) {
      const e = err instanceof TransportError ? err : undefined;
      ctx.recorder.segmentDone(cdn, e?.ms ?? 0, 0, e?.kind ?? 'error', sentAt);
      if (durationS > 0) this.outcome(uri, 0, e?.ms ?? 0, 0, durationS);
      return false;
    }
  }

  private outcome(url: string, status: number, ms: number, bytes: number, durationS: number): void {
    if (!this.cmcd) return;
    // A failed copy is reported at once (its own rr); the one that loads waits for its stall.
    if (this.last) this.cmcd.segment({ ...this.last, stallMs: 0 });
    this.last = { url, status, ms, bytes, durationS, at: this.ctx.now() };
    if (status < 200 || status >= 300) {
      this.cmcd.segment({ ...this.last, durationS: 0, stallMs: 0 });
      this.last = undefined;
    }
  }
}

type ManifestOutcome = { ok: true; res: HttpResult } | { ok: false };

async function loadManifest(
  ctx: PlayerContext,
  entry: Entry,
  url: string,
  blocking: boolean,
  timeoutMs: number,
): Promise<ManifestOutcome> {
  try {
    const res = await ctx.http.send({ url, timeoutMs, body: 'text' }, ctx.stop);
    if (res.status !== 200) {
      ctx.recorder.manifest(entry.instance, res.ms, blocking, `http_${res.status}`);
      return { ok: false };
    }
    ctx.recorder.manifest(entry.instance, res.ms, blocking);
    return { ok: true, res };
  } catch (err) {
    if (err instanceof StoppedError) throw err;
    const e = err instanceof TransportError ? err : undefined;
    ctx.recorder.manifest(entry.instance, e?.ms ?? 0, blocking, e?.kind ?? 'error');
    return { ok: false };
  }
}

function parseError(ctx: PlayerContext, entry: Entry): void {
  ctx.recorder.manifest(entry.instance, 0, false, 'unreadable');
}

/** Plays one session until it ends (VOD played through) or the run stops. */
export async function playSession(ctx: PlayerContext, entry: Entry, session: number): Promise<void> {
  ctx.recorder.sessionStarted(session);
  const mode = ctx.cmcd ?? 'off';
  const cmcd = mode === 'off' ? undefined : new CmcdSession(mode, ctx.random, true, ctx.now());
  const segments = new SegmentLoop(ctx, session, cmcd);
  try {
    if (entry.protocol === 'hls') await playHls(ctx, entry, segments);
    else await playDash(ctx, entry, segments);
  } catch (err) {
    if (!(err instanceof StoppedError)) throw err;
  } finally {
    segments.close();
    await segments.done;
    await segments.settled();
    ctx.recorder.sessionEnded();
  }
}

/** Reloads of a redundant copy's playlist while it does not list the failed segment yet. */
const COPY_RELOADS = 4;

async function playHls(ctx: PlayerContext, entry: Entry, segments: SegmentLoop): Promise<void> {
  // Master: retried until it loads (a player shows an error and the viewer presses play again).
  let mediaUrl: string | undefined;
  /** The chosen variant and its redundant copies, in the master's order (the session's own first). */
  let copies: string[] = [];
  let first: HlsMediaSnapshot | undefined;
  let firstStarted = 0;
  while (mediaUrl === undefined) {
    const started = ctx.now();
    const out = await loadManifest(ctx, entry, entry.url, false, MANIFEST_TIMEOUT_MS);
    if (out.ok) {
      try {
        if (isMasterPlaylist(out.res.text)) {
          const variants = parseMasterVariants(out.res.text, entry.url);
          const v = chooseByBandwidth(variants, ctx.variant, ctx.random);
          if (v === undefined) throw new PlaylistError('master playlist without variants');
          mediaUrl = v.uri;
          segments.cmcd?.setBitrate(v.bandwidth);
          copies = [
            v.uri,
            ...variants.filter((x) => x.copyKey === v.copyKey && x.uri !== v.uri).map((x) => x.uri),
          ];
        } else {
          first = parseMediaPlaylist(out.res.text, entry.url);
          firstStarted = started;
          mediaUrl = entry.url;
        }
        break;
      } catch (err) {
        if (!(err instanceof PlaylistError)) throw err;
        parseError(ctx, entry);
      }
    }
    await sleep(1000, ctx.stop);
    if (ctx.stop.aborted) return;
  }

  let position: PlaylistPosition | undefined;
  let fetchedUpTo = Number.NEGATIVE_INFINITY;
  // A failed segment: as hls.js, shaka and AVPlayer do with redundant streams, move to the next copy
  // of the variant for good and take the segment (same media sequence number) from its playlist.
  // Copies whose segments failed: tried last by the segments queued from them after the first move.
  const failedCopies = new Set<string>();
  const fallbackFor = (msn: number): QueuedSegment['fallback'] => {
    if (copies.length < 2) return undefined;
    const from = mediaUrl as string;
    /** The copy this segment was last taken from: it failed when we are called again. */
    let tried = from;
    return async () => {
      failedCopies.add(tried);
      // The copy the session is on now first (it may have moved already, at an earlier segment of
      // the same playlist), then the others in the master's order after `from`; failed ones last.
      const at = copies.indexOf(from);
      const rotation = [...copies.slice(at + 1), ...copies.slice(0, Math.max(0, at))];
      const current = mediaUrl as string;
      const fresh = [current, ...rotation].filter((c) => !failedCopies.has(c));
      const candidates = [...new Set([...fresh, ...rotation.filter((c) => c !== tried)])];
      for (const next of candidates) {
        if (ctx.stop.aborted) break;
        if (mediaUrl === from || failedCopies.has(mediaUrl as string)) {
          mediaUrl = next;
          position = undefined;
        }
        // The copy's playlist may not list the segment yet (an older cached version than the one
        // that listed it, LL-HLS above all): reload it, as a player reloads a level, a few times.
        for (let reload = 0; reload < COPY_RELOADS && !ctx.stop.aborted; reload++) {
          const out = await loadManifest(ctx, entry, next, false, MANIFEST_TIMEOUT_MS);
          if (!out.ok) {
            await sleep(retryDelayMs(targetDurationS), ctx.stop);
            continue;
          }
          let snap: HlsMediaSnapshot;
          try {
            snap = parseMediaPlaylist(out.res.text, next);
          } catch (err) {
            if (!(err instanceof PlaylistError)) throw err;
            parseError(ctx, entry);
            break;
          }
          const seg = snap.segments.find((x) => x.msn === msn);
          if (seg) {
            tried = next;
            return { uri: seg.uri, range: seg.range, init: seg.map };
          }
          if (snap.lastMsn >= msn) break; // gone from this copy's window
          await sleep(Math.min(1000, (snap.partTargetS ?? snap.targetDurationS / 2) * 1000), ctx.stop);
        }
      }
      return undefined;
    };
  };
  let targetDurationS: number | undefined;
  let query: readonly (readonly [string, string])[] = [];
  let blocking = false;
  const playStart = ctx.now();
  while (!ctx.stop.aborted) {
    let snap = first;
    let started = firstStarted;
    first = undefined;
    segments.reportTo = reportUrl(mediaUrl);
    // Event mode reports on its own clock, not only when a segment loads (a player whose segments
    // all stall still reports).
    segments.flushReports();
    if (snap === undefined) {
      started = ctx.now();
      const timeout = blocking ? blockingTimeoutMs(targetDurationS ?? 6) : MANIFEST_TIMEOUT_MS;
      const cmcd = segments.cmcd?.queryPayload(ctx.now());
      const params = cmcd === undefined ? query : [...query, ['CMCD', cmcd] as const];
      const out = await loadManifest(ctx, entry, withPlayerQuery(mediaUrl, params), blocking, timeout);
      if (out.ok) {
        try {
          snap = parseMediaPlaylist(out.res.text, mediaUrl);
        } catch (err) {
          if (!(err instanceof PlaylistError)) throw err;
          parseError(ctx, entry);
        }
      }
      if (snap === undefined) {
        // A failed blocking reload falls back to a plain one after a pause.
        query = [];
        blocking = false;
        await sleep(retryDelayMs(targetDurationS), ctx.stop);
        continue;
      }
    }
    targetDurationS = snap.targetDurationS;
    ctx.recorder.targetDuration(snap.targetDurationS);

    const fresh =
      fetchedUpTo === Number.NEGATIVE_INFINITY
        ? snap.endList
          ? snap.segments
          : snap.segments.slice(-LIVE_START_SEGMENTS)
        : snap.segments.filter((s) => s.msn > fetchedUpTo);
    if (fresh.length > 0) {
      let startS = 0;
      const now = ctx.now();
      segments.push(
        fresh.map((s) => {
          const dueAt = snap.endList ? vodSegmentDueAt(playStart, startS, VOD_BUFFER_AHEAD_S) : now;
          startS += s.durationS;
          const fallback = fallbackFor(s.msn);
          return {
            uri: s.uri,
            range: s.range,
            init: s.map,
            dueAt,
            durationS: s.durationS,
            ...(fallback ? { fallback } : {}),
          };
        }),
      );
      fetchedUpTo = (fresh[fresh.length - 1] as { msn: number }).msn;
    } else if (fetchedUpTo === Number.NEGATIVE_INFINITY) {
      fetchedUpTo = snap.lastMsn;
    }

    const plan = hlsReloadPlan(position, snap);
    position = snap;
    if (plan === null) return; // ENDLIST: play out what is queued
    query = plan.query;
    blocking = plan.blocking;
    await sleep(started + plan.delayMs - ctx.now(), ctx.stop);
  }
}

async function playDash(ctx: PlayerContext, entry: Entry, segments: SegmentLoop): Promise<void> {
  let url = entry.url;
  let representation: string | undefined;
  const fetched = new Set<string>();
  let startedPlaying = false;
  let segmentDurationS: number | undefined;
  // Service locations that failed a segment: as dash.js does, later segments start elsewhere.
  const failedLocations = new Set<string>();
  const playStart = ctx.now();
  while (!ctx.stop.aborted) {
    const started = ctx.now();
    segments.reportTo = reportUrl(url);
    segments.flushReports();
    const cmcd = segments.cmcd?.queryPayload(ctx.now());
    const out = await loadManifest(
      ctx,
      entry,
      cmcd === undefined ? url : withPlayerQuery(url, [['CMCD', cmcd]]),
      false,
      MANIFEST_TIMEOUT_MS,
    );
    let snap: DashSnapshot | undefined;
    if (out.ok) {
      try {
        snap = readMpd(out.res.text, url, ctx.variant, {
          now: ctx.now(),
          previousId: representation,
          random: ctx.random,
        });
      } catch (err) {
        if (!(err instanceof PlaylistError)) throw err;
        parseError(ctx, entry);
      }
    }
    if (snap === undefined) {
      await sleep(retryDelayMs(segmentDurationS), ctx.stop);
      continue;
    }
    representation = snap.representationId;
    segments.cmcd?.setBitrate(snap.bandwidth);
    segmentDurationS = snap.segmentDurationS;
    if (segmentDurationS !== undefined) ctx.recorder.targetDuration(segmentDurationS);
    const all = snap.segments;
    const fresh = !startedPlaying
      ? snap.dynamic
        ? all.slice(-LIVE_START_SEGMENTS)
        : all
      : all.filter((s) => !fetched.has(s.key));
    startedPlaying = true;
    let startS = 0;
    const now = ctx.now();
    segments.push(
      fresh.map((s) => {
        const dueAt = snap.dynamic ? now : vodSegmentDueAt(playStart, startS, VOD_BUFFER_AHEAD_S);
        startS += s.durationS;
        // Every BaseURL the MPD offers for this segment, the ones that have not failed first.
        const copies = [...s.copies].sort(
          (x, y) => Number(failedLocations.has(x.location)) - Number(failedLocations.has(y.location)),
        );
        const head = copies[0] ?? { uri: s.uri, range: s.range, init: s.init, location: '' };
        let k = 0;
        const fallback: QueuedSegment['fallback'] = (failed) => {
          const loc = copies.find((c) => c.uri === failed.uri)?.location;
          if (loc !== undefined) failedLocations.add(loc);
          const next = copies[++k];
          return Promise.resolve(next && { uri: next.uri, range: next.range, init: next.init });
        };
        return {
          uri: head.uri,
          range: head.range,
          init: head.init,
          dueAt,
          durationS: s.durationS,
          ...(copies.length > 1 ? { fallback } : {}),
        };
      }),
    );
    // Everything in this MPD counts as seen, so a refresh only adds what is new.
    for (const s of all) fetched.add(s.key);
    if (fetched.size > 4 * all.length + 100) {
      const keep = new Set(all.map((s) => s.key));
      for (const k of fetched) if (!keep.has(k)) fetched.delete(k);
    }
    const delay = dashReloadDelayMs({
      dynamic: snap.dynamic,
      minimumUpdatePeriodMs: snap.minimumUpdatePeriodMs,
      segmentDurationS,
    });
    if (delay === null) return;
    if (snap.location !== undefined) url = snap.location;
    await sleep(started + delay - ctx.now(), ctx.stop);
  }
}
