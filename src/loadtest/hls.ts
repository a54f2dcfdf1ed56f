/**
 * What a simulated HLS player needs to read from playlists: variants of a master, and the segments,
 * sequence numbers and server-control of a media playlist (incl. LL-HLS parts and delta updates).
 * One pass over lines, URIs resolved against the playlist's own URL.
 */

export interface Variant {
  readonly uri: string;
  readonly bandwidth: number;
  /**
   * What makes variants redundant copies of each other (RFC 8216bis §6.3.3): the same BANDWIDTH,
   * RESOLUTION, CODECS and FRAME-RATE. Players fail over between copies.
   */
  readonly copyKey: string;
}

export interface MediaSegmentRef {
  /** Media sequence number. */
  readonly msn: number;
  readonly uri: string;
  readonly durationS: number;
  /** EXT-X-BYTERANGE as an HTTP Range header value. */
  readonly range?: string;
  /** EXT-X-MAP in effect (init section), absolute. */
  readonly map?: string;
}

export interface HlsMediaSnapshot {
  readonly targetDurationS: number;
  readonly mediaSequence: number;
  /** Full segments, numbered from the media sequence plus any segments skipped by a delta update. */
  readonly segments: readonly MediaSegmentRef[];
  readonly endList: boolean;
  /** Msn of the newest full segment (mediaSequence - 1 when the playlist has none). */
  readonly lastMsn: number;
  /** EXT-X-PART lines after the newest full segment: parts of the segment being written. */
  readonly trailingParts: number;
  readonly partTargetS: number | undefined;
  readonly canBlockReload: boolean;
  readonly canSkipUntilS: number | undefined;
}

export class PlaylistError extends Error {
  readonly code = 'PLAYLIST_INVALID';
}

/** Attribute value of an attribute list (quoted or not), or undefined. */
export function attribute(list: string, name: string): string | undefined {
  const re = new RegExp(`(?:^|,)\\s*${name}=("([^"]*)"|[^,]*)`);
  const m = re.exec(list);
  if (!m) return undefined;
  return m[2] ?? m[1];
}

function resolve(uri: string, base: string): string {
  return new URL(uri, base).href;
}

export function isMasterPlaylist(text: string): boolean {
  return /^#EXT-X-STREAM-INF:/m.test(text);
}

export function parseMasterVariants(text: string, url: string): Variant[] {
  const lines = text.split(/\r?\n/);
  const variants: Variant[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!line.startsWith('#EXT-X-STREAM-INF:')) continue;
    const attrs = line.slice('#EXT-X-STREAM-INF:'.length);
    const bandwidth = Number(attribute(attrs, 'BANDWIDTH') ?? 0);
    const copyKey = ['BANDWIDTH', 'RESOLUTION', 'CODECS', 'FRAME-RATE']
      .map((a) => attribute(attrs, a))
      .join('|');
    let j = i + 1;
    while (j < lines.length && ((lines[j] as string).trim() === '' || (lines[j] as string).startsWith('#')))
      j++;
    const uri = lines[j]?.trim();
    if (uri)
      variants.push({
        uri: resolve(uri, url),
        bandwidth: Number.isFinite(bandwidth) ? bandwidth : 0,
        copyKey,
      });
    i = j;
  }
  return variants;
}

export type VariantChoice = 'lowest' | 'highest' | 'random';

export function chooseByBandwidth<T extends { bandwidth: number }>(
  items: readonly T[],
  choice: VariantChoice,
  random: () => number = Math.random,
): T | undefined {
  if (items.length === 0) return undefined;
  if (choice === 'random') return items[Math.floor(random() * items.length)];
  let best = items[0] as T;
  for (const v of items) {
    if (choice === 'lowest' ? v.bandwidth < best.bandwidth : v.bandwidth > best.bandwidth) best = v;
  }
  return best;
}

export function parseMediaPlaylist(text: string, url: string): HlsMediaSnapshot {
  if (!text.startsWith('#EXTM3U') && !text.replace(/^\uFEFF/, '').startsWith('#EXTM3U')) {
    throw new PlaylistError('not an HLS playlist (no #EXTM3U)');
  }
  let targetDurationS: number | undefined;
  let mediaSequence = 0;
  let skipped = 0;
  let endList = false;
  let partTargetS: number | undefined;
  let canBlockReload = false;
  let canSkipUntilS: number | undefined;
  let pendingDuration: number | undefined;
  let pendingRange: string | undefined;
  let map: string | undefined;
  let nextOffset = 0;
  let trailingParts = 0;
  const raw: { uri: string; durationS: number; range?: string; map?: string }[] = [];

  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '') continue;
    if (!line.startsWith('#')) {
      const seg: { uri: string; durationS: number; range?: string; map?: string } = {
        uri: resolve(line, url),
        durationS: pendingDuration ?? 0,
      };
      if (pendingRange !== undefined) seg.range = pendingRange;
      if (map !== undefined) seg.map = map;
      raw.push(seg);
      pendingDuration = undefined;
      pendingRange = undefined;
      trailingParts = 0;
      continue;
    }
    const colon = line.indexOf(':');
    const tag = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1);
    switch (tag) {
      case '#EXT-X-TARGETDURATION':
        targetDurationS = Number(value);
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        mediaSequence = Number(value);
        break;
      case '#EXTINF':
        pendingDuration = Number(value.split(',')[0]);
        break;
      case '#EXT-X-BYTERANGE': {
        const [len, off] = value.split('@');
        const start = off === undefined ? nextOffset : Number(off);
        const end = start + Number(len) - 1;
        pendingRange = `bytes=${start}-${end}`;
        nextOffset = end + 1;
        break;
      }
      case '#EXT-X-MAP': {
        const uri = attribute(value, 'URI');
        if (uri !== undefined) map = resolve(uri, url);
        break;
      }
      case '#EXT-X-ENDLIST':
        endList = true;
        break;
      case '#EXT-X-SKIP':
        skipped += Number(attribute(value, 'SKIPPED-SEGMENTS') ?? 0);
        break;
      case '#EXT-X-PART-INF':
        partTargetS = Number(attribute(value, 'PART-TARGET'));
        break;
      case '#EXT-X-PART':
        trailingParts++;
        break;
      case '#EXT-X-SERVER-CONTROL': {
        canBlockReload = attribute(value, 'CAN-BLOCK-RELOAD') === 'YES';
        const skip = attribute(value, 'CAN-SKIP-UNTIL');
        canSkipUntilS = skip === undefined ? undefined : Number(skip);
        break;
      }
      default:
        break;
    }
  }
  if (targetDurationS === undefined || !Number.isFinite(targetDurationS) || targetDurationS <= 0) {
    throw new PlaylistError('media playlist without a valid EXT-X-TARGETDURATION');
  }
  const first = mediaSequence + skipped;
  const segments = raw.map((s, i) => ({ ...s, msn: first + i }));
  return {
    targetDurationS,
    mediaSequence,
    segments,
    endList,
    lastMsn: first + raw.length - 1,
    trailingParts,
    partTargetS,
    canBlockReload,
    canSkipUntilS,
  };
}

/** Appends query parameters we own to a URL whose own query (tokens) must stay byte for byte. */
export function withPlayerQuery(url: string, params: readonly (readonly [string, string])[]): string {
  if (params.length === 0) return url;
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const add = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return base + (base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?') + add;
}
