import { findAttribute } from './hls';
import { render, type Slot, type Template } from './template';

/**
 * HLS Content Steering for a master playlist (Apple's HLS Content Steering spec; RFC 8216bis
 * EXT-X-CONTENT-STEERING and PATHWAY-ID). Every variant, I-frame variant and rendition is repeated once
 * per pathway (one pathway per CDN): the copies carry PATHWAY-ID, renditions get pathway-specific
 * GROUP-IDs (variants refer to their own pathway's groups), and their URIs are rendered with that
 * pathway's mapping. Lines outside those blocks come from the first pathway's rendering, unchanged.
 */
export interface Pathway {
  readonly id: string;
  /** Maps a slot for this pathway (its session token pins media playlists to this CDN). */
  readonly mapSlot: (slot: Slot) => string;
}

/** Tags that form a per-pathway block, and the attributes naming rendition groups. */
const PER_PATHWAY = /^#EXT-X-(STREAM-INF|I-FRAME-STREAM-INF|MEDIA):/;
const GROUP_REFS = ['AUDIO', 'VIDEO', 'SUBTITLES', 'CLOSED-CAPTIONS'] as const;

function splitLines(text: string): string[] {
  return text.split('\n');
}

function tagName(line: string): string | undefined {
  const m = PER_PATHWAY.exec(line.trimStart());
  return m?.[1];
}

/** Sets a quoted attribute on a tag line: replaces the value if present, else appends it. */
export function setQuotedAttribute(line: string, name: string, value: string): string {
  const colon = line.indexOf(':');
  const end = line.endsWith('\r') ? line.length - 1 : line.length;
  const span = findAttribute(line, colon + 1, end, name, 0);
  if (span) return line.slice(0, span.start) + value + line.slice(span.end);
  return line.slice(0, end) + `,${name}="${value}"` + line.slice(end);
}

/** Appends `-<pathway>` to a quoted group reference, leaving NONE and absent attributes alone. */
function suffixAttribute(line: string, name: string, pathway: string): string {
  const colon = line.indexOf(':');
  const end = line.endsWith('\r') ? line.length - 1 : line.length;
  const span = findAttribute(line, colon + 1, end, name, 0);
  if (!span || line[span.start - 1] !== '"') return line;
  return line.slice(0, span.end) + '-' + pathway + line.slice(span.end);
}

/** Adds a quoted attribute when the tag does not carry it already. */
function ensureQuotedAttribute(line: string, name: string, value: string): string {
  const colon = line.indexOf(':');
  const end = line.endsWith('\r') ? line.length - 1 : line.length;
  if (findAttribute(line, colon + 1, end, name, 0)) return line;
  return line.slice(0, end) + `,${name}="${value}"` + line.slice(end);
}

/**
 * One pathway's copy of a tag line. `stableId` names the variant or rendition the same in every
 * pathway (STABLE-VARIANT-ID / STABLE-RENDITION-ID), unless the origin named it already: clients then
 * keep their choice (and their subtitles) across a pathway switch, and PER-VARIANT-URIS can address it.
 * Without one (redundant variants, not steering) the copy gets neither PATHWAY-ID nor stable ids.
 */
function forPathway(line: string, tag: string, pathway: string, stableId: string | undefined): string {
  if (tag === 'MEDIA') {
    const grouped = suffixAttribute(line, 'GROUP-ID', pathway);
    return stableId === undefined ? grouped : ensureQuotedAttribute(grouped, 'STABLE-RENDITION-ID', stableId);
  }
  let out =
    stableId === undefined
      ? line
      : ensureQuotedAttribute(setQuotedAttribute(line, 'PATHWAY-ID', pathway), 'STABLE-VARIANT-ID', stableId);
  if (tag === 'STREAM-INF') for (const attr of GROUP_REFS) out = suffixAttribute(out, attr, pathway);
  else out = suffixAttribute(out, 'VIDEO', pathway);
  return out;
}

export function steeringMaster(
  template: Template,
  pathways: readonly Pathway[],
  steering: { serverUri: string; initialPathway: string },
): string {
  return repeatVariants(template, pathways, steering);
}

/**
 * Redundant variant streams (RFC 8216bis §6.3.3 "Redundant Streams"): the master's variants, I-frame
 * variants and renditions as they are (the session's own, on the CDN its policy picks), then the same
 * blocks again once per backup CDN, each copy's media playlists pinned to that CDN and its renditions
 * in groups of their own (GROUP-ID + "-<cdn>"). Players that fail over between redundant variants
 * (hls.js, shaka, AVPlayer, ExoPlayer) move to the next copy at a failed segment or playlist.
 */
export function redundantMaster(template: Template, primary: Pathway, backups: readonly Pathway[]): string {
  return repeatVariants(template, [primary, ...backups], undefined);
}

/** Whether a master carries the origin's own Content Steering (its pathways are the origin's). */
export function hasContentSteering(template: Template): boolean {
  return template.slots.some((s) => s.kind === 'steering');
}

function repeatVariants(
  template: Template,
  pathways: readonly Pathway[],
  steering: { serverUri: string; initialPathway: string } | undefined,
): string {
  const first = pathways[0];
  if (!first) throw new Error('steeringMaster: no pathway');
  // Every rendering has the same lines; only URIs differ. Line i of each is the same line of the origin.
  const renderings = pathways.map((p) => splitLines(render(template, p.mapSlot)));
  const base = renderings[0] as string[];
  const eol = base.some((l) => l.endsWith('\r')) ? '\r' : '';
  const out: string[] = [];
  let variants = 0;
  let iframes = 0;
  let renditions = 0;
  let i = 0;
  while (i < base.length) {
    const line = base[i] as string;
    const trimmed = line.trimStart();
    if (steering && trimmed.startsWith('#EXT-X-CONTENT-STEERING:')) {
      i++; // the origin's steering is replaced by Switchyard's
      continue;
    }
    if (steering && trimmed.startsWith('#EXTM3U')) {
      out.push(line);
      out.push(
        `#EXT-X-CONTENT-STEERING:SERVER-URI="${steering.serverUri}",PATHWAY-ID="${steering.initialPathway}"${eol}`,
      );
      i++;
      continue;
    }
    const tag = tagName(line);
    if (tag === undefined) {
      out.push(line);
      i++;
      continue;
    }
    // A STREAM-INF block runs to its URI line; the other tags are one line.
    let blockEnd = i + 1;
    if (tag === 'STREAM-INF') {
      while (blockEnd < base.length) {
        const t = (base[blockEnd] as string).trim();
        blockEnd++;
        if (t !== '' && !t.startsWith('#')) break;
      }
    }
    const stableId =
      tag === 'MEDIA' ? `r${renditions++}` : tag === 'STREAM-INF' ? `v${variants++}` : `i${iframes++}`;
    pathways.forEach((p, k) => {
      const lines = renderings[k] as string[];
      // Redundant streams: the first copy is the session's own, as the origin wrote it.
      out.push(
        steering
          ? forPathway(lines[i] as string, tag, p.id, stableId)
          : k > 0
            ? forPathway(lines[i] as string, tag, p.id, undefined)
            : (lines[i] as string),
      );
      for (let j = i + 1; j < blockEnd; j++) out.push(lines[j] as string);
    });
    i = blockEnd;
  }
  return out.join('\n');
}
