/**
 * DASH MPD → template: the MPD text split into literal chunks and typed URL slots, like hls.ts does for
 * playlists. The rewrite edits the original text by spans, so attribute order, namespace prefixes,
 * comments, whitespace and entity escapes outside the URLs come out byte for byte.
 *
 * How relative URLs are handled (the design choice):
 *   Every URL is resolved along the spec's BaseURL chain (MPD URL → MPD BaseURL → Period → AdaptationSet
 *   → Representation), but only the URLs whose meaning would change for the player are rewritten:
 *   - Absolute BaseURLs (and absolute or host/path-absolute segment URLs) under the stream's origin base
 *     become slots of role 'media' (rendered on the chosen CDN); absolute URLs elsewhere (ad servers,
 *     another CDN, a foreign period) are left exactly as written, so those periods keep their hosts.
 *   - Relative references are left as written whenever every base they can resolve against is either
 *     kept as is (a foreign host) or moved whole to the CDN, and the reference stays inside the stream's
 *     folder there. Then the player resolves them to the same file on the CDN. This keeps alternative
 *     BaseURLs (@serviceLocation, DVB @priority/@weight) and $identifiers$ working as the packager meant,
 *     and leaves room for steering mode, where one MPD lists a BaseURL per CDN.
 *   - Otherwise (a '..' that climbs out of the stream's folder) the reference is resolved and emitted as
 *     an absolute URL (against the first candidate base when alternatives disagree).
 *   - With no MPD-level BaseURL, relative URLs would resolve against the MPD's URL, which the player got
 *     from Switchyard. So one BaseURL is inserted at MPD level: the MPD's folder under the origin base,
 *     rendered on the chosen CDN. Relative SegmentTemplate URLs then follow it with no other edit.
 *   - A dynamic MPD without <Location> gets one pointing at its session URL, so refreshes carry the
 *     session token (DASH players re-fetch the Location, not the URL they started with, when present).
 *   Location/PatchLocation/Period@xlink:href go back through Switchyard ('playlist'); ContentSteering is
 *   made absolute and left on its server; UTCTiming, EventStream, ContentProtection are untouched.
 *
 * Slot `path` and `absolute` strings are XML-escaped already; ParsedManifest.escape escapes the prefixes.
 */
import { parse as parseMpd, type MpdManifest } from 'mpd-parser';
import { SwitchyardError } from '../errors';
import { parseUri, relativeTo, resolveUri } from '../url';
import {
  attribute,
  escapeXml,
  invalidXml,
  parseXml,
  textContent,
  type XmlAttribute,
  type XmlElement,
} from './dash-xml';
import { DEFAULT_MANIFEST_LIMITS, tooComplex, type ManifestLimits } from './limits';
import type { Slot, SlotKind, SlotRole, Template } from './template';

export { escapeXml } from './dash-xml';

export interface DashInfo {
  readonly protocol: 'dash';
  readonly kind: 'media';
  /** MPD@type="dynamic". */
  readonly live: boolean;
  /** MPD@minimumUpdatePeriod in ms, when present. */
  readonly minimumUpdatePeriodMs: number | undefined;
  /** Path (under the origin base) of the last segment of the first playlist, when mpd-parser lists one. */
  readonly newestSegmentPath: string | undefined;
  /** Half the minimum update period, at least 500 ms (5 s when a dynamic MPD never updates). */
  readonly liveTtlMs: number;
  /** MPD@timeShiftBufferDepth in ms (how far back a player may seek), when present. */
  readonly dvrWindowMs?: number;
  /** MPD@mediaPresentationDuration in seconds, when present. */
  readonly totalDuration?: number;
}

export interface DashManifest {
  readonly template: Template;
  readonly info: DashInfo;
  /** An MPD, or a document an MPD refers to: an XLink remote element entity, an MPD Patch. */
  readonly document?: 'mpd' | 'remote-element' | 'patch';
}

const XLINK_NS = 'http://www.w3.org/1999/xlink';
/** Any edition of the MPD schema (2011 and the later urn:mpeg:dash:schema:mpd:2011 revisions). */
const isDashNs = (ns: string | undefined): boolean =>
  ns === undefined || ns.startsWith('urn:mpeg:dash:schema:mpd:');

/** A base URL as the origin sees it, and what the rewrite does with it. */
interface Base {
  /** Absolute URL in origin terms (or a non-http URI). */
  readonly url: string;
  /**
   * 'mapped': rendered as CDN prefix + its path under the origin base; 'kept': rendered as is;
   * 'switchyard': the MPD's own URL (relative references against it would reach Switchyard).
   */
  readonly zone: 'mapped' | 'kept' | 'switchyard';
  /** For 'mapped': the path under the origin base. */
  readonly path?: string;
}

interface Edit {
  readonly start: number;
  readonly end: number;
  /** Literal text before the slot (insertions) and after it. */
  readonly before?: string;
  readonly after?: string;
  readonly slot: Slot;
}

/** Elements holding segment information, each with its URL attributes. */
const SEGMENT_INFO: Readonly<Record<string, readonly { attr: string; kind: SlotKind }[]>> = {
  SegmentTemplate: [
    { attr: 'media', kind: 'segment-template' },
    { attr: 'initialization', kind: 'initialization' },
    { attr: 'index', kind: 'representation-index' },
    { attr: 'bitstreamSwitching', kind: 'initialization' },
  ],
  SegmentList: [],
  SegmentBase: [],
};
/** Children of segment information elements that carry URLs. */
const SEGMENT_CHILDREN: Readonly<Record<string, readonly { attr: string; kind: SlotKind }[]>> = {
  Initialization: [{ attr: 'sourceURL', kind: 'initialization' }],
  RepresentationIndex: [{ attr: 'sourceURL', kind: 'representation-index' }],
  BitstreamSwitching: [{ attr: 'sourceURL', kind: 'initialization' }],
  SegmentURL: [
    { attr: 'media', kind: 'segment-url' },
    { attr: 'index', kind: 'representation-index' },
  ],
};
/** Levels of the BaseURL chain below MPD. */
const LEVELS = new Set(['Period', 'AdaptationSet', 'Representation', 'SubRepresentation']);
/** Elements whose xlink:href is a remote element fetched in the session (ISO/IEC 23009-1 §5.5). */
const XLINK_ELEMENTS = new Set(['Period', 'AdaptationSet', 'SegmentList']);

/** What a remote element entity may hold (XLink on Period, AdaptationSet, SegmentList). */
const REMOTE_ELEMENTS = new Set(['Period', 'AdaptationSet', 'SegmentList', 'EventStream']);
/** The MPD Patch namespace (ISO/IEC 23009-1 5th edition, MPD patch; any revision). */
const isPatchNs = (ns: string | undefined): boolean =>
  ns !== undefined && ns.startsWith('urn:mpeg:dash:schema:mpd-patch:');

/** A marker base used to test whether a relative reference stays inside a folder after resolution. */
const MARK = 'http://mark.invalid/__switchyard_mark__/';

/**
 * Detects an MPD by content: `<MPD` (any namespace prefix) as the first element, after an optional
 * BOM, XML declaration, comments and processing instructions.
 */
export function looksLikeDash(text: string): boolean {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let guard = 0; guard < 64; guard++) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (text.startsWith('<?', i)) {
      const close = text.indexOf('?>', i);
      if (close < 0) return false;
      i = close + 2;
    } else if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i);
      if (close < 0) return false;
      i = close + 3;
    } else if (text.startsWith('<!DOCTYPE', i)) {
      // Still an MPD candidate: parseDash refuses the DTD with MANIFEST_INVALID.
      return /<([A-Za-z_][\w.-]*:)?MPD[\s>/]/.test(text.slice(i, i + 4096));
    } else {
      return /^<([A-Za-z_][\w.-]*:)?MPD[\s>/]/.test(text.slice(i, i + 256));
    }
  }
  return false;
}

/**
 * Detects a document an MPD refers to (an XLink remote element entity, an MPD Patch) by its first
 * element, after an optional BOM, XML declaration, comments and processing instructions.
 */
export function looksLikeDashDocument(text: string): boolean {
  const m =
    /^(?:\uFEFF)?(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->)*<([A-Za-z_][\w.-]*:)?(Period|AdaptationSet|SegmentList|EventStream|Patch)[\s>/]/.exec(
      text.slice(0, 4096),
    );
  return m !== null;
}

/**
 * Parses an MPD into a template with one slot per URL to rewrite. `manifestUrl` is the MPD's own
 * (origin) URL; `originBase` the stream's origin base. Throws SwitchyardError MANIFEST_INVALID when the
 * text is not a usable MPD.
 */
export function parseDash(
  text: string,
  manifestUrl: string,
  originBase: string,
  limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS,
  /** "Now" for a dynamic MPD's segment timeline (ms since the epoch): the server's clock. */
  now: number = Date.now(),
): DashManifest {
  try {
    return parseDashUnchecked(text, manifestUrl, originBase, limits, now);
  } catch (err) {
    if (err instanceof SwitchyardError) throw err;
    // Whatever an origin sends must end as a typed 502, never as a crash of the request.
    throw new SwitchyardError('MANIFEST_INVALID', 'malformed MPD: could not be read', { cause: err });
  }
}

function parseDashUnchecked(
  text: string,
  manifestUrl: string,
  originBase: string,
  limits: ManifestLimits,
  now: number,
): DashManifest {
  const { root } = parseXml(text, { fragment: true, limits });
  const top = root.children;
  const mpd = top.length === 1 && top[0]?.local === 'MPD' && isDashNs(top[0].ns) ? top[0] : undefined;
  if (mpd) return parseMpdDocument(text, mpd, manifestUrl, originBase, limits, now);
  return parseRemoteDocument(text, root, manifestUrl, originBase, limits);
}

/** The rewriting machinery shared by MPDs and the documents an MPD refers to. */
function rewriter(
  text: string,
  manifestUrl: string,
  originBase: string,
  root: XmlElement,
  limits: ManifestLimits,
) {
  const dash = (el: XmlElement): boolean => isDashNs(el.ns) || isPatchNs(el.ns);
  const edits: Edit[] = [];
  const slotFor = (kind: SlotKind, role: SlotRole, raw: string, absolute: string): Slot => {
    const path = relativeTo(originBase, absolute);
    return { kind, role, original: raw, absolute: escapeXml(absolute), path: path && escapeXml(path) };
  };

  /** Where a reference resolves against `bases`, and whether it can stay as written. */
  const classify = (ref: string, bases: readonly Base[]): { keep: boolean; absolute: string } => {
    const first = bases[0] as Base;
    const absolute = resolveUri(first.url, ref);
    if (!isHttp(ref)) return { keep: true, absolute: ref };
    const r = parseUri(ref);
    const relativePath = r.scheme === undefined && r.authority === undefined && !r.path.startsWith('/');
    if (!relativePath) {
      // Absolute and host/path-absolute references do not depend on the bases' rendering except
      // through scheme/host: rewrite them when they land under the origin.
      return { keep: relativeTo(originBase, absolute) === undefined && absolute === ref, absolute };
    }
    const keep = bases.every(
      (b) =>
        b.zone === 'kept' || (b.zone === 'mapped' && resolveUri(MARK + (b.path ?? ''), ref).startsWith(MARK)),
    );
    return { keep, absolute };
  };

  const urlAttribute = (
    a: XmlAttribute | undefined,
    kind: SlotKind,
    role: SlotRole,
    bases: readonly Base[],
    template = false,
  ) => {
    if (!a || a.value.trim() === '') return;
    const ref = a.value.trim();
    if (role === 'media') {
      const c = classify(ref, bases);
      const marks = template ? { template: true as const } : {};
      if (!c.keep) {
        const slot = { ...slotFor(kind, role, raw(a), c.absolute), ...marks };
        edits.push({ start: a.valueStart, end: a.valueEnd, slot });
      } else if (isHttp(ref)) {
        // Rendered as written; recorded so a CDN token can still be appended to it.
        const path = template ? undefined : relativeTo(originBase, c.absolute);
        const slot: Slot = {
          kind,
          role: 'absolute',
          original: raw(a),
          absolute: raw(a),
          path: undefined,
          kept: { path: path && escapeXml(path) },
          ...marks,
        };
        edits.push({ start: a.valueStart, end: a.valueEnd, slot });
      }
    } else {
      // 'playlist' and 'absolute' URLs resolve against the MPD URL (they are fetched, not based).
      if (!isHttp(ref)) return;
      edits.push({
        start: a.valueStart,
        end: a.valueEnd,
        slot: slotFor(kind, role, raw(a), resolveUri(manifestUrl, ref)),
      });
    }
  };
  const raw = (a: XmlAttribute): string => text.slice(a.valueStart, a.valueEnd);

  /** The trimmed span and value of a text-only element such as BaseURL or Location. */
  const textSpan = (el: XmlElement): { start: number; end: number; value: string } | undefined => {
    if (!el.textOnly) return undefined;
    let s = el.contentStart;
    let e = el.contentEnd;
    while (s < e && /\s/.test(text[s] as string)) s++;
    while (e > s && /\s/.test(text[e - 1] as string)) e--;
    const value = textContent(text, el).trim();
    return value === '' ? undefined : { start: s, end: e, value };
  };

  /** Applies an element's BaseURL children to the bases it inherits; records their edits. */
  const levelBases = (el: XmlElement, inherited: readonly Base[]): readonly Base[] => {
    const out: Base[] = [];
    // Each BaseURL applies to every base inherited, so they multiply down the chain (14 per level at
    // four levels would be 38,416): past limits.maxBaseUrls at one level the MPD is refused.
    const cap = () => {
      if (out.length > limits.maxBaseUrls)
        throw tooComplex('BaseURL combinations at one level', limits.maxBaseUrls, 'maxBaseUrls');
    };
    for (const child of el.children) {
      if (child.local !== 'BaseURL' || !dash(child)) continue;
      const span = textSpan(child);
      if (!span) {
        for (const b of inherited) out.push(b);
        cap();
        continue;
      }
      const ref = span.value;
      if (!isHttp(ref)) {
        out.push({ url: ref, zone: 'kept' });
        continue;
      }
      const c = classify(ref, inherited);
      if (c.keep) {
        for (const b of inherited) out.push(baseFrom(resolveUri(b.url, ref), b.zone === 'kept'));
        cap();
        const refPath = parseUri(ref).path;
        const path = relativeTo(originBase, c.absolute);
        if (path !== undefined && refPath !== '' && !refPath.endsWith('/')) {
          // A BaseURL naming a file (SegmentBase, on-demand profile): the player requests it as is,
          // so a CDN token goes on it. Rendered as written otherwise.
          const original = text.slice(span.start, span.end);
          edits.push({
            start: span.start,
            end: span.end,
            slot: {
              kind: 'base-url',
              role: 'absolute',
              original,
              absolute: original,
              path: undefined,
              kept: { path: escapeXml(path) },
            },
          });
        }
        continue;
      }
      const slot = slotFor('base-url', 'media', text.slice(span.start, span.end), c.absolute);
      edits.push({ start: span.start, end: span.end, slot });
      out.push(baseFrom(c.absolute, false));
      cap();
    }
    return out.length > 0 ? out : inherited;
  };
  const baseFrom = (url: string, kept: boolean): Base => {
    const path = kept ? undefined : relativeTo(originBase, url);
    return path === undefined ? { url, zone: 'kept' } : { url, zone: 'mapped', path };
  };

  /** Segment information of one element, resolved against `candidates` (every base it may serve). */
  const segmentInfo = (el: XmlElement, candidates: readonly Base[]): void => {
    for (const child of el.children) {
      const rules = SEGMENT_INFO[child.local];
      if (!rules || !dash(child)) continue;
      const template = child.local === 'SegmentTemplate';
      for (const r of rules) urlAttribute(attribute(child, r.attr), r.kind, 'media', candidates, template);
      if (child.local === 'SegmentList') xlink(child);
      for (const inner of child.children) {
        const innerRules = SEGMENT_CHILDREN[inner.local];
        if (!innerRules || !dash(inner)) continue;
        for (const r of innerRules) urlAttribute(attribute(inner, r.attr), r.kind, 'media', candidates);
      }
    }
  };
  const xlink = (el: XmlElement): void => {
    const href = attribute(el, 'href', XLINK_NS);
    if (href && XLINK_ELEMENTS.has(el.local)) urlAttribute(href, 'xlink', 'playlist', []);
  };

  /**
   * Walks one level of the chain. Returns the bases of every Representation below (or this level's
   * own when there are none): segment information at this level is resolved, per Representation,
   * against the Representation's BaseURL chain.
   */
  const walk = (el: XmlElement, inherited: readonly Base[]): readonly Base[] => {
    const bases = el === root ? inherited : levelBases(el, inherited);
    const below: Base[] = [];
    for (const child of el.children) {
      if (LEVELS.has(child.local) && dash(child)) {
        xlink(child);
        for (const b of walk(child, bases)) below.push(b);
      }
    }
    const candidates = dedupe(below.length > 0 ? below : bases);
    segmentInfo(el, candidates);
    return candidates;
  };

  /** Location and PatchLocation children of `el` go back through Switchyard; ContentSteering is made absolute. */
  const refreshes = (el: XmlElement): void => {
    for (const child of el.children) {
      if (!dash(child)) continue;
      if (child.local === 'Location' || child.local === 'PatchLocation') {
        const span = textSpan(child);
        if (span && isHttp(span.value)) {
          const kind: SlotKind = child.local === 'Location' ? 'location' : 'patch-location';
          const slot = slotFor(
            kind,
            'playlist',
            text.slice(span.start, span.end),
            resolveUri(manifestUrl, span.value),
          );
          edits.push({ start: span.start, end: span.end, slot });
        }
      } else if (child.local === 'ContentSteering') {
        const span = textSpan(child);
        if (span && isHttp(span.value)) {
          const slot = slotFor(
            'steering',
            'absolute',
            text.slice(span.start, span.end),
            resolveUri(manifestUrl, span.value),
          );
          // Left on the steering server, but made absolute: relative to the MPD it would reach Switchyard.
          edits.push({ start: span.start, end: span.end, slot: { ...slot, path: undefined } });
        }
      }
    }
  };

  return { dash, edits, slotFor, levelBases, baseFrom, walk, xlink, segmentInfo, refreshes };
}

/** The folder of a document's URL as a base rendered on the CDN (relative references stay as written). */
function folderBase(manifestUrl: string, originBase: string): Base {
  const folder = resolveUri(manifestUrl, './');
  const path = relativeTo(originBase, folder);
  return path === undefined ? { url: folder, zone: 'kept' } : { url: folder, zone: 'mapped', path };
}

function parseMpdDocument(
  text: string,
  root: XmlElement,
  manifestUrl: string,
  originBase: string,
  limits: ManifestLimits,
  now: number,
): DashManifest {
  const { dash, edits, slotFor, levelBases, baseFrom, walk, refreshes } = rewriter(
    text,
    manifestUrl,
    originBase,
    root,
    limits,
  );
  // The MPD level: its BaseURLs resolve against the MPD's own URL, which the player reached through
  // Switchyard; without one, insert a BaseURL for the MPD's folder, rendered on the CDN.
  const mpdUrlBase: Base = { url: manifestUrl, zone: 'switchyard' };
  const hasMpdBase = root.children.some((c) => c.local === 'BaseURL' && dash(c));
  const live = attribute(root, 'type')?.value.trim() === 'dynamic';
  const insertAt = insertionPoint(text, root);
  let rootBases: readonly Base[];
  const prefix = root.prefix === '' ? '' : root.prefix + ':';
  if (hasMpdBase) {
    rootBases = levelBases(root, [mpdUrlBase]);
  } else {
    const folder = resolveUri(manifestUrl, './');
    rootBases = [baseFrom(folder, false)];
    edits.push({
      start: insertAt.offset,
      end: insertAt.offset,
      before: `<${prefix}BaseURL>`,
      after: `</${prefix}BaseURL>` + insertAt.indent,
      slot: { ...slotFor('base-url', 'media', '', folder), original: '' },
    });
  }
  refreshes(root);
  if (live && !root.children.some((c) => c.local === 'Location' && dash(c))) {
    edits.push({
      start: insertAt.offset,
      end: insertAt.offset,
      before: `<${prefix}Location>`,
      after: `</${prefix}Location>` + insertAt.indent,
      slot: { ...slotFor('location', 'playlist', '', manifestUrl), original: '' },
    });
  }
  walk(root, rootBases);

  const template = buildTemplate(text, edits);
  const understood = understand(text, manifestUrl, originBase, root, now);
  const mup = understood.minimumUpdatePeriodMs;
  return {
    template,
    info: {
      protocol: 'dash',
      kind: 'media',
      live,
      minimumUpdatePeriodMs: mup,
      newestSegmentPath: understood.newestSegmentPath,
      liveTtlMs: mup === undefined ? 5000 : Math.max(500, mup / 2),
      ...durations(root),
    },
  };
}

function durations(root: XmlElement): { dvrWindowMs?: number; totalDuration?: number } {
  const tsbd = parseDuration(attribute(root, 'timeShiftBufferDepth')?.value);
  const mpd = parseDuration(attribute(root, 'mediaPresentationDuration')?.value);
  return {
    ...(tsbd !== undefined ? { dvrWindowMs: tsbd } : {}),
    ...(mpd !== undefined ? { totalDuration: mpd / 1000 } : {}),
  };
}

/**
 * A document an MPD refers to, rewritten like the MPD (ISO/IEC 23009-1): an XLink remote element entity
 * (Period@xlink:href and the like: one or more Period, AdaptationSet or SegmentList elements), or an MPD
 * Patch (PatchLocation; root Patch, its add/replace operations holding MPD elements). Their BaseURLs and
 * segment URLs under the origin go to the session's CDN, their Location/PatchLocation back through
 * Switchyard; relative references resolve, once merged into the MPD, against the MPD's own BaseURLs
 * (already on the CDN), so they stay as written while they stay inside the document's folder.
 */
function parseRemoteDocument(
  text: string,
  fragment: XmlElement,
  manifestUrl: string,
  originBase: string,
  limits: ManifestLimits,
): DashManifest {
  const top = fragment.children;
  const first = top[0];
  const isPatch = top.length === 1 && first?.local === 'Patch' && isPatchNs(first.ns);
  const remote = top.length > 0 && top.every((c) => REMOTE_ELEMENTS.has(c.local) && isDashNs(c.ns));
  if (!isPatch && !remote) {
    throw invalidXml(
      first
        ? `root element is <${first.qname}>, not <MPD> (nor a remote Period/AdaptationSet or an MPD Patch)`
        : 'no root element',
      text,
      first?.start ?? 0,
    );
  }
  const r = rewriter(text, manifestUrl, originBase, fragment, limits);
  const bases = [folderBase(manifestUrl, originBase)];
  const container = (el: XmlElement): void => {
    r.refreshes(el);
    // walk() reads `el`'s own BaseURLs as a level, its Periods/AdaptationSets/Representations below,
    // and its segment information.
    r.walk(el, bases);
  };
  if (isPatch) {
    for (const op of (first as XmlElement).children) {
      if (op.local === 'add' || op.local === 'replace') container(op);
    }
  } else {
    container(fragment);
  }
  return {
    template: buildTemplate(text, r.edits),
    info: {
      protocol: 'dash',
      kind: 'media',
      live: false,
      minimumUpdatePeriodMs: undefined,
      newestSegmentPath: undefined,
      liveTtlMs: 5000,
    },
    document: isPatch ? 'patch' : 'remote-element',
  };
}

function isHttp(ref: string): boolean {
  const scheme = parseUri(ref).scheme;
  return scheme === undefined || /^https?$/i.test(scheme);
}

function dedupe(bases: readonly Base[]): Base[] {
  const seen = new Set<string>();
  const out: Base[] = [];
  for (const b of bases) {
    const key = b.zone + ' ' + b.url;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(b);
    }
  }
  return out;
}

/**
 * Where inserted MPD-level elements go: after ProgramInformation and BaseURL, before Location and the
 * rest (the MPD schema's order), indented like the element they precede.
 */
function insertionPoint(text: string, root: XmlElement): { offset: number; indent: string } {
  const next = root.children.find((c) => c.local !== 'ProgramInformation' && c.local !== 'BaseURL');
  const prev = [...root.children].reverse().find((c) => !next || c.end <= next.start);
  if (next) {
    // Insert at the element's own start, repeating the whitespace that precedes it.
    let s = next.start;
    while (s > root.contentStart && /[ \t]/.test(text[s - 1] as string)) s--;
    if (s > root.contentStart && text[s - 1] === '\n') {
      let b = s - 1;
      if (b > root.contentStart && text[b - 1] === '\r') b--;
      return { offset: next.start, indent: text.slice(b, next.start) };
    }
    return { offset: next.start, indent: '' };
  }
  // No child to precede: append after the last child (or at the start of the content).
  const at = prev ? prev.end : root.contentStart;
  return { offset: at, indent: '' };
}

function buildTemplate(text: string, edits: Edit[]): Template {
  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  const chunks: string[] = [];
  const slots: Slot[] = [];
  let cursor = 0;
  let pendingAfter = '';
  for (const e of edits) {
    if (e.start < cursor) continue; // never two slots over one span
    chunks.push(pendingAfter + text.slice(cursor, e.start) + (e.before ?? ''));
    slots.push(e.slot);
    pendingAfter = e.after ?? '';
    cursor = e.end;
  }
  chunks.push(pendingAfter + text.slice(cursor));
  return { chunks, slots };
}

interface Understood {
  minimumUpdatePeriodMs: number | undefined;
  newestSegmentPath: string | undefined;
}

/**
 * mpd-parser's reading of the MPD (how often it updates, its newest segment). mpd-parser needs the
 * root to be spelled `MPD` and at least one Period; when it cannot read an MPD that is well formed, the
 * root's own attribute stands in for minimumUpdatePeriod.
 */
function understand(
  text: string,
  manifestUrl: string,
  originBase: string,
  root: XmlElement,
  now: number,
): Understood {
  const fromAttribute = parseDuration(attribute(root, 'minimumUpdatePeriod')?.value);
  let parsed: MpdManifest | undefined;
  try {
    parsed =
      segmentEstimate(root, now) <= MAX_EXPANDED_SEGMENTS
        ? parseMpd(text, { manifestUri: manifestUrl, NOW: now })
        : undefined;
  } catch {
    parsed = undefined;
  }
  const mup = typeof parsed?.minimumUpdatePeriod === 'number' ? parsed.minimumUpdatePeriod : undefined;
  const first = parsed?.playlists?.[0];
  const last = first?.segments?.[first.segments.length - 1];
  return {
    minimumUpdatePeriodMs: fromAttribute === undefined ? undefined : (mup ?? fromAttribute),
    newestSegmentPath: last?.resolvedUri ? relativeTo(originBase, last.resolvedUri) : undefined,
  };
}

/**
 * mpd-parser expands every segment of every Representation into objects. A live MPD with an old
 * availabilityStartTime and no timeShiftBufferDepth, or a long VOD with short segments, would make
 * millions of them on the hot path of a cache fill (an origin could exhaust the heap). Above this
 * estimate the MPD is understood from its own attributes alone (newestSegmentPath stays undefined).
 */
const MAX_EXPANDED_SEGMENTS = 50_000;

/** A conservative (high) estimate of how many segments mpd-parser would generate. */
function segmentEstimate(root: XmlElement, now: number): number {
  let minDuration = Infinity;
  let maxTimescale = 1;
  let representations = 0;
  let timelineEntries = 0;
  const visit = (el: XmlElement): void => {
    if (el.local === 'Representation') representations++;
    if (el.local === 'S') timelineEntries++;
    const ts = Number(attribute(el, 'timescale')?.value);
    if (Number.isFinite(ts) && ts > maxTimescale) maxTimescale = ts;
    const d = Number(attribute(el, el.local === 'S' ? 'd' : 'duration')?.value);
    if ((el.local === 'S' || el.local.startsWith('Segment')) && Number.isFinite(d) && d > 0) {
      minDuration = Math.min(minDuration, d);
    }
    el.children.forEach(visit);
  };
  visit(root);
  const attr = (name: string): string | undefined => attribute(root, name)?.value;
  let windowMs: number;
  if (attr('type')?.trim() === 'dynamic') {
    const ast = Date.parse(attr('availabilityStartTime') ?? '');
    windowMs = parseDuration(attr('timeShiftBufferDepth')) ?? (Number.isFinite(ast) ? now - ast : Infinity);
  } else {
    windowMs = parseDuration(attr('mediaPresentationDuration')) ?? 0;
    for (const p of root.children) windowMs += parseDuration(attribute(p, 'duration')?.value) ?? 0;
  }
  const perRepresentation = minDuration === Infinity ? 0 : windowMs / 1000 / (minDuration / maxTimescale);
  return Math.max(1, representations) * perRepresentation + timelineEntries;
}

/** xs:duration (PnYnMnDTnHnMnS) in ms; months and years as 30 and 365 days. */
export function parseDuration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m =
    /^\s*(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?\s*$/.exec(
      value,
    );
  if (!m || m[1]) return undefined;
  const n = (k: number): number => Number(m[k] ?? 0);
  const seconds = n(2) * 365 * 86400 + n(3) * 30 * 86400 + n(4) * 86400 + n(5) * 3600 + n(6) * 60 + n(7);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}
