/**
 * When tokens are minted and how long they live. Tokens are minted per epoch: the epoch starts at
 * `now` rounded down to a quarter of the window, so every playlist a CDN serves in one epoch carries
 * the same token (byte-identical for every session, so rendering and caching stay shared), and a
 * token is minted once per (CDN, scope, epoch), not per request.
 *
 * Expiry: a token must outlive every request a player may still legitimately make for a URL it was
 * given. A playlist served at any moment of the epoch must stay valid for `need` after it (the next
 * reload + a segment + the DVR window, +3 target durations for LL-HLS parts; VOD: the whole duration
 * or the session's maxAge), and at least `window`. So
 *   expires = epochStart + epochLength + roundUp(max(window, need), epochLength)
 * rounded up to whole epochs so the small variation of a live playlist's DVR window between reloads
 * does not change the token.
 */
import type { TokenTimes } from './types';

/** Epochs are this fraction of the window. */
export const EPOCH_FRACTION = 4;
/** Shortest epoch: a second (tokens carry whole seconds). */
const MIN_EPOCH_MS = 1000;

export interface MintTimes {
  readonly times: TokenTimes;
  /** Identifies the epoch and lifetime: equal keys mean equal tokens. */
  readonly key: string;
  /**
   * How much of `need` the token cannot cover (ms), for schemes whose lifetime is set at the CDN
   * (Cloudflare's ttl): 0 when it covers it.
   */
  readonly shortfallMs: number;
}

export function epochLength(windowMs: number): number {
  return Math.max(MIN_EPOCH_MS, Math.floor(windowMs / EPOCH_FRACTION / 1000) * 1000);
}

export function mintTimes(
  nowMs: number,
  windowMs: number,
  needMs: number,
  lifetimeAtCdn: boolean,
): MintTimes {
  const epoch = epochLength(windowMs);
  const start = Math.floor(nowMs / epoch) * epoch;
  if (lifetimeAtCdn) {
    // The CDN counts `window` from the issue time: a playlist served at the end of the epoch keeps
    // window - epoch of it.
    const expires = start + windowMs;
    return {
      times: { start: start / 1000, expires: Math.floor(expires / 1000) },
      key: `${start}`,
      shortfallMs: Math.max(0, needMs - (windowMs - epoch)),
    };
  }
  const lifetime = Math.ceil(Math.max(windowMs, needMs) / epoch) * epoch;
  const expires = start + epoch + lifetime;
  return {
    times: { start: start / 1000, expires: expires / 1000 },
    key: `${start}+${lifetime}`,
    shortfallMs: 0,
  };
}

/** What a manifest tells about how long its URLs stay in use (all seconds; undefined when unknown). */
export interface UsageInfo {
  readonly protocol: 'hls' | 'dash';
  readonly kind: 'master' | 'media';
  readonly live: boolean;
  readonly targetDuration?: number;
  readonly partTarget?: number;
  /** Seconds of media listed (HLS) / the DVR window (DASH timeShiftBufferDepth). */
  readonly totalDuration?: number;
  readonly dvrWindowMs?: number;
  readonly minimumUpdatePeriodMs?: number;
}

/**
 * How long after a playlist is served a player may still ask for a URL in it (ms).
 * Live HLS: next reload (a target duration) + a segment + the DVR window (+3 target durations with
 * parts): every URL is listed, and the next reload lists fresh ones.
 * DASH (live too) and VOD, masters: the session's maxAge — a VOD player loads its playlist once and
 * may pause, and a DASH SegmentTemplate keeps producing URLs without any reload.
 */
export function usageNeedMs(info: UsageInfo, sessionMaxAgeMs: number): number {
  if (!info.live || info.kind === 'master') {
    return Math.max(sessionMaxAgeMs, (info.totalDuration ?? 0) * 1000);
  }
  if (info.protocol === 'hls') {
    const td = (info.targetDuration ?? 10) * 1000;
    const parts = info.partTarget !== undefined ? 3 * td : 0;
    return td + td + (info.totalDuration ?? 0) * 1000 + parts;
  }
  // A DASH SegmentTemplate is open-ended: a player computes the next URLs from it for as long as it
  // plays, and some (ffmpeg) never reload the MPD. So its token lives as long as the session may.
  return Math.max(sessionMaxAgeMs, 2 * (info.minimumUpdatePeriodMs ?? 10_000) + (info.dvrWindowMs ?? 0));
}
