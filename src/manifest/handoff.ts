import type { Slot, Template } from './template';

/*
 * Spec-correct CDN switching for re-rendered HLS media playlists (RFC 8216 §6.2.1, rfc8216bis §6.2.1:
 * a segment's URI never changes once listed). When a session moves from CDN a to CDN b, every segment
 * already listed to it (with its parts, preload hint and map) keeps its a URI; only segments from the
 * switch point on are rendered with b. A playlist's switch point is a media sequence number, chosen
 * once (at the first rendering of that playlist after the move) and remembered with the session, so
 * every instance renders the same bytes for the same (playlist version, CDNs, switch points).
 */

/** Where each slot of a media playlist sits in the media timeline. */
export interface SegmentLayout {
  /** Per template slot: the media sequence number of the segment it belongs to (tags before a URI
   * line belong to that segment; trailing parts and the preload hint to the segment in progress). */
  readonly msn: readonly number[];
  /** Media sequence number of the first segment listed (after any EXT-X-SKIP). */
  readonly firstMsn: number;
  /** Highest media sequence number any slot belongs to (the segment in progress when parts trail). */
  readonly lastMsn: number;
  /** Segment msn → whether its first listed part carries INDEPENDENT=YES (segments with parts only). */
  readonly firstPartIndependent: ReadonlyMap<number, boolean>;
  /** Whether any part says INDEPENDENT=YES (a stream that never marks parts gives no constraint). */
  readonly marksIndependent: boolean;
  /** Segment msn → index of its URI-line slot. */
  readonly segmentSlot: ReadonlyMap<number, number>;
  /** Indices of EXT-X-MAP slots, in order. */
  readonly mapSlots: readonly number[];
  /** Indices of EXT-X-KEY URI slots, in order. */
  readonly keySlots: readonly number[];
}

const SKIPPED = /#EXT-X-SKIP:(?:[^\n]*?,)?SKIPPED-SEGMENTS=(\d+)/;

/** The text of the line holding slot i, split around the slot (without the line's end). */
function lineAround(template: Template, i: number): { before: string; after: string; eol: string } {
  const chunkBefore = template.chunks[i] as string;
  const chunkAfter = template.chunks[i + 1] as string;
  const nl = chunkAfter.indexOf('\n');
  return {
    before: chunkBefore.slice(chunkBefore.lastIndexOf('\n') + 1),
    after: nl < 0 ? chunkAfter : chunkAfter.slice(0, nl),
    eol: nl < 0 ? '' : '\n',
  };
}

/**
 * The layout of a media playlist template. `mediaSequence` is EXT-X-MEDIA-SEQUENCE (0 when absent,
 * as RFC 8216 §4.3.3.2 says).
 */
export function segmentLayout(template: Template, mediaSequence: number | undefined): SegmentLayout {
  let skipped = 0;
  for (const chunk of template.chunks) {
    const m = SKIPPED.exec(chunk);
    if (m) {
      skipped = Number(m[1]);
      break;
    }
  }
  const firstMsn = (mediaSequence ?? 0) + skipped;
  let current = firstMsn;
  const msn: number[] = [];
  const firstPartIndependent = new Map<number, boolean>();
  const segmentSlot = new Map<number, number>();
  const mapSlots: number[] = [];
  const keySlots: number[] = [];
  let marksIndependent = false;
  template.slots.forEach((slot: Slot, i) => {
    msn.push(current);
    if (slot.kind === 'segment') {
      segmentSlot.set(current, i);
      current++;
    } else if (slot.kind === 'part') {
      const { before, after } = lineAround(template, i);
      const independent = /[:,]INDEPENDENT=YES(,|\s*$)/.test(before + '""' + after);
      if (independent) marksIndependent = true;
      if (!firstPartIndependent.has(current)) firstPartIndependent.set(current, independent);
    } else if (slot.kind === 'map') {
      mapSlots.push(i);
    } else if (slot.kind === 'key') {
      keySlots.push(i);
    }
  });
  // Rendition reports and other playlist URIs at the end belong to no segment.
  let lastMsn = firstMsn - 1;
  template.slots.forEach((slot, i) => {
    if (slot.role === 'media' || slot.role === 'key') lastMsn = Math.max(lastMsn, msn[i] as number);
  });
  return {
    msn,
    firstMsn,
    lastMsn,
    firstPartIndependent,
    marksIndependent,
    segmentSlot,
    mapSlots,
    keySlots,
  };
}

/**
 * Where a session's move should begin in this playlist: the first media sequence number nothing of
 * which has been handed out yet, moved on (LL-HLS) to a parent segment whose first part is
 * INDEPENDENT=YES. `requestedMsn` is the _HLS_msn of a blocking reload (the player holds everything
 * before it, and the hint for it). `listedUpTo` is the newest msn (segment or part) any rendering of
 * this playlist listed before the session left its CDN (null: none did; undefined: not known).
 * Without either, everything in this rendering counts as handed out.
 * Undefined when no segment qualifies yet (the move waits for a later reload).
 */
export function switchPoint(
  layout: SegmentLayout,
  requestedMsn?: number,
  listedUpTo?: number | null,
): number | undefined {
  const beyond = layout.lastMsn + 1;
  let from =
    requestedMsn !== undefined && Number.isInteger(requestedMsn) && requestedMsn >= layout.firstMsn
      ? Math.min(requestedMsn + 1, beyond)
      : beyond;
  // What earlier renderings can have handed out (null: none listed this playlist) bounds it too.
  if (listedUpTo === null) from = layout.firstMsn;
  else if (listedUpTo !== undefined) from = Math.max(layout.firstMsn, Math.min(from, listedUpTo + 1));
  if (!layout.marksIndependent) return from;
  // The stream starts every segment with an independent part (as far as the parts listed show):
  // a segment whose first part is not listed yet (only hinted, or not at all) will qualify.
  const known = [...layout.firstPartIndependent.values()];
  const predictable = known.length > 0 && known.every((x) => x);
  for (let m = from; m <= beyond; m++) {
    const independent = layout.firstPartIndependent.get(m);
    if (independent === true) return m;
    if (independent === undefined) return predictable ? m : undefined;
  }
  return undefined;
}

/** One run of segments on one CDN: media (and key) prefixes for segments from `fromMsn` on. */
export interface Band {
  readonly fromMsn: number;
  readonly media: string;
  readonly key: string;
  /** The band's CDN's copy of a slot (with its URL tokens), when that CDN signs URLs. */
  readonly sign?: (slot: Slot) => Slot;
}

/**
 * Renders a media playlist whose segments are split between CDNs: slot i of role media/key takes the
 * prefixes of the last band whose fromMsn ≤ its segment's msn. `bands` ascend by fromMsn; the first
 * covers everything before the second. Where a switch point falls inside the span of an EXT-X-MAP,
 * the map line is repeated before the first segment of the new band with the new prefix, so each
 * segment's map keeps the URI it was first listed with when the window later slides past the point.
 * The same for the EXT-X-KEY lines in effect there when keys come from the CDN (keys.via: cdn): the
 * new band's segments get its key URIs from the start, and keep them when the packager later lists
 * the key again before the first segment of the window.
 */
export function renderBanded(
  template: Template,
  layout: SegmentLayout,
  bands: readonly Band[],
  playlistPrefix: string,
): string {
  const { chunks, slots } = template;
  const bandOf = (m: number): Band => {
    let b = bands[0] as Band;
    for (let k = 1; k < bands.length; k++) {
      const next = bands[k] as Band;
      if (next.fromMsn <= m) b = next;
      else break;
    }
    return b;
  };
  const mapSlot = (original: Slot, band: Band): string => {
    const slot = band.sign && original.role !== 'playlist' ? band.sign(original) : original;
    if (slot.path === undefined) return slot.absolute;
    switch (slot.role) {
      case 'playlist':
        return playlistPrefix + slot.path;
      case 'media':
        return band.media + slot.path;
      case 'key':
        return band.key + slot.path;
      default:
        return slot.absolute;
    }
  };
  // Map and key lines to repeat after the URI line of segment (band.fromMsn - 1).
  const inserts = new Map<number, string>();
  const repeat = (at: number, slot: number, band: Band): void => {
    const { before, after, eol } = lineAround(template, slot);
    inserts.set(at, (inserts.get(at) ?? '') + before + mapSlot(slots[slot] as Slot, band) + after + eol);
  };
  for (let k = 1; k < bands.length; k++) {
    const band = bands[k] as Band;
    const prevSegment = layout.segmentSlot.get(band.fromMsn - 1);
    // Nothing of the new band listed yet: the map and key come with its first segment.
    if (prevSegment === undefined || layout.lastMsn < band.fromMsn) continue;
    let governing: number | undefined;
    for (const m of layout.mapSlots) if (m < prevSegment) governing = m;
    if (governing !== undefined) {
      const slot = slots[governing] as Slot;
      const rendered = bandOf(layout.msn[governing] as number);
      if (slot.path !== undefined && rendered.media !== band.media) repeat(prevSegment, governing, band);
    }
    // The new band's first segment lists keys of its own (a key rotation there): nothing to repeat.
    const next = layout.segmentSlot.get(band.fromMsn) ?? slots.length;
    let ownKey = layout.keySlots.some((key) => key > prevSegment && key < next);
    for (let j = prevSegment + 1; j <= next && !ownKey; j++)
      ownKey = (chunks[j] ?? '').includes('#EXT-X-KEY:');
    if (ownKey) continue;
    for (const key of keysInEffect(template, layout, prevSegment)) {
      const slot = slots[key] as Slot;
      const rendered = bandOf(layout.msn[key] as number);
      if (slot.path !== undefined && rendered.key !== band.key) repeat(prevSegment, key, band);
    }
  }
  let out = chunks[0] as string;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] as Slot;
    out += mapSlot(slot, bandOf(layout.msn[i] as number));
    const next = chunks[i + 1] as string;
    const insert = inserts.get(i);
    if (insert === undefined) out += next;
    else {
      const nl = next.indexOf('\n');
      out += nl < 0 ? next + '\n' + insert : next.slice(0, nl + 1) + insert + next.slice(nl + 1);
    }
  }
  return out;
}

/**
 * The EXT-X-KEY slots in effect for the segment whose URI line is slot `segment`: the keys listed
 * together before the last segment that had any (one per KEYFORMAT), none when a key line without a
 * URI (METHOD=NONE) came after them.
 */
function keysInEffect(template: Template, layout: SegmentLayout, segment: number): number[] {
  const before = layout.keySlots.filter((k) => k < segment);
  const last = before[before.length - 1];
  if (last === undefined) return [];
  const group = before.filter((k) => layout.msn[k] === layout.msn[last]);
  // chunks[j] is the text between slot j-1 and slot j: any EXT-X-KEY there has no URI slot.
  for (let j = last + 1; j <= segment; j++)
    if ((template.chunks[j] as string).includes('#EXT-X-KEY:')) return [];
  return group;
}

/** A CDN the session left, and where its segments end in each playlist it had listed from it. */
export interface Handoff {
  /** The CDN the session left. */
  readonly cdn: string;
  /** When it left (the product's clock). */
  readonly at: number;
  /**
   * When the session was last given a manifest before it left (its previous decision), when that is
   * known exactly (single-instance memory): what it can have been handed is bounded by what
   * renderings up to then listed. Undefined: everything in the first rendering after the move counts.
   */
  readonly seen?: number;
  /** Playlist key → the first msn no longer on `cdn` (segments before it stay there). */
  readonly points: Readonly<Record<string, number>>;
}

/**
 * The bands for one playlist from the session's handoffs (newest first) and its current CDN, and the
 * handoffs with this playlist's switch points filled in where it had none (undefined when nothing
 * changed). A playlist without a point in a handoff has not been rendered since that move: what the
 * player last saw of it (if anything) was all on the older CDN, so the point is set now, once.
 */
export function bandsFor(
  handoffs: readonly Handoff[],
  playlistKey: string,
  layout: SegmentLayout,
  point: (handoff: Handoff) => number | undefined,
  prefixes: (cdn: string) => Omit<Band, 'fromMsn'> | undefined,
  current: string,
): { bands: Band[]; updated: Handoff[] | undefined } {
  let updated: Handoff[] | undefined;
  let newer = Number.POSITIVE_INFINITY;
  const points: number[] = [];
  for (let k = 0; k < handoffs.length; k++) {
    const h = handoffs[k] as Handoff;
    let p = h.points[playlistKey];
    if (p === undefined) {
      const computed = point(h);
      // No qualifying switch point yet: everything stays on the older CDNs for now.
      p = computed ?? Number.POSITIVE_INFINITY;
      if (computed !== undefined) {
        updated ??= [...handoffs];
        updated[k] = { ...h, points: { ...h.points, [playlistKey]: Math.min(p, newer) } };
      }
    }
    p = Math.min(p, newer);
    points.push(p);
    newer = p;
  }
  // Oldest CDN first: it holds everything before the oldest point still in the window.
  const bands: Band[] = [];
  for (let k = handoffs.length - 1; k >= 0; k--) {
    const from = k + 1 < handoffs.length ? (points[k + 1] as number) : Number.NEGATIVE_INFINITY;
    const to = points[k] as number;
    const pre = prefixes((handoffs[k] as Handoff).cdn);
    if (pre === undefined || to <= layout.firstMsn || from >= to) continue;
    bands.push({ fromMsn: from, ...pre });
  }
  const pre = prefixes(current);
  const start = points.length > 0 ? (points[0] as number) : Number.NEGATIVE_INFINITY;
  if (pre !== undefined)
    bands.push({ fromMsn: bands.length === 0 ? Number.NEGATIVE_INFINITY : start, ...pre });
  return { bands, updated };
}
