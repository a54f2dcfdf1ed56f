/**
 * When a player asks for its manifest again: the rules of the specs, as pure functions.
 * - HLS (RFC 8216 §6.3.4): after a load that changed the playlist, wait one target duration from the
 *   start of that load; after an unchanged one, half of it. ENDLIST: never again.
 * - LL-HLS (RFC 8216bis §6.2.5.2): with CAN-BLOCK-RELOAD, ask at once for the next part (or segment)
 *   with _HLS_msn/_HLS_part; the server holds the request until it exists. With CAN-SKIP-UNTIL, ask for
 *   a delta update (_HLS_skip=YES).
 * - DASH (ISO/IEC 23009-1 §5.4): a dynamic MPD is fetched again after minimumUpdatePeriod; 0 means
 *   it may change at every segment, so once a segment duration; without it (or static) never.
 */
import type { HlsMediaSnapshot } from './hls';

export interface ReloadPlan {
  /** Milliseconds after the start of the load just done. */
  readonly delayMs: number;
  /** Query parameters the player adds (LL-HLS), in order. */
  readonly query: readonly (readonly [string, string])[];
  readonly blocking: boolean;
}

/** What identifies "the playlist changed" for a player: its newest segment and part. */
export interface PlaylistPosition {
  readonly lastMsn: number;
  readonly trailingParts: number;
}

export function playlistChanged(previous: PlaylistPosition | undefined, next: PlaylistPosition): boolean {
  return (
    previous === undefined ||
    previous.lastMsn !== next.lastMsn ||
    previous.trailingParts !== next.trailingParts
  );
}

/** Null: the playlist is complete (ENDLIST) and is not reloaded. */
export function hlsReloadPlan(
  previous: PlaylistPosition | undefined,
  snapshot: HlsMediaSnapshot,
  options: { blockingReloads?: boolean } = {},
): ReloadPlan | null {
  if (snapshot.endList) return null;
  if (snapshot.canBlockReload && options.blockingReloads !== false) {
    // The next part of the segment being written, or the first part of the next segment. Without
    // parts (blocking reload of whole segments), the next segment.
    const query: [string, string][] = [['_HLS_msn', String(snapshot.lastMsn + 1)]];
    if (snapshot.partTargetS !== undefined) query.push(['_HLS_part', String(snapshot.trailingParts)]);
    if (snapshot.canSkipUntilS !== undefined) query.push(['_HLS_skip', 'YES']);
    return { delayMs: 0, query, blocking: true };
  }
  const td = snapshot.targetDurationS * 1000;
  const delayMs = playlistChanged(previous, snapshot) ? td : td / 2;
  return { delayMs, query: [], blocking: false };
}

/** After a failed manifest load: try again after half a target duration (1 s when none is known yet). */
export function retryDelayMs(targetDurationS: number | undefined): number {
  return targetDurationS === undefined ? 1000 : Math.max(100, (targetDurationS * 1000) / 2);
}

/** How long a blocking reload may be held: three target durations (the spec's limit), plus slack. */
export function blockingTimeoutMs(targetDurationS: number): number {
  return targetDurationS * 3000 + 2000;
}

export interface DashRefreshInput {
  readonly dynamic: boolean;
  /** MPD@minimumUpdatePeriod in ms; undefined when absent. */
  readonly minimumUpdatePeriodMs: number | undefined;
  /** Duration of the chosen Representation's segments, seconds. */
  readonly segmentDurationS: number | undefined;
}

/** Null: the MPD is not fetched again. */
export function dashReloadDelayMs(input: DashRefreshInput): number | null {
  if (!input.dynamic || input.minimumUpdatePeriodMs === undefined) return null;
  if (input.minimumUpdatePeriodMs > 0) return input.minimumUpdatePeriodMs;
  return Math.max(100, (input.segmentDurationS ?? 1) * 1000);
}

/**
 * VOD pacing: a player keeps `bufferAheadS` of media ahead of the playhead, so segment i (starting
 * at `startS` in the presentation) is due at playStart + startS - bufferAheadS.
 */
export function vodSegmentDueAt(playStartMs: number, startS: number, bufferAheadS: number): number {
  return playStartMs + Math.max(0, startS - bufferAheadS) * 1000;
}
