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
  /**
   * Whether the player must fetch the DCSM before it starts (ContentSteering@queryBeforeStart);
   * undefined keeps the origin's own ContentSteering@queryBeforeStart (false when it has none).
   */
  readonly queryBeforeStart?: boolean | undefined;
}

/** A place in a template: `offset` characters into chunk `chunk`. Never inside a slot. */
interface Position {
  readonly chunk: number;
  readonly offset: number;
}

interface Replacement {
  readonly start: Position;
  readonly end: Position;
  /** 'location': a Location or PatchLocation, repeated per service location in steering mode only. */
  readonly kind: 'base-url' | 'location' | 'steering-replace' | 'steering-insert';
  /** For base-url: where serviceLocation goes, relative to the element's start (same in every rendering). */
  readonly serviceLocation?: AttributeSpot;
  /** For base-url: where DVB's priority and weight go (failover MPDs), relative to the element's start. */
  readonly dvbPriority?: AttributeSpot;
  readonly dvbWeight?: AttributeSpot;
  /** Whitespace that separates siblings here (newline and indentation), for inserted copies. */
  readonly separator: string;
}

/** An attribute's value span to replace, or (insert) the place to add it, relative to an element. */
interface AttributeSpot {
  readonly start: number;
  readonly end: number;
  readonly insert: boolean;
}

interface Layout {
  readonly replacements: readonly Replacement[];
  /** The ContentSteering element name with the MPD's namespace prefix. */
  readonly steeringName: string;
  /** The prefix bound to DVB's namespace on the MPD, and where to declare it when it is not. */
  readonly dvbPrefix: string;
  readonly dvbDeclareAt: Position | undefined;
  /** The origin's ContentSteering@queryBeforeStart, when it had one. */
  readonly originQueryBeforeStart: boolean;
  /** An MPD (not a remote element or an MPD Patch, which have no MPD-level elements of their own). */
  readonly isMpd: boolean;
}

/** DVB's DASH extensions (ETSI TS 103 285): BaseURL@dvb:priority and @dvb:weight. */
export const DVB_NS = 'urn:dvb:dash:dash-extensions:2014-1';

const isDashNs = (ns: string | undefined): boolean =>
  ns === undefined || ns.startsWith('urn:mpeg:dash:schema:mpd:');

/** Layouts depend only on the template, which the cache keeps for its lifetime: worked out once. */
const layouts = new WeakMap<Template, Layout>();

export function steeringMpd(
  template: Template,
  locations: readonly ServiceLocation[],
  steering: DashSteering,
): string {
  const layout = layoutOf(template);
  const element =
    `<${layout.steeringName} defaultServiceLocation="${escapeXml(steering.defaultServiceLocation)}"` +
    ` queryBeforeStart="${(steering.queryBeforeStart ?? layout.originQueryBeforeStart) ? 'true' : 'false'}">` +
    `${escapeXml(steering.serverUri)}</${layout.steeringName}>`;
  return repeatBaseUrls(template, layout, locations, { steeringElement: element, dvb: false });
}

/**
 * In-player failover for an MPD (rewrite and redirect modes): every CDN BaseURL repeated once per CDN
 * in the session's ranking, each copy with `serviceLocation="<cdn id>"`, `dvb:priority` (1 for the
 * first) and `dvb:weight="1"`, in ranked order, so a player moves to the next CDN at a failed segment
 * without waiting for an MPD refresh (dash.js and shaka take the first BaseURL and fall back in order;
 * DVB players follow the priorities). The origin's ContentSteering is left as the rewrite put it.
 */
export function failoverMpd(template: Template, ranked: readonly ServiceLocation[]): string {
  return repeatBaseUrls(template, layoutOf(template), ranked, { dvb: true });
}

function layoutOf(template: Template): Layout {
  let layout = layouts.get(template);
  if (!layout) {
    layout = analyse(template);
    layouts.set(template, layout);
  }
  return layout;
}

function repeatBaseUrls(
  template: Template,
  layout: Layout,
  locations: readonly ServiceLocation[],
  opts: { steeringElement?: string; dvb: boolean },
): string {
  const first = locations[0];
  if (!first) throw new Error('no service location for the MPD');
  const marks: { at: Position; end: Position; render: () => string }[] = [];
  // DVB attributes need the prefix declared on the MPD; documents an MPD refers to get serviceLocation only.
  const dvb = opts.dvb && layout.isMpd;
  for (const r of layout.replacements) {
    if (r.kind === 'location') {
      // MPD refreshes follow the pathway too (steering only: a failover MPD refreshes at Switchyard).
      if (opts.steeringElement === undefined) continue;
      marks.push({
        at: r.start,
        end: r.end,
        render: () =>
          locations
            .map((loc) =>
              withAttributes(renderRange(template, r.start, r.end, loc.mapSlot), r, loc.id, undefined, ''),
            )
            .join(r.separator),
      });
    } else if (r.kind === 'base-url') {
      marks.push({
        at: r.start,
        end: r.end,
        render: () =>
          locations
            .map((loc, k) =>
              withAttributes(
                renderRange(template, r.start, r.end, loc.mapSlot),
                r,
                loc.id,
                dvb ? k + 1 : undefined,
                layout.dvbPrefix,
              ),
            )
            .join(r.separator),
      });
    } else if (opts.steeringElement !== undefined) {
      const element = opts.steeringElement;
      marks.push({
        at: r.start,
        end: r.end,
        render: () => (r.kind === 'steering-replace' ? element : r.separator + element),
      });
    }
  }
  if (dvb && layout.dvbDeclareAt) {
    const at = layout.dvbDeclareAt;
    marks.push({ at, end: at, render: () => ` xmlns:${layout.dvbPrefix}="${DVB_NS}"` });
  }
  marks.sort((x, y) => x.at.chunk - y.at.chunk || x.at.offset - y.at.offset);
  let out = '';
  let cursor: Position = { chunk: 0, offset: 0 };
  for (const m of marks) {
    out += renderRange(template, cursor, m.at, first.mapSlot) + m.render();
    cursor = m.end;
  }
  return (
    out +
    renderRange(template, cursor, { chunk: template.chunks.length - 1, offset: Infinity }, first.mapSlot)
  );
}

/** Sets serviceLocation (and DVB priority and weight) on one rendered BaseURL element. */
function withAttributes(
  el: string,
  r: Replacement,
  id: string,
  priority: number | undefined,
  dvbPrefix: string,
): string {
  const edits: { spot: AttributeSpot; name: string; value: string }[] = [
    { spot: r.serviceLocation as AttributeSpot, name: 'serviceLocation', value: escapeXml(id) },
  ];
  if (priority !== undefined) {
    edits.push(
      { spot: r.dvbPriority as AttributeSpot, name: `${dvbPrefix}:priority`, value: String(priority) },
      { spot: r.dvbWeight as AttributeSpot, name: `${dvbPrefix}:weight`, value: '1' },
    );
  }
  // Right to left, so earlier offsets stay valid; inserts at one place keep their order.
  const order = edits.map((e, i) => ({ ...e, i })).sort((x, y) => y.spot.start - x.spot.start || y.i - x.i);
  let out = el;
  for (const { spot, name, value } of order) {
    out = spot.insert
      ? out.slice(0, spot.start) + ` ${name}="${value}"` + out.slice(spot.start)
      : out.slice(0, spot.start) + value + out.slice(spot.end);
  }
  return out;
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
  // A document an MPD refers to (remote Period, MPD Patch) may hold several top-level elements.
  const { root: fragment } = parseXml(text, { fragment: true });

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
        const r = perLocation(child, 'base-url', (slot) => slot.kind === 'base-url' && slot.role === 'media');
        if (r) replacements.push(r);
      } else visit(child);
    }
  };
  /**
   * A BaseURL (or Location, PatchLocation) holding exactly one Switchyard-mapped slot in its text: the
   * start tag is literal text, so it can be repeated per location with its own attributes.
   */
  const perLocation = (
    el: XmlElement,
    kind: 'base-url' | 'location',
    wanted: (slot: Slot) => boolean,
  ): Replacement | undefined => {
    const inside = slotSpan
      .map((span, i) => ({ span, i }))
      .filter(({ span }) => span.start >= el.start && span.end <= el.end);
    const only = inside[0];
    if (inside.length !== 1 || !only || !el.textOnly) return undefined;
    const slot = slots[only.i] as Slot;
    if (!wanted(slot) || slot.path === undefined) return undefined;
    const nameEnd = el.start + 1 + el.qname.length;
    const spot = (local: string, ns?: string): AttributeSpot => {
      const existing = attribute(el, local, ns);
      return existing
        ? { start: existing.valueStart - el.start, end: existing.valueEnd - el.start, insert: false }
        : { start: nameEnd - el.start, end: nameEnd - el.start, insert: true };
    };
    return {
      start: position(el.start),
      end: position(el.end),
      kind,
      serviceLocation: spot('serviceLocation'),
      dvbPriority: spot('priority', DVB_NS),
      dvbWeight: spot('weight', DVB_NS),
      separator: leadingWhitespace(el),
    };
  };
  visit(fragment);
  const only = fragment.children.length === 1 ? fragment.children[0] : undefined;
  const root = only && only.local === 'MPD' && isDashNs(only.ns) ? only : undefined;
  if (!root) {
    // Not an MPD (a remote element, a patch): its BaseURLs per location, and nothing MPD-level.
    replacements.sort((x, y) => x.start.chunk - y.start.chunk || x.start.offset - y.start.offset);
    return {
      replacements,
      steeringName: 'ContentSteering',
      dvbPrefix: 'dvb',
      dvbDeclareAt: undefined,
      originQueryBeforeStart: false,
      isMpd: false,
    };
  }
  // MPD refreshes: Location and PatchLocation carry @serviceLocation too (ISO/IEC 23009-1 5th ed.), so
  // a steering client keeps refreshing along the pathway it follows. All lead back to the session's URL.
  for (const child of root.children) {
    if (!isDashNs(child.ns) || (child.local !== 'Location' && child.local !== 'PatchLocation')) continue;
    const r = perLocation(
      child,
      'location',
      (slot) => slot.kind === 'location' || slot.kind === 'patch-location',
    );
    if (r) replacements.push(r);
  }
  // The origin's ContentSteering is replaced wherever players look for it: the MPD level, and inside
  // ServiceDescription (dash.js reads it there when the MPD level has none).
  const steeringIn = (el: XmlElement) =>
    el.children.filter((c) => c.local === 'ContentSteering' && isDashNs(c.ns));
  const inDescriptions = root.children
    .filter((c) => c.local === 'ServiceDescription' && isDashNs(c.ns))
    .flatMap(steeringIn);
  for (const el of inDescriptions) {
    replacements.push({
      start: position(el.start),
      end: position(el.end),
      kind: 'steering-replace',
      separator: '',
    });
  }
  const ownSteering = steeringIn(root)[0];
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
  // DVB's prefix: the one the MPD binds already, else "dvb" (or a free variant) declared on the root.
  let dvbPrefix: string | undefined;
  for (const [prefix, ns] of root.scope) if (ns === DVB_NS && prefix !== '') dvbPrefix = prefix;
  let dvbDeclareAt: Position | undefined;
  if (dvbPrefix === undefined) {
    dvbPrefix = 'dvb';
    while (root.scope.has(dvbPrefix)) dvbPrefix += '_';
    dvbDeclareAt = position(root.start + 1 + root.qname.length);
  }
  const originSteering = ownSteering ?? inDescriptions[0];
  return {
    replacements,
    steeringName: (root.prefix === '' ? '' : root.prefix + ':') + 'ContentSteering',
    dvbPrefix,
    dvbDeclareAt,
    originQueryBeforeStart:
      originSteering !== undefined &&
      attribute(originSteering, 'queryBeforeStart')?.value.trim().toLowerCase() === 'true',
    isMpd: true,
  };
}
