import { Parser } from 'm3u8-parser';
import { SwitchyardError } from '../errors';
import { isHttpReference, resolveUri } from '../url';
import { TemplateBuilder, type SlotKind, type SlotRole, type Template } from './template';
import { makeSlot } from './uri';

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

/**
 * Finds the value of attribute `name` in an attribute list text[from, to) (RFC 8216 §4.2): returns the
 * span of the value without its quotes. Quoted values may hold commas and '='.
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
    const eq = text.indexOf('=', i);
    if (eq < 0 || eq >= to) return undefined;
    const attrName = text.slice(i, eq).trim();
    let valueStart = eq + 1;
    let valueEnd: number;
    let next: number;
    if (text[valueStart] === '"') {
      const close = text.indexOf('"', valueStart + 1);
      if (close < 0 || close >= to) throw invalid(`unterminated quoted value of ${attrName}`, lineNo);
      valueStart += 1;
      valueEnd = close;
      const comma = text.indexOf(',', close + 1);
      next = comma < 0 || comma >= to ? to : comma + 1;
    } else {
      const comma = text.indexOf(',', valueStart);
      valueEnd = comma < 0 || comma >= to ? to : comma;
      next = valueEnd + 1;
    }
    if (attrName === name) return { start: valueStart, end: valueEnd };
    i = next;
  }
  return undefined;
}

/**
 * Parses an HLS playlist (master or media) into a template with one slot per URI, in a single pass over
 * the lines. `manifestUrl` is the playlist's own (origin) URL; `originBase` the stream's origin base.
 * Throws SwitchyardError MANIFEST_INVALID when the text is not a usable playlist.
 */
export function parseHls(text: string, manifestUrl: string, originBase: string): HlsManifest {
  if (!looksLikeHls(text)) {
    throw new SwitchyardError(
      'NOT_A_MANIFEST',
      'origin answered something that is not an HLS playlist (no #EXTM3U)',
    );
  }
  const builder = new TemplateBuilder(text);
  let pending: { kind: SlotKind; line: number } | undefined;
  let sawVariant = false;
  let sawMasterTag = false;
  let sawSegmentTag = false;
  let newestSegmentPath: string | undefined;
  /** EXT-X-DEFINE NAME/VALUE pairs seen so far (a variable is defined before it is used). */
  const variables = new Map<string, string>();
  let trailingParts = 0;
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    lineNo++;
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    let end = eol > pos && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    const lineStart = pos;
    pos = eol + 1;
    // Trim for classification only; spans refer to the original text.
    // Trim what String.prototype.trim() trims (as m3u8-parser and players do): a BOM before
    // #EXTM3U or a stray CR must not turn a tag line into a URI line.
    let s = lineStart;
    while (s < end && WHITESPACE.test(text[s] as string)) s++;
    while (end > s && WHITESPACE.test(text[end - 1] as string)) end--;
    if (s === end) continue;
    if (text.charCodeAt(s) === 35 /* # */) {
      if (!text.startsWith('#EXT', s)) continue; // a comment
      const colon = text.indexOf(':', s);
      const nameEnd = colon < 0 || colon > end ? end : colon;
      const tag = text.slice(s + 1, nameEnd);
      if (tag === 'EXTINF') {
        // A second EXTINF before a URI replaces the first, as players read it.
        pending = { kind: 'segment', line: lineNo };
        sawSegmentTag = true;
      } else if (tag === 'EXT-X-STREAM-INF') {
        if (pending) {
          const what = pending.kind === 'variant' ? 'EXT-X-STREAM-INF' : 'EXTINF';
          throw invalid(`${what} without a URI line`, pending.line);
        }
        pending = { kind: 'variant', line: lineNo };
        sawVariant = true;
      } else if (tag === 'EXT-X-TARGETDURATION') {
        sawSegmentTag = true;
      } else if (tag === 'EXT-X-PART') {
        trailingParts++;
      }
      if (MASTER_TAGS.has(tag)) sawMasterTag = true;
      if (tag === 'EXT-X-DEFINE' && nameEnd < end) {
        const name = findAttribute(text, nameEnd + 1, end, 'NAME', lineNo);
        const value = findAttribute(text, nameEnd + 1, end, 'VALUE', lineNo);
        if (name && value)
          variables.set(text.slice(name.start, name.end), text.slice(value.start, value.end));
        continue;
      }
      if (BARE_URI_TAGS.has(tag) && nameEnd < end) {
        let u = nameEnd + 1;
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
        if (tag === 'EXT-X-I-FRAME-STREAM-INF') sawVariant = true;
        // Several rules on one tag (DATERANGE) must be applied in text order.
        const spans = rules
          .map((rule) => ({ rule, span: findAttribute(text, nameEnd + 1, end, rule.attribute, lineNo) }))
          .filter(
            (x): x is { rule: UriAttributeRule; span: { start: number; end: number } } =>
              x.span !== undefined,
          )
          .sort((a, b) => a.span.start - b.span.start);
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
    const slot = makeSlot(kind, role, text.slice(s, end), manifestUrl, originBase, variables);
    builder.add(s, end, slot);
    if (kind === 'segment') {
      newestSegmentPath = slot.path;
      trailingParts = 0;
    }
    pending = undefined;
  }
  if (pending) {
    throw invalid(
      `${pending.kind === 'variant' ? 'EXT-X-STREAM-INF' : 'EXTINF'} without a URI (truncated?)`,
      pending.line,
    );
  }

  const parsed = understand(text);
  const kind: 'master' | 'media' =
    sawVariant || (!sawSegmentTag && (sawMasterTag || parsed.isMaster)) ? 'master' : 'media';
  const live = kind === 'media' && !parsed.endList && parsed.playlistType !== 'VOD';
  const template = builder.build();
  const segmentCount = template.slots.filter((x) => x.kind === 'segment').length;
  const blockingEdge: BlockingEdge | undefined =
    live && parsed.targetDuration !== undefined
      ? {
          lastMsn: (parsed.mediaSequence ?? 0) + segmentCount - 1,
          partsInProgress: trailingParts,
          targetDuration: parsed.targetDuration,
          partTarget: parsed.partTarget,
        }
      : undefined;
  return {
    template,
    info: {
      protocol: 'hls',
      kind,
      live,
      targetDuration: parsed.targetDuration,
      partTarget: parsed.partTarget,
      mediaSequence: parsed.mediaSequence,
      canBlockReload: parsed.canBlockReload,
      blockingEdge,
      newestSegmentPath,
      segmentCount,
      totalDuration: parsed.totalDuration,
      variantBandwidths: new Map(
        parsed.variants
          .filter((v) => isHttpReference(v.uri) && !v.uri.startsWith('{$'))
          .map((v) => [resolveUri(manifestUrl, v.uri), v.bandwidth] as const),
      ),
      liveTtlMs: Math.max(100, ((parsed.partTarget ?? parsed.targetDuration ?? 2) * 1000) / 2),
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

interface Understood {
  isMaster: boolean;
  endList: boolean;
  playlistType: string | undefined;
  targetDuration: number | undefined;
  partTarget: number | undefined;
  mediaSequence: number | undefined;
  canBlockReload: boolean;
  totalDuration: number;
  variants: { uri: string; bandwidth: number }[];
}

/** m3u8-parser's reading of the playlist: what kind it is and how it ages. */
function understand(text: string): Understood {
  const parser = new Parser();
  // m3u8-parser emits warnings as events; they are not errors for a proxy.
  parser.on('warn', () => undefined);
  parser.on('info', () => undefined);
  try {
    parser.push(text);
    parser.end();
  } catch (err) {
    // m3u8-parser throws TypeErrors on some malformed lines (e.g. an attribute without "=", as in a
    // playlist cut mid-line): that is a bad playlist from the origin, not a Switchyard fault.
    throw new SwitchyardError('MANIFEST_INVALID', 'malformed playlist: m3u8-parser cannot read it', {
      cause: err,
    });
  }
  const m = parser.manifest;
  const serverControl = m.serverControl as Record<string, unknown> | undefined;
  return {
    isMaster:
      (m.playlists?.length ?? 0) > 0 ||
      Object.keys(m.mediaGroups ?? {}).some((t) => hasGroups(m.mediaGroups, t)),
    endList: m.endList === true,
    playlistType: m.playlistType,
    // Players tolerate a missing EXT-X-TARGETDURATION; the longest segment stands in for it.
    targetDuration:
      typeof m.targetDuration === 'number' && Number.isFinite(m.targetDuration)
        ? m.targetDuration
        : m.segments.length > 0
          ? Math.max(...m.segments.map((seg) => seg.duration ?? 0))
          : undefined,
    partTarget:
      typeof m.partTargetDuration === 'number' && Number.isFinite(m.partTargetDuration)
        ? m.partTargetDuration
        : undefined,
    mediaSequence: typeof m.mediaSequence === 'number' ? m.mediaSequence : undefined,
    canBlockReload: serverControl?.canBlockReload === true,
    totalDuration: m.segments.reduce(
      (sum, seg) => sum + (Number.isFinite(seg.duration) ? seg.duration : 0),
      0,
    ),
    variants: (m.playlists ?? [])
      .map((p) => ({ uri: p.uri, bandwidth: Number((p.attributes as Record<string, unknown>)?.BANDWIDTH) }))
      .filter((v) => typeof v.uri === 'string' && Number.isFinite(v.bandwidth) && v.bandwidth > 0),
  };
}

function hasGroups(groups: unknown, type: string): boolean {
  const byType = (groups as Record<string, Record<string, unknown>> | undefined)?.[type];
  return byType !== undefined && Object.keys(byType).length > 0;
}
