/**
 * The fixture streams of the player matrix (issue 13 §1) and what each must show when played: where it is
 * on the fixture origin, which players play it, how much media a complete play has.
 */
import type { PlayerKind } from '../helpers/browser';

export type DeliveryMode = 'rewrite' | 'redirect' | 'steering';

/** A delivery mode with the stream's `failover` setting (unset: the default, `auto`). */
export interface Delivery {
  label: string;
  mode: DeliveryMode;
  failover?: 'manifest' | 'none';
}
const REWRITE: Delivery = { label: 'rewrite', mode: 'rewrite' };
const REDIRECT: Delivery = { label: 'redirect', mode: 'redirect' };
const STEERING: Delivery = { label: 'steering', mode: 'steering' };
/** HLS redundant variants per CDN (off by default for HLS: clients reading every variant fetch each copy). */
const REWRITE_FALLBACKS: Delivery = { label: 'rewrite+fo', mode: 'rewrite', failover: 'manifest' };

/**
 * The deliveries each stream plays through: every mode with its defaults (DASH's default `auto` is
 * `failover: manifest`, HLS's is `none`), and for HLS also rewrite with `failover: manifest`.
 */
export const deliveriesFor = (s: MatrixStream): readonly Delivery[] =>
  s.format === 'hls' ? [REWRITE, REWRITE_FALLBACKS, REDIRECT, STEERING] : [REWRITE, REDIRECT, STEERING];

export interface MatrixStream {
  /** Row label. */
  label: string;
  /** Folder on the fixture origin = stream id in Switchyard. */
  id: string;
  /** Entry manifest under the folder. */
  entry: string;
  format: 'hls' | 'dash';
  live: boolean;
  lowLatency?: boolean;
  /** VOD: seconds of media to the end. */
  durationS?: number;
  /** Segment duration (the target duration of a live stream), s. */
  segmentS: number;
  /** Fewest distinct segments (path + range) a complete play fetches from the CDNs. */
  minSegments: number;
}

export const HLS_PLAYERS: readonly PlayerKind[] = ['hlsjs', 'shaka'];
export const DASH_PLAYERS: readonly PlayerKind[] = ['shaka', 'dashjs'];

export const MATRIX_STREAMS: readonly MatrixStream[] = [
  {
    label: 'HLS VOD TS + alt audio',
    id: 'vod',
    entry: 'master.m3u8',
    format: 'hls',
    live: false,
    durationS: 12,
    segmentS: 2,
    minSegments: 12,
  },
  {
    label: 'HLS fMP4/CMAF',
    id: 'fmp4',
    entry: 'master.m3u8',
    format: 'hls',
    live: false,
    durationS: 12,
    segmentS: 2,
    minSegments: 12,
  },
  {
    label: 'HLS AES-128',
    id: 'aes',
    entry: 'master.m3u8',
    format: 'hls',
    live: false,
    durationS: 12,
    segmentS: 2,
    minSegments: 6,
  },
  {
    label: 'HLS byte ranges',
    id: 'byterange',
    entry: 'master.m3u8',
    format: 'hls',
    live: false,
    durationS: 12,
    segmentS: 2,
    minSegments: 6,
  },
  {
    label: 'HLS live',
    id: 'live',
    entry: 'master.m3u8',
    format: 'hls',
    live: true,
    segmentS: 1,
    minSegments: 8,
  },
  {
    label: 'LL-HLS',
    id: 'llhls',
    entry: 'master.m3u8',
    format: 'hls',
    live: true,
    lowLatency: true,
    segmentS: 1,
    minSegments: 8,
  },
  {
    label: 'DASH static $Number$',
    id: 'dash',
    entry: 'manifest.mpd',
    format: 'dash',
    live: false,
    durationS: 12,
    segmentS: 2,
    minSegments: 12,
  },
  {
    label: 'DASH live dynamic',
    id: 'dash-live',
    entry: 'manifest.mpd',
    format: 'dash',
    live: true,
    segmentS: 2,
    minSegments: 8,
  },
  {
    label: 'DASH SegmentTimeline',
    id: 'dash-timeline',
    entry: 'manifest.mpd',
    format: 'dash',
    live: false,
    durationS: 6,
    segmentS: 2,
    minSegments: 7,
  },
  {
    label: 'DASH SegmentList',
    id: 'dash-list',
    entry: 'manifest.mpd',
    format: 'dash',
    live: false,
    durationS: 6,
    segmentS: 2,
    minSegments: 7,
  },
  {
    label: 'DASH SegmentBase',
    id: 'dash-base',
    entry: 'manifest.mpd',
    format: 'dash',
    live: false,
    durationS: 6,
    segmentS: 2,
    minSegments: 2,
  },
];

/** Streams the origin serves that the matrix does not put through every mode, checked from the origin. */
export const EXTRA_ORIGIN_STREAMS: readonly MatrixStream[] = [
  {
    label: 'DASH multi-period',
    id: 'dash',
    entry: 'multiperiod.mpd',
    format: 'dash',
    live: false,
    durationS: 12,
    segmentS: 2,
    minSegments: 12,
  },
];

export const playersFor = (s: MatrixStream): readonly PlayerKind[] =>
  s.format === 'hls' ? HLS_PLAYERS : DASH_PLAYERS;

/** Media segments (and init segments) as opposed to manifests, keys and steering manifests. */
export const isSegmentPath = (path: string): boolean => /\.(ts|m4s|mp4|aac|m4a)$/.test(path);

/**
 * A live media segment's place in the stream, whatever the rendition, CDN or byte range (an LL-HLS
 * part): `seg_<k>` of /live/ and /llhls/ (muxed audio) is ('muxed', k); `live-<rep>-<N>.m4s` of
 * /dash-live/ is ('audio', N) for representation 2, the audio, else ('video', N). Undefined for
 * anything else (init segments).
 */
export function liveSegmentPlace(path: string): { type: string; n: number } | undefined {
  const hls = /\/seg_(\d+)\.ts$/.exec(path);
  if (hls) return { type: 'muxed', n: Number(hls[1]) };
  const dash = /\/live-(\d+)-(\d+)\.m4s$/.exec(path);
  if (dash) return { type: dash[1] === '2' ? 'audio' : 'video', n: Number(dash[2]) };
  return undefined;
}

/**
 * Seconds a live cell plays, and when its CDN is cut. Enough for what the cut is judged by (the
 * segments after it, in order, and what the player did at the first failure): with 1 s segments
 * (2 s on DASH) that is 8 (4) segments after the cut, all from the other CDN.
 */
export const LIVE_SECONDS = 12;
export const LIVE_CUT_S = 4;
/** VOD cells play at this rate (12 s of media in about 1.5 s): VOD cells judge what was fetched and played to the end. */
export const VOD_RATE = 8;
