/**
 * DASH Content Steering for an MPD (DASH-IF Content Steering; ISO/IEC 23009-1 ContentSteering and
 * BaseURL@serviceLocation). Every BaseURL that the rewrite puts on a CDN (slots of kind 'base-url' with
 * a path under the origin, including the MPD-level one dash.ts inserts when the origin has none) is
 * repeated once per service location (one per CDN), each copy carrying `serviceLocation="<cdn id>"` and
 * its URL rendered with that CDN's mapping; relative BaseURLs and segment URLs below follow whichever
 * copy the player picks. The origin's own ContentSteering (if any) is replaced by Switchyard's, else
 * Switchyard's is added as the MPD's last child (its place in the MPD schema, after
 * LeapSecondInformation). Everything else comes from the first location's rendering, byte for byte.
 *
 * Mapped strings (slot mappers' results) must be XML-escaped already, as for render(); the steering URL
 * and location ids are escaped here.
 */
import { attribute, escapeXml, parseXml, type XmlElement } from './dash-xml';
import type { Slot, Template } from './template';

export interface ServiceLocation {
  /** The BaseURL@serviceLocation value: the CDN id. */
  readonly id: string;
  /** Maps a slot for this location (its media prefix is that CDN). */
  readonly mapSlot: (slot: Slot) => string;
}

export interface DashSteering {
  /** The steering server URL (the DCSM), written as the ContentSteering element's text. */
  readonly serverUri: string;
  /** The service location a player uses before (or without) the first steering response. */
  readonly defaultServiceLocation: string;
  /** Whether the player must fetch the DCSM before it starts (ContentSteering@queryBeforeStart). */
  readonly queryBeforeStart?: boolean;
}

/** A place in a template: `offset` characters into chunk `chunk`. Never inside a slot. */
interface Position {
  readonly chunk: number;
  readonly offset: number;
}

interface Replacement {
  readonly start: Position;
  readonly end: Position;
  readonly kind: 'base-url' | 'steering-replace' | 'steering-insert';
  /** For base-url: where serviceLocation goes, relative to the element's start (same in every rendering). */
  readonly serviceLocation?: { readonly start: number; readonly end: number; readonly insert: boolean };
  /** Whitespace that separates siblings here (newline and indentation), for inserted copies. */
  readonly separator: string;
}

interface Layout {
  readonly replacements: readonly Replacement[];
  /** The ContentSteering element name with the MPD's namespace prefix. */
  readonly steeringName: string;
}

const isDashNs = (ns: string | undefined): boolean =>
  ns === undefined || ns.startsWith('urn:mpeg:dash:schema:mpd:');

/** Layouts depend only on the template, which the cache keeps for its lifetime: worked out once. */
const layouts = new WeakMap<Template, Layout>();

export function steeringMpd(
  template: Template,
  locations: readonly ServiceLocation[],
  steering: DashSteering,
): string {
  const first = locations[0];
  if (!first) throw new Error('steeringMpd: no service location');
  let layout = layouts.get(template);
  if (!layout) {
    layout = analyse(template);
    layouts.set(template, layout);
  }
  const element =
    `<${layout.steeringName} defaultServiceLocation="${escapeXml(steering.defaultServiceLocation)}"` +
    ` queryBeforeStart="${steering.queryBeforeStart === true ? 'true' : 'false'}">` +
    `${escapeXml(steering.serverUri)}</${layout.steeringName}>`;

  let out = '';
  let cursor: Position = { chunk: 0, offset: 0 };
  for (const r of layout.replacements) {
    out += renderRange(template, cursor, r.start, first.mapSlot);
    if (r.kind === 'base-url') {
      out += locations
        .map((loc) => withServiceLocation(renderRange(template, r.start, r.end, loc.mapSlot), r, loc.id))
        .join(r.separator);
    } else if (r.kind === 'steering-replace') {
      out += element;
    } else {
      out += r.separator + element;
    }
    cursor = r.end;
  }
  return (
    out +
    renderRange(template, cursor, { chunk: template.chunks.length - 1, offset: Infinity }, first.mapSlot)
  );
}

function withServiceLocation(el: string, r: Replacement, id: string): string {
  const at = r.serviceLocation as NonNullable<Replacement['serviceLocation']>;
  const value = escapeXml(id);
  if (at.insert) return el.slice(0, at.start) + ` serviceLocation="${value}"` + el.slice(at.start);
  return el.slice(0, at.start) + value + el.slice(at.end);
}

/** The template's text from `a` to `b`, slots in between mapped with `mapSlot`. */
function renderRange(template: Template, a: Position, b: Position, mapSlot: (slot: Slot) => string): string {
  const { chunks, slots } = template;
  if (a.chunk === b.chunk) return (chunks[a.chunk] as string).slice(a.offset, b.offset);
  let out = (chunks[a.chunk] as string).slice(a.offset);
  for (let c = a.chunk; c < b.chunk; c++) {
    out += mapSlot(slots[c] as Slot);
    const next = chunks[c + 1] as string;
    out += c + 1 === b.chunk ? next.slice(0, b.offset) : next;
  }
  return out;
}

/**
 * Finds, in one rendering of the template (slots as their resolved URLs), the BaseURL elements to repeat
 * per location and where ContentSteering goes, as template positions valid for every rendering.
 */
function analyse(template: Template): Layout {
  const { chunks, slots } = template;
  const chunkStart: number[] = [];
  const slotSpan: { start: number; end: number }[] = [];
  let text = '';
  chunks.forEach((chunk, i) => {
    chunkStart.push(text.length);
    text += chunk;
    const slot = slots[i];
    if (slot) {
      const start = text.length;
      text += slot.absolute;
      slotSpan.push({ start, end: text.length });
    }
  });
  const { root } = parseXml(text);

  /** A text offset outside every slot, as a template position. */
  const position = (offset: number): Position => {
    let c = chunks.length - 1;
    while (c > 0 && (chunkStart[c] as number) > offset) c--;
    return { chunk: c, offset: offset - (chunkStart[c] as number) };
  };
  /** The newline and indentation before an element, when it starts a line. */
  const leadingWhitespace = (el: XmlElement): string => {
    let s = el.start;
    while (s > 0 && /[ \t]/.test(text[s - 1] as string)) s--;
    if (s > 0 && text[s - 1] === '\n') {
      s--;
      if (s > 0 && text[s - 1] === '\r') s--;
      return text.slice(s, el.start);
    }
    return '';
  };

  const replacements: Replacement[] = [];
  const visit = (el: XmlElement): void => {
    for (const child of el.children) {
      if (!isDashNs(child.ns)) continue;
      if (child.local === 'BaseURL') {
        const r = baseUrlReplacement(child);
        if (r) replacements.push(r);
      } else visit(child);
    }
  };
  const baseUrlReplacement = (el: XmlElement): Replacement | undefined => {
    // Exactly one slot, a CDN one, inside the element's text: the start tag is literal text.
    const inside = slotSpan
      .map((span, i) => ({ span, i }))
      .filter(({ span }) => span.start >= el.start && span.end <= el.end);
    const only = inside[0];
    if (inside.length !== 1 || !only || !el.textOnly) return undefined;
    const slot = slots[only.i] as Slot;
    if (slot.kind !== 'base-url' || slot.role !== 'media' || slot.path === undefined) return undefined;
    const existing = attribute(el, 'serviceLocation');
    const nameEnd = el.start + 1 + el.qname.length;
    return {
      start: position(el.start),
      end: position(el.end),
      kind: 'base-url',
      serviceLocation: existing
        ? { start: existing.valueStart - el.start, end: existing.valueEnd - el.start, insert: false }
        : { start: nameEnd - el.start, end: nameEnd - el.start, insert: true },
      separator: leadingWhitespace(el),
    };
  };
  visit(root);

  const ownSteering = root.children.find((c) => c.local === 'ContentSteering' && isDashNs(c.ns));
  if (ownSteering) {
    replacements.push({
      start: position(ownSteering.start),
      end: position(ownSteering.end),
      kind: 'steering-replace',
      separator: '',
    });
  } else {
    const last = root.children[root.children.length - 1];
    const at = position(last ? last.end : root.contentStart);
    replacements.push({
      start: at,
      end: at,
      kind: 'steering-insert',
      separator: last ? leadingWhitespace(last) : '',
    });
  }
  replacements.sort((x, y) => x.start.chunk - y.start.chunk || x.start.offset - y.start.offset);
  return {
    replacements,
    steeringName: (root.prefix === '' ? '' : root.prefix + ':') + 'ContentSteering',
  };
}
