/**
 * What a simulated DASH player reads from an MPD: its Representations (video, by bandwidth) with the
 * segment URLs of SegmentTemplate / SegmentTimeline / SegmentList / SegmentBase, resolved through the
 * BaseURL chain by mpd-parser, and when to fetch the MPD again.
 */
import { parse, type MpdManifest, type MpdPlaylist } from 'mpd-parser';
import { PlaylistError, chooseByBandwidth, type VariantChoice } from './hls';

export interface DashSegmentRef {
  /** What identifies the segment across MPD refreshes: its URL (and byte range), or with several
   * BaseURLs its reference as the MPD writes it (the URL depends on the BaseURL a player picks; the
   * number mpd-parser gives a live segment is its place in the window, which moves). */
  readonly key: string;
  readonly uri: string;
  readonly durationS: number;
  readonly range?: string;
  readonly init?: string;
  /** The segment under every BaseURL (service location) of its Representation, in MPD order. */
  readonly copies: readonly DashSegmentCopy[];
}

export interface DashSegmentCopy {
  /** BaseURL@serviceLocation, or '' without one. */
  readonly location: string;
  readonly uri: string;
  readonly range: string | undefined;
  readonly init: string | undefined;
}

export interface DashSnapshot {
  readonly dynamic: boolean;
  readonly minimumUpdatePeriodMs: number | undefined;
  /** MPD.Location: where the next refresh goes, absolute. */
  readonly location: string | undefined;
  readonly representationId: string;
  readonly bandwidth: number;
  readonly segments: readonly DashSegmentRef[];
  readonly segmentDurationS: number | undefined;
}

interface Representation {
  readonly playlist: MpdPlaylist;
  readonly bandwidth: number;
}

function representations(manifest: MpdManifest): Representation[] {
  const out: Representation[] = [];
  const add = (p: MpdPlaylist): void => {
    const bw = Number(p.attributes.BANDWIDTH ?? 0);
    out.push({ playlist: p, bandwidth: Number.isFinite(bw) ? bw : 0 });
  };
  for (const p of manifest.playlists ?? []) add(p);
  if (out.length === 0) {
    // Audio-only presentations: mpd-parser puts them in media groups.
    for (const group of Object.values(manifest.mediaGroups?.AUDIO ?? {})) {
      for (const rendition of Object.values(group)) for (const p of rendition.playlists) add(p);
    }
  }
  return out;
}

function rangeOf(b: { length: number; offset: number } | undefined): string | undefined {
  return b === undefined ? undefined : `bytes=${b.offset}-${b.offset + b.length - 1}`;
}

/**
 * Reads an MPD for one player. `previousId` keeps the Representation chosen at the first load (a
 * player does not re-pick on every refresh).
 */
export function readMpd(
  text: string,
  url: string,
  choice: VariantChoice,
  options: { now?: number; previousId?: string; random?: () => number } = {},
): DashSnapshot {
  let manifest: MpdManifest;
  try {
    manifest = parse(text, { manifestUri: url, NOW: options.now ?? Date.now() });
  } catch (err) {
    throw new PlaylistError(`MPD could not be read: ${(err as Error).message}`);
  }
  const reps = representations(manifest);
  const previous =
    options.previousId === undefined
      ? undefined
      : reps.find((r) => String(r.playlist.attributes.NAME) === options.previousId);
  const chosen = previous ?? chooseByBandwidth(reps, choice, options.random);
  if (chosen === undefined) throw new PlaylistError('MPD has no Representation a player can use');
  const p = chosen.playlist;
  // mpd-parser lists a Representation once per BaseURL: those are the copies of its segments.
  const name = p.attributes.NAME;
  const twins = reps.filter((r) => r.playlist.attributes.NAME === name).map((r) => r.playlist);
  const several = twins.length > 1;
  const segments: DashSegmentRef[] = p.segments.map((s, i) => {
    const range = rangeOf(s.byterange);
    const copies = twins.flatMap((t) => {
      const c = t.segments[i];
      return c
        ? [
            {
              location: String(t.attributes.serviceLocation ?? ''),
              uri: c.resolvedUri,
              range: rangeOf(c.byterange),
              init: c.map?.resolvedUri,
            },
          ]
        : [];
    });
    const ref: {
      key: string;
      uri: string;
      durationS: number;
      range?: string;
      init?: string;
      copies: DashSegmentCopy[];
    } = {
      key: several
        ? `${String(name)}#${String(s.timeline ?? '')}#${s.uri}#${range ?? ''}`
        : range === undefined
          ? s.resolvedUri
          : `${s.resolvedUri}#${range}`,
      uri: s.resolvedUri,
      durationS: s.duration,
      copies,
    };
    if (range !== undefined) ref.range = range;
    if (s.map?.resolvedUri) ref.init = s.map.resolvedUri;
    return ref;
  });
  const dynamic = /<MPD\b[^>]*\stype\s*=\s*["']dynamic["']/.test(text);
  const location = manifest.locations?.[0];
  return {
    dynamic,
    minimumUpdatePeriodMs: /\bminimumUpdatePeriod\s*=/.test(text) ? manifest.minimumUpdatePeriod : undefined,
    location: location === undefined ? undefined : new URL(location, url).href,
    representationId: String(p.attributes.NAME ?? ''),
    bandwidth: chosen.bandwidth,
    segments,
    segmentDurationS: p.targetDuration ?? segments[0]?.durationS,
  };
}
