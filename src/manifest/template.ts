/**
 * A manifest split once into literal chunks and typed URI slots. Rendering for a session is a join
 * over the chunks with each slot mapped: no re-parsing per request, and every byte outside the slots
 * comes out exactly as the origin wrote it.
 */

/** What a URI points at, to a video engineer. */
export type SlotKind =
  // HLS
  | 'variant'
  | 'iframe-variant'
  | 'rendition'
  | 'segment'
  | 'part'
  | 'preload-hint'
  | 'prefetch'
  | 'map'
  | 'key'
  | 'session-key'
  | 'rendition-report'
  | 'session-data'
  | 'steering'
  | 'interstitial-asset'
  | 'interstitial-list'
  // DASH
  | 'base-url'
  | 'segment-template'
  | 'segment-url'
  | 'initialization'
  | 'representation-index'
  | 'location'
  | 'patch-location'
  | 'xlink';

/**
 * Where a slot's URI is sent:
 * - `playlist`: back through Switchyard in the viewer's session (media playlists, MPD refreshes);
 * - `media`: to the CDN the policy picks (segments, parts, init sections, and other static assets);
 * - `key`: to the origin or the configured key server (decryption keys);
 * - `absolute`: resolved to an absolute URL and otherwise left alone (steering servers, asset lists).
 */
export type SlotRole = 'playlist' | 'media' | 'key' | 'absolute';

export interface Slot {
  readonly kind: SlotKind;
  readonly role: SlotRole;
  /** The URI as written in the manifest. */
  readonly original: string;
  /**
   * The URI resolved against the manifest's own URL, or the original when it cannot be resolved
   * (non-http schemes such as skd:// or data:, or an unresolved {$variable} prefix).
   */
  readonly absolute: string;
  /** The resolved URI relative to the stream's origin base (query kept), or undefined when elsewhere. */
  readonly path: string | undefined;
  /** DASH: the URI is in SegmentTemplate syntax (`$Number$`; a literal `$` is written `$$`). */
  readonly template?: true;
  /**
   * DASH: a reference kept as written (relative to a BaseURL that moves to the CDN). It renders as
   * `absolute` (the original), but a CDN token must still be appended to it; `path` is where it
   * resolves under the origin base (undefined for SegmentTemplate patterns).
   */
  readonly kept?: { readonly path: string | undefined };
}

export interface Template {
  /** Literal text; chunks.length === slots.length + 1. */
  readonly chunks: readonly string[];
  readonly slots: readonly Slot[];
}

/** Joins chunks and mapped slots. */
export function render(template: Template, mapSlot: (slot: Slot) => string): string {
  const { chunks, slots } = template;
  let out = chunks[0] as string;
  for (let i = 0; i < slots.length; i++) {
    out += mapSlot(slots[i] as Slot) + (chunks[i + 1] as string);
  }
  return out;
}

/** Collects chunks and slots while a parser walks the text. */
export class TemplateBuilder {
  private readonly chunks: string[] = [];
  private readonly slots: Slot[] = [];
  private cursor = 0;

  constructor(private readonly text: string) {}

  /** Marks text[start, end) as a slot; spans must be added in increasing order. */
  add(start: number, end: number, slot: Slot): void {
    this.chunks.push(this.text.slice(this.cursor, start));
    this.slots.push(slot);
    this.cursor = end;
  }

  build(): Template {
    this.chunks.push(this.text.slice(this.cursor));
    return { chunks: this.chunks, slots: this.slots };
  }
}

/** Roles whose slots are rendered with a per-request prefix; every other slot is literal. */
export type PrefixRole = 'playlist' | 'media' | 'key';

/**
 * A template as bytes for the hot path: literal slots (URIs outside the origin, `absolute` roles)
 * merged into the text, then each remaining slot's path joined with the literal text after it, all
 * UTF-8 encoded once per cache fill. A response is one buffer of known size filled by two copies per
 * slot (its prefix, then its path and what follows): no string to flatten and encode per request.
 */
export interface EncodedTemplate {
  /** Text before the first prefixed slot. */
  readonly head: Buffer;
  readonly roles: readonly PrefixRole[];
  /** Slot i's path followed by the literal text up to the next prefixed slot. */
  readonly tails: readonly Buffer[];
  /** Bytes of head and tails: the response size without prefixes. */
  readonly fixedBytes: number;
  /** Slots per role, to size the response from the prefixes' lengths. */
  readonly counts: Readonly<Record<PrefixRole, number>>;
}

export function encodeTemplate(template: Template): EncodedTemplate {
  const roles: PrefixRole[] = [];
  const texts: string[] = [];
  const counts: Record<PrefixRole, number> = { playlist: 0, media: 0, key: 0 };
  let literal = template.chunks[0] as string;
  template.slots.forEach((slot, i) => {
    const next = template.chunks[i + 1] as string;
    if (slot.path === undefined || slot.role === 'absolute') {
      literal += slot.absolute + next;
      return;
    }
    texts.push(literal);
    roles.push(slot.role);
    counts[slot.role]++;
    literal = slot.path + next;
  });
  texts.push(literal);
  const [head, ...tails] = texts.map((t) => Buffer.from(t, 'utf8'));
  const fixedBytes = (head as Buffer).length + tails.reduce((n, b) => n + b.length, 0);
  return { head: head as Buffer, roles, tails, fixedBytes, counts };
}

/** Renders an encoded template with one prefix per role. Same output as render() with that mapping. */
export function renderBytes(encoded: EncodedTemplate, prefix: Readonly<Record<PrefixRole, Buffer>>): Buffer {
  const { roles, tails, counts } = encoded;
  const size =
    encoded.fixedBytes +
    counts.playlist * prefix.playlist.length +
    counts.media * prefix.media.length +
    counts.key * prefix.key.length;
  const out = Buffer.allocUnsafe(size);
  // TypedArray.set: cheaper than Buffer.copy for the many small pieces of a playlist.
  out.set(encoded.head, 0);
  let at = encoded.head.length;
  for (let i = 0; i < roles.length; i++) {
    const p = prefix[roles[i] as PrefixRole];
    out.set(p, at);
    at += p.length;
    const tail = tails[i] as Buffer;
    out.set(tail, at);
    at += tail.length;
  }
  return out;
}
