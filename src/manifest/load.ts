import { SwitchyardError } from '../errors';
import { escapeXml, looksLikeDash, looksLikeDashDocument, parseDash } from './dash';
import { looksLikeHls, parseHls, type BlockingEdge } from './hls';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from './limits';
import { encodeTemplate, type EncodedTemplate, type Template } from './template';

/** What any manifest format tells the cache and the policies. */
export interface ManifestInfo {
  readonly protocol: 'hls' | 'dash';
  /** 'master' for HLS multivariant playlists; HLS media playlists and DASH MPDs are 'media'. */
  readonly kind: 'master' | 'media';
  /** Still changing: an HLS media playlist without ENDLIST, a DASH MPD with type="dynamic". */
  readonly live: boolean;
  /** Path (under the origin base) of the newest segment, for "does the other CDN have it" checks. */
  readonly newestSegmentPath: string | undefined;
  /** For live manifests: how long a copy may be served before players would miss an update (ms). */
  readonly liveTtlMs?: number;
  /** HLS media playlists: EXT-X-MEDIA-SEQUENCE (undefined when absent: 0 by the spec). */
  readonly mediaSequence?: number | undefined;
  /** Seconds of media per segment at most (HLS target duration), when known. */
  readonly targetDuration?: number;
  /** Seconds of media the manifest lists, when known. */
  readonly totalDuration?: number;
  /** LL-HLS part target duration (seconds), when the playlist has parts. */
  readonly partTarget?: number;
  /** DASH: timeShiftBufferDepth (ms), how far back a player may seek. */
  readonly dvrWindowMs?: number;
  /** DASH: minimumUpdatePeriod (ms). */
  readonly minimumUpdatePeriodMs?: number;
  /** HLS live media playlists: where the playlist ends (LL-HLS blocking-reload limits). */
  readonly blockingEdge?: BlockingEdge;
  /** Masters: each variant's resolved URL and its bandwidth (bits/s). */
  readonly variantBandwidths?: ReadonlyMap<string, number>;
}

/** A parsed manifest of any supported format: its template, what it is, and how long it stays fresh. */
export interface ParsedManifest {
  readonly template: Template;
  /** The template as bytes, for the per-session render on the hot path. */
  readonly encoded: EncodedTemplate;
  readonly info: ManifestInfo;
  readonly contentType: string;
  /**
   * Escapes Switchyard's own prefixes for the manifest's syntax before they are joined with slot
   * paths (XML for DASH); undefined when the text needs no escaping (HLS).
   */
  readonly escape?: (text: string) => string;
  /** A DASH document an MPD refers to (XLink remote element, MPD Patch) rather than an MPD. */
  readonly dashDocument?: 'remote-element' | 'patch';
}

const HLS_TYPES = /^(application\/(vnd\.apple\.mpegurl|x-mpegurl)|audio\/(x-)?mpegurl)/i;
const DASH_TYPES = /^application\/dash(\+xml|-patch\+xml)/i;

/**
 * Detects the format by content first (an origin's content type is often wrong: text/plain,
 * application/octet-stream), then by content type, never by file extension.
 */
export function parseManifest(
  text: string,
  manifestUrl: string,
  originBase: string,
  contentType: string | undefined,
  limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS,
  /** "Now" for a dynamic MPD's segment timeline (ms since the epoch): the server's clock. */
  now: number = Date.now(),
): ParsedManifest {
  if (looksLikeHls(text)) {
    const { template, info } = parseHls(text, manifestUrl, originBase, limits);
    return {
      template,
      encoded: encodeTemplate(template),
      info,
      contentType: 'application/vnd.apple.mpegurl',
    };
  }
  if (looksLikeDash(text) || looksLikeDashDocument(text)) {
    const { template, info, document } = parseDash(text, manifestUrl, originBase, limits, now);
    return {
      template,
      encoded: encodeTemplate(template),
      info,
      contentType:
        document === 'patch'
          ? 'application/dash-patch+xml'
          : document === 'remote-element'
            ? 'application/xml'
            : 'application/dash+xml',
      escape: escapeXml,
      ...(document === undefined || document === 'mpd' ? {} : { dashDocument: document }),
    };
  }
  if (contentType && DASH_TYPES.test(contentType)) {
    throw new SwitchyardError(
      'MANIFEST_INVALID',
      'origin sent a DASH content type but the body is not an MPD',
    );
  }
  if (contentType && HLS_TYPES.test(contentType)) {
    throw new SwitchyardError(
      'MANIFEST_INVALID',
      'origin sent an HLS content type but the body is not an HLS playlist',
    );
  }
  if (text.trim() === '') throw new SwitchyardError('MANIFEST_INVALID', 'origin sent an empty manifest');
  throw new SwitchyardError(
    'NOT_A_MANIFEST',
    `origin answered ${contentType ? `"${contentType.split(';')[0]}"` : 'content'} that is not a manifest Switchyard can rewrite`,
  );
}

export interface TtlRules {
  masterTtl: number;
  vodTtl: number;
}

/** max-age from a Cache-Control header, in ms; 0 for no-cache/no-store; undefined when absent. */
export function originMaxAge(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  const cc = cacheControl.toLowerCase();
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(cc)) return 0;
  const m = /(?:^|[\s,])(?:s-maxage|max-age)\s*=\s*"?(\d+)/.exec(cc);
  return m ? Number(m[1]) * 1000 : undefined;
}

/**
 * How long a manifest stays fresh in Switchyard's cache: a live one as long as its format allows
 * (liveTtlMs), VOD media and masters longer. The origin's max-age is honoured as an upper bound.
 */
export function manifestTtl(info: ManifestInfo, rules: TtlRules, cacheControl: string | undefined): number {
  const ttl = info.kind === 'master' ? rules.masterTtl : !info.live ? rules.vodTtl : (info.liveTtlMs ?? 1000);
  const maxAge = originMaxAge(cacheControl);
  return maxAge === undefined ? ttl : Math.min(ttl, maxAge);
}

/**
 * Roughly what a parsed manifest holds in memory, in bytes: its literal text twice (the template's
 * chunks and the encoded buffers), each slot's URI strings and a fixed overhead per slot and buffer.
 * An estimate for the cache's byte budget, not an exact heap measure.
 */
export function manifestBytes(m: ParsedManifest): number {
  let bytes = 2 * m.encoded.fixedBytes + 1024;
  for (const slot of m.template.slots) bytes += slot.absolute.length + (slot.path?.length ?? 0) + 160;
  return bytes;
}
