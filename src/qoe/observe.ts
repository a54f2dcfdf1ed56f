/**
 * From one decoded CMCD report (request or event mode, v1 or v2) to one QoeSignal: pure. Counts and
 * durations are the time since the same session's previous report, so the caller keeps a few numbers
 * per session (SessionMarks) and hands the previous ones in.
 */
import { listSum, numberOf, type CmcdPayload } from './cmcd';
import { cmsdFromEcho } from './cmsd';
import type { QoeSignal } from './signals';

/** What a report is remembered by, to turn absolute counters into deltas. */
export interface SessionMarks {
  readonly at: number;
  /** Playhead, ms (`pt`). */
  readonly pt?: number;
  /** Player timestamp of the report, ms (`ts`). */
  readonly ts?: number;
  /** Absolute starvation duration since session start, ms (`bsda`). */
  readonly bsda?: number;
  /** Absolute starvation count since session start (`bsa`). */
  readonly bsa?: number;
}

export interface CmcdContext {
  readonly at: number;
  readonly source: QoeSignal['source'];
  /** What carried the report: a playlist request, a segment request (redirect mode), an event report. */
  readonly carrier: 'manifest' | 'segment' | 'event';
  readonly sessionId?: string;
  readonly cdn?: string;
  readonly country?: string;
  readonly asn?: number;
  /** The sender's address, for abuse limits (one address cannot vote for many sessions). */
  readonly client?: string;
}

/** Object types that are not media: their responses neither play nor count as segment requests. */
const NOT_MEDIA = new Set(['m', 'k']);

/** A playhead may not advance faster than this many times the wall clock between two reports. */
const MAX_PLAYBACK_RATE = 4;

/**
 * The signal one report makes, and the marks to remember for the session's next one. Every number is
 * bounded (non-negative, finite, playback no faster than MAX_PLAYBACK_RATE x the time between
 * reports), so a lying player can say little that is not true of some real player.
 */
export function signalFromCmcd(
  payload: CmcdPayload,
  ctx: CmcdContext,
  previous: SessionMarks | undefined,
): { signal: QoeSignal; marks: SessionMarks } {
  const e = typeof payload.e === 'string' ? payload.e : undefined;
  const ot = typeof payload.ot === 'string' ? payload.ot : undefined;
  const media = ot === undefined || !NOT_MEDIA.has(ot);
  const rc = nonNegative(payload.rc);
  const pt = nonNegative(payload.pt);
  const ts = nonNegative(payload.ts);
  const bsda = numberOf(payload, 'bsda');
  const bsa = numberOf(payload, 'bsa');
  const bsd = Array.isArray(payload.bsd) ? listSum(payload.bsd) : nonNegative(payload.bsd);

  let segmentRequests: number | undefined;
  let segmentErrors: number | undefined;
  if (e === 'rr' && media) {
    segmentRequests = 1;
    segmentErrors = rc !== undefined && (rc === 0 || rc >= 400) ? 1 : 0;
  } else if (ctx.carrier === 'segment' && media && e === undefined) {
    segmentRequests = 1;
  }

  // Wall time between this report and the previous one, on the player's clock when both carry one.
  const elapsed =
    previous === undefined
      ? undefined
      : ts !== undefined && previous.ts !== undefined && ts >= previous.ts
        ? ts - previous.ts
        : Math.max(0, ctx.at - previous.at);

  let rebufferMs: number | undefined;
  if (bsd !== undefined && bsd > 0) rebufferMs = bsd;
  else if (bsda !== undefined && previous?.bsda !== undefined && bsda > previous.bsda)
    rebufferMs = bsda - previous.bsda;
  if (rebufferMs !== undefined && elapsed !== undefined && elapsed > 0)
    rebufferMs = Math.min(rebufferMs, elapsed);

  let playMs: number | undefined;
  if (pt !== undefined && previous?.pt !== undefined && elapsed !== undefined) {
    const advanced = pt - previous.pt;
    if (advanced > 0) playMs = Math.min(advanced, elapsed * MAX_PLAYBACK_RATE);
  } else if (
    pt === undefined &&
    ctx.carrier === 'segment' &&
    media &&
    (ot === undefined || ot === 'v' || ot === 'av')
  ) {
    // A media segment requested is (about) its duration played, when the player says no playhead.
    const d = nonNegative(payload.d);
    if (d !== undefined && d > 0) playMs = Math.min(d, 60_000);
  }

  const starved =
    payload.bs === true ||
    (rebufferMs !== undefined && rebufferMs > 0) ||
    (bsa !== undefined && previous?.bsa !== undefined && bsa > previous.bsa) ||
    (e === 'ps' && payload.sta === 'r');

  const echo = cmsdFromEcho(payload.cmsds, payload.cmsdd);
  const mtp = numberOf(payload, 'mtp');
  const br = numberOf(payload, 'br');
  const ttfb = nonNegative(payload.ttfb);

  const signal: QoeSignal = {
    at: ctx.at,
    source: ctx.source,
    ...(ctx.sessionId === undefined ? {} : { sessionId: ctx.sessionId }),
    ...(ctx.cdn === undefined ? {} : { cdn: ctx.cdn }),
    ...(ctx.country === undefined ? {} : { country: ctx.country }),
    ...(ctx.asn === undefined ? {} : { asn: ctx.asn }),
    ...(ctx.client === undefined ? {} : { client: ctx.client }),
    ...(segmentRequests === undefined ? {} : { segmentRequests }),
    ...(segmentErrors === undefined ? {} : { segmentErrors }),
    ...(rebufferMs === undefined ? {} : { rebufferMs }),
    ...(playMs === undefined ? {} : { playMs }),
    ...(starved ? { starved } : {}),
    ...(echo?.duress ? { duress: true } : {}),
    ...(mtp === undefined || mtp < 0 ? {} : { throughputKbps: mtp }),
    ...(br === undefined || br < 0 ? {} : { bitrateKbps: br }),
    ...(ttfb === undefined ? {} : { ttfbMs: ttfb }),
    ...(e === undefined ? {} : { event: e.slice(0, 8) }),
  };
  const marks: SessionMarks = {
    at: ctx.at,
    ...(pt === undefined ? (previous?.pt === undefined ? {} : { pt: previous.pt }) : { pt }),
    ...(ts === undefined ? {} : { ts }),
    ...(bsda === undefined ? (previous?.bsda === undefined ? {} : { bsda: previous.bsda }) : { bsda }),
    ...(bsa === undefined ? (previous?.bsa === undefined ? {} : { bsa: previous.bsa }) : { bsa }),
  };
  return { signal, marks };
}

function nonNegative(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Whether a signal says anything about delivery (it can vote on a CDN). */
export function hasDeliveryData(s: QoeSignal): boolean {
  return (
    s.segmentRequests !== undefined ||
    s.rebufferMs !== undefined ||
    s.playMs !== undefined ||
    s.starved === true ||
    s.throughputKbps !== undefined
  );
}

/**
 * Whether a signal says the session suffered on its CDN: starvation, a failed segment, or a measured
 * throughput below the bitrate it plays times `margin`.
 */
export function isBad(s: QoeSignal, margin = 1): boolean {
  if (s.starved === true || (s.rebufferMs ?? 0) > 0 || (s.segmentErrors ?? 0) > 0) return true;
  const { throughputKbps: mtp, bitrateKbps: br } = s;
  return mtp !== undefined && br !== undefined && br > 0 && mtp < br * margin;
}
