import { SwitchyardError } from '../errors';
import { isHttpReference, resolveUri } from '../url';
import { TemplateBuilder, type SlotKind, type SlotRole, type Template } from './template';
import { makeSlot } from './uri';
import { DEFAULT_MANIFEST_LIMITS, tooComplex, type ManifestLimits } from './limits';

export interface HlsInfo {
  readonly protocol: 'hls';
  readonly kind: 'master' | 'media';
  /** A media playlist without EXT-X-ENDLIST (and not PLAYLIST-TYPE:VOD). Masters count as not live. */
  readonly live: boolean;
  readonly targetDuration: number | undefined;
  readonly partTarget: number | undefined;
  readonly mediaSequence: number | undefined;
  readonly canBlockReload: boolean;
  /** Live media playlists: where the playlist ends, for LL-HLS blocking-reload limits. */
  readonly blockingEdge: BlockingEdge | undefined;
  /** Path (under the origin base) of the newest full segment, for "does the other CDN have it" checks. */
  readonly newestSegmentPath: string | undefined;
  readonly segmentCount: number;
  /** Sum of the segments' EXTINF durations, seconds. */
  readonly totalDuration: number;
  /** Masters: each variant's resolved URL and its BANDWIDTH (bits/s), for delivered-volume estimates. */
  readonly variantBandwidths: ReadonlyMap<string, number>;
  /**
   * Half the target duration (LL-HLS: half the part target), so a reload never sees a copy older
   * than the player's reload interval allows.
   */
  readonly liveTtlMs: number;
}

/** The end of a live media playlist, as the LL-HLS delivery-directive rules need it. */
export interface BlockingEdge {
  /** Media Sequence Number of the last complete segment (mediaSequence - 1 when there is none). */
  readonly lastMsn: number;
  /** EXT-X-PART tags after that segment: the parts of the segment in progress. */
  readonly partsInProgress: number;
  /** Seconds. */
  readonly targetDuration: number;
  /** Seconds; undefined without EXT-X-PART-INF. */
  readonly partTarget: number | undefined;
}

export interface HlsManifest {
  readonly template: Template;
  readonly info: HlsInfo;
}

interface UriAttributeRule {
  attribute: string;
  kind: SlotKind;
  role: SlotRole;
}

/** Tags whose attributes carry URIs (RFC 8216bis §4.4, Content Steering, Interstitials). */
const URI_ATTRIBUTES: Readonly<Record<string, readonly UriAttributeRule[]>> = {
  'EXT-X-MEDIA': [{ attribute: 'URI', kind: 'rendition', role: 'playlist' }],
  'EXT-X-I-FRAME-STREAM-INF': [{ attribute: 'URI', kind: 'iframe-variant', role: 'playlist' }],
  'EXT-X-KEY': [{ attribute: 'URI', kind: 'key', role: 'key' }],
  'EXT-X-SESSION-KEY': [{ attribute: 'URI', kind: 'session-key', role: 'key' }],
  'EXT-X-MAP': [{ attribute: 'URI', kind: 'map', role: 'media' }],
  'EXT-X-PART': [{ attribute: 'URI', kind: 'part', role: 'media' }],
  'EXT-X-PRELOAD-HINT': [{ attribute: 'URI', kind: 'preload-hint', role: 'media' }],
  'EXT-X-RENDITION-REPORT': [{ attribute: 'URI', kind: 'rendition-report', role: 'playlist' }],
  'EXT-X-SESSION-DATA': [{ attribute: 'URI', kind: 'session-data', role: 'media' }],
  'EXT-X-CONTENT-STEERING': [{ attribute: 'SERVER-URI', kind: 'steering', role: 'absolute' }],
  'EXT-X-DATERANGE': [
    { attribute: 'X-ASSET-URI', kind: 'interstitial-asset', role: 'playlist' },
    { attribute: 'X-ASSET-LIST', kind: 'interstitial-list', role: 'absolute' },
  ],
};

/**
 * Low-latency prefetch tags whose value is a bare URI after the colon, not an attribute list: the LHLS
 * proposal's `#EXT-X-PREFETCH:` (hls.js RFC 0001, Periscope; parsed by hls-parser and hls_m3u8) and
 * Twitch's `#EXT-X-TWITCH-PREFETCH:`. Players fetch them like segments, so they go to the CDN too.
 */
const BARE_URI_TAGS: ReadonlySet<string> = new Set(['EXT-X-PREFETCH', 'EXT-X-TWITCH-PREFETCH']);

/** Tags that appear only in master (multivariant) playlists. */
const MASTER_TAGS: ReadonlySet<string> = new Set([
  'EXT-X-STREAM-INF',
  'EXT-X-I-FRAME-STREAM-INF',
  'EXT-X-MEDIA',
  'EXT-X-SESSION-DATA',
  'EXT-X-SESSION-KEY',
  'EXT-X-CONTENT-STEERING',
]);

const WHITESPACE = /\s/;

function invalid(message: string, line: number): SwitchyardError {
  return new SwitchyardError('MANIFEST_INVALID', `malformed playlist: ${message} (line ${line})`, {
    details: { line },
  });
}

/** The first index of `code` in text[from, to), or -1: never scans past `to` (a line's end). */
function indexIn(text: string, code: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === code) return i;
  return -1;
}

const EQUALS = 61;
const QUOTE = 34;
const COMMA = 44;
const COLON = 58;

/**
 * Finds the value of attribute `name` in an attribute list text[from, to) (RFC 8216 §4.2): returns the
 * span of the value without its quotes. Quoted values may hold commas and '='. Linear in the list: no
 * search runs past `to`. What a player skips (an item without "=", a trailing comma) is skipped.
 */
export function findAttribute(
  text: string,
  from: number,
  to: number,
  name: string,
  lineNo: number,
): { start: number; end: number } | undefined {
  let i = from;
  while (i < to) {
    while (i < to && (text[i] === ' ' || text[i] === '\t')) i++;
    const eq = indexIn(text, EQUALS, i, to);
    if (eq < 0) return undefined;
    // An item without "=" before the next comma (`A=1,FLAG,B=2`) is skipped, as players do.
    const comma0 = indexIn(text, COMMA, i, eq);
    if (comma0 >= 0) {
      i = comma0 + 1;
      continue;
    }
    const attrName = text.slice(i, eq).trim();
    let valueStart = eq + 1;
    let valueEnd: number;
    let next: number;
    if (text.charCodeAt(valueStart) === QUOTE && valueStart < to) {
      const close = indexIn(text, QUOTE, valueStart + 1, to);
      if (close < 0) throw invalid(`unterminated quoted value of ${attrName}`, lineNo);
      valueStart += 1;
      valueEnd = close;
      const comma = indexIn(text, COMMA, close + 1, to);
      next = comma < 0 ? to : comma + 1;
    } else {
      const comma = indexIn(text, COMMA, valueStart, to);
      valueEnd = comma < 0 ? to : comma;
      next = valueEnd + 1;
    }
    if (attrName === name) return { start: valueStart, end: valueEnd };
    i = next;
  }
  return undefined;
}

/** The value of an attribute as text, or undefined. */
function attributeText(
  text: string,
  from: number,
  to: number,
  name: string,
  lineNo: number,
): string | undefined {
  const span = findAttribute(text, from, to, name, lineNo);
  return span && text.slice(span.start, span.end);
}

/** A leading decimal number (`[0-9.]*`, as players read EXTINF and friends), else NaN. */
function leadingNumber(text: string, from: number, to: number, integer: boolean): number {
  let e = from;
  if (!integer && e < to && text.charCodeAt(e) === 45 /* - */) e++;
  while (e < to && e - from < 32) {
    const c = text.charCodeAt(e);
    if ((c >= 48 && c <= 57) || c === 46) e++;
    else break;
  }
  const digits = text.slice(from, e);
  return integer ? parseInt(digits, 10) : parseFloat(digits);
}

/**
 * Parses an HLS playlist (master or media) into a template with one slot per URI, in a single pass over
 * the lines that also reads what the cache and the policies need to know (kind, target duration, media
 * sequence, durations, variant bandwidths). `manifestUrl` is the playlist's own (origin) URL;
 * `originBase` the stream's origin base. Linear in the text; past `limits` it throws
 * MANIFEST_TOO_COMPLEX. Throws MANIFEST_INVALID when the text is not a usable playlist (a URI tag
 * without its URI, an unterminated quoted URI); anything a player skips is skipped.
 */
export function parseHls(
  text: string,
  manifestUrl: string,
  originBase: string,
  limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS,
): HlsManifest {
  if (!looksLikeHls(text)) {
    throw new SwitchyardError(
      'NOT_A_MANIFEST',
      'origin answered something that is not an HLS playlist (no #EXTM3U)',
    );
  }
  const builder = new TemplateBuilder(text);
  let pending:
    { kind: SlotKind; line: number; duration: number | undefined; bandwidth: number | undefined } | undefined;
  let sawVariant = false;
  let sawMasterTag = false;
  let sawSegmentTag = false;
  let newestSegmentPath: string | undefined;
  /** EXT-X-DEFINE NAME/VALUE pairs seen so far (a variable is defined before it is used). */
  const variables = new Map<string, string>();
  const facts: Understood = {
    endList: false,
    playlistType: undefined,
    targetDuration: undefined,
    partTarget: undefined,
    mediaSequence: undefined,
    canBlockReload: false,
  };
  let segmentCount = 0;
  let variantCount = 0;
  let totalDuration = 0;
  let longestSegment = 0;
  const variantBandwidths = new Map<string, number>();
  let trailingParts = 0;
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    lineNo++;
    if (lineNo > limits.maxLines) throw tooComplex('lines', limits.maxLines, 'maxLines');
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    if (eol - pos > limits.maxLineLength)
      throw tooComplex('characters in one line', limits.maxLineLength, 'maxLineLength');
    let end = eol > pos && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    const lineStart = pos;
    pos = eol + 1;
    // Trim for classification only; spans refer to the original text.
    // Trim what String.prototype.trim() trims (as players do): a BOM before #EXTM3U or a stray CR
    // must not turn a tag line into a URI line.
    let s = lineStart;
    while (s < end && WHITESPACE.test(text[s] as string)) s++;
    while (end > s && WHITESPACE.test(text[end - 1] as string)) end--;
    if (s === end) continue;
    if (text.charCodeAt(s) === 35 /* # */) {
      if (!text.startsWith('#EXT', s)) continue; // a comment
      const colon = indexIn(text, COLON, s, end);
      const nameEnd = colon < 0 ? end : colon;
      const tag = text.slice(s + 1, nameEnd);
      const valueAt = nameEnd + 1;
      if (tag === 'EXTINF') {
        // A second EXTINF before a URI replaces the first, as players read it.
        const d = valueAt < end ? leadingNumber(text, valueAt, end, false) : NaN;
        pending = {
          kind: 'segment',
          line: lineNo,
          duration: Number.isFinite(d) ? d : undefined,
          bandwidth: undefined,
        };
        sawSegmentTag = true;
      } else if (tag === 'EXT-X-STREAM-INF') {
        if (pending) {
          const what = pending.kind === 'variant' ? 'EXT-X-STREAM-INF' : 'EXTINF';
          throw invalid(`${what} without a URI line`, pending.line);
        }
        const bw = valueAt < end ? attributeText(text, valueAt, end, 'BANDWIDTH', lineNo) : undefined;
        pending = {
          kind: 'variant',
          line: lineNo,
          duration: undefined,
          bandwidth: bw === undefined ? NaN : parseInt(bw, 10),
        };
        sawVariant = true;
        if (++variantCount > limits.maxVariants)
          throw tooComplex('variants', limits.maxVariants, 'maxVariants');
      } else if (tag === 'EXT-X-TARGETDURATION') {
        sawSegmentTag = true;
        const td = valueAt < end ? leadingNumber(text, valueAt, end, true) : NaN;
        if (Number.isFinite(td) && td >= 0) facts.targetDuration = td;
      } else if (tag === 'EXT-X-MEDIA-SEQUENCE') {
        const n = valueAt < end ? leadingNumber(text, valueAt, end, true) : NaN;
        if (Number.isFinite(n)) facts.mediaSequence = n;
      } else if (tag === 'EXT-X-ENDLIST') {
        facts.endList = true;
      } else if (tag === 'EXT-X-PLAYLIST-TYPE') {
        const t = text.slice(valueAt, end).trim();
        if (t === 'VOD' || t === 'EVENT') facts.playlistType = t;
      } else if (tag === 'EXT-X-PART-INF' && valueAt < end) {
        const pt = attributeText(text, valueAt, end, 'PART-TARGET', lineNo);
        const v = pt === undefined ? NaN : parseFloat(pt);
        if (Number.isFinite(v)) facts.partTarget = v;
      } else if (tag === 'EXT-X-SERVER-CONTROL' && valueAt < end) {
        facts.canBlockReload = attributeText(text, valueAt, end, 'CAN-BLOCK-RELOAD', lineNo) === 'YES';
      } else if (tag === 'EXT-X-PART') {
        trailingParts++;
      }
      if (MASTER_TAGS.has(tag)) sawMasterTag = true;
      if (tag === 'EXT-X-DEFINE' && nameEnd < end) {
        const name = findAttribute(text, valueAt, end, 'NAME', lineNo);
        const value = findAttribute(text, valueAt, end, 'VALUE', lineNo);
        if (name && value)
          variables.set(text.slice(name.start, name.end), text.slice(value.start, value.end));
        continue;
      }
      if (BARE_URI_TAGS.has(tag) && nameEnd < end) {
        let u = valueAt;
        while (u < end && WHITESPACE.test(text[u] as string)) u++;
        if (u < end)
          builder.add(
            u,
            end,
            makeSlot('prefetch', 'media', text.slice(u, end), manifestUrl, originBase, variables),
          );
        sawSegmentTag = true;
        continue;
      }
      const rules = URI_ATTRIBUTES[tag];
      if (rules && nameEnd < end) {
        if (tag === 'EXT-X-I-FRAME-STREAM-INF') {
          sawVariant = true;
          if (++variantCount > limits.maxVariants)
            throw tooComplex('variants', limits.maxVariants, 'maxVariants');
        }
        // Several rules on one tag (DATERANGE) must be applied in text order.
        const spans: { rule: UriAttributeRule; span: { start: number; end: number } }[] = [];
        for (const rule of rules) {
          const span = findAttribute(text, valueAt, end, rule.attribute, lineNo);
          if (span) spans.push({ rule, span });
        }
        if (spans.length > 1) spans.sort((a, b) => a.span.start - b.span.start);
        for (const { rule, span } of spans) {
          if (span.end === span.start) continue;
          const uri = text.slice(span.start, span.end);
          builder.add(
            span.start,
            span.end,
            makeSlot(rule.kind, rule.role, uri, manifestUrl, originBase, variables),
          );
        }
      }
      continue;
    }
    // A URI line.
    const kind: SlotKind = pending?.kind ?? (sawVariant ? 'variant' : 'segment');
    const role: SlotRole = kind === 'variant' ? 'playlist' : 'media';
    const uri = text.slice(s, end);
    const slot = makeSlot(kind, role, uri, manifestUrl, originBase, variables);
    builder.add(s, end, slot);
    if (kind === 'segment') {
      if (++segmentCount > limits.maxSegments)
        throw tooComplex('segments', limits.maxSegments, 'maxSegments');
      newestSegmentPath = slot.path;
      trailingParts = 0;
      // Without EXTINF's duration a segment lasts the target duration (as far as it is known yet).
      const d = pending?.duration ?? facts.targetDuration;
      if (d !== undefined) {
        totalDuration += d;
        if (d > longestSegment) longestSegment = d;
      }
    } else if (kind === 'variant' && pending?.kind === 'variant') {
      const bw = pending.bandwidth ?? NaN;
      if (Number.isFinite(bw) && bw > 0 && isHttpReference(uri) && !uri.startsWith('{$'))
        variantBandwidths.set(resolveUri(manifestUrl, uri), bw);
    }
    pending = undefined;
  }
  if (pending) {
    throw invalid(
      `${pending.kind === 'variant' ? 'EXT-X-STREAM-INF' : 'EXTINF'} without a URI (truncated?)`,
      pending.line,
    );
  }

  const kind: 'master' | 'media' = sawVariant || (!sawSegmentTag && sawMasterTag) ? 'master' : 'media';
  const live = kind === 'media' && !facts.endList && facts.playlistType !== 'VOD';
  // Players tolerate a missing EXT-X-TARGETDURATION; the longest segment stands in for it.
  const targetDuration = facts.targetDuration ?? (segmentCount > 0 ? longestSegment : undefined);
  const template = builder.build();
  const blockingEdge: BlockingEdge | undefined =
    live && targetDuration !== undefined
      ? {
          lastMsn: (facts.mediaSequence ?? 0) + segmentCount - 1,
          partsInProgress: trailingParts,
          targetDuration,
          partTarget: facts.partTarget,
        }
      : undefined;
  return {
    template,
    info: {
      protocol: 'hls',
      kind,
      live,
      targetDuration,
      partTarget: facts.partTarget,
      mediaSequence: facts.mediaSequence,
      canBlockReload: facts.canBlockReload,
      blockingEdge,
      newestSegmentPath,
      segmentCount,
      totalDuration,
      variantBandwidths,
      liveTtlMs: Math.max(100, ((facts.partTarget ?? targetDuration ?? 2) * 1000) / 2),
    },
  };
}

/**
 * An HLS playlist starts with #EXTM3U (RFC 8216 §4.3.1.1). Real origins put a BOM, blank lines or
 * comment lines before it, and some omit it from media playlists that are otherwise plain HLS:
 * players read those, so Switchyard does too.
 */
export function looksLikeHls(text: string): boolean {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let lines = 0; lines < 64 && pos < text.length; lines++) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    const line = text.slice(pos, eol).trim();
    pos = eol + 1;
    if (line === '') continue;
    if (line === '#EXTM3U' || line.startsWith('#EXTM3U ') || line.startsWith('#EXTM3U\t')) return true;
    if (line.startsWith('#EXT')) return /^#EXT(INF|-X-)/.test(line);
    if (!line.startsWith('#')) return false;
  }
  return false;
}

/** What the line pass reads about how the playlist ages (as players read these tags). */
interface Understood {
  endList: boolean;
  playlistType: 'VOD' | 'EVENT' | undefined;
  targetDuration: number | undefined;
  partTarget: number | undefined;
  mediaSequence: number | undefined;
  canBlockReload: boolean;
}
