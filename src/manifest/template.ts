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
 * merged into the chunks, each remaining slot a role and its path, all UTF-8 encoded once per cache
 * fill. A response is then one buffer of known size filled by copies: no string concatenation to
 * flatten and encode per request.
 */
export interface EncodedTemplate {
  readonly chunks: readonly Buffer[];
  readonly roles: readonly PrefixRole[];
  readonly paths: readonly Buffer[];
  /** Bytes of all chunks and paths: the response size without prefixes. */
  readonly fixedBytes: number;
  /** Slots per role, to size the response from the prefixes' lengths. */
  readonly counts: Readonly<Record<PrefixRole, number>>;
}

export function encodeTemplate(template: Template): EncodedTemplate {
  const chunks: Buffer[] = [];
  const roles: PrefixRole[] = [];
  const paths: Buffer[] = [];
  const counts: Record<PrefixRole, number> = { playlist: 0, media: 0, key: 0 };
  let literal = template.chunks[0] as string;
  let fixedBytes = 0;
  template.slots.forEach((slot, i) => {
    const next = template.chunks[i + 1] as string;
    if (slot.path === undefined || slot.role === 'absolute') {
      literal += slot.absolute + next;
      return;
    }
    const chunk = Buffer.from(literal, 'utf8');
    const path = Buffer.from(slot.path, 'utf8');
    chunks.push(chunk);
    roles.push(slot.role);
    paths.push(path);
    counts[slot.role]++;
    fixedBytes += chunk.length + path.length;
    literal = next;
  });
  const last = Buffer.from(literal, 'utf8');
  chunks.push(last);
  fixedBytes += last.length;
  return { chunks, roles, paths, fixedBytes, counts };
}

/** Renders an encoded template with one prefix per role. Same output as render() with that mapping. */
export function renderBytes(encoded: EncodedTemplate, prefix: Readonly<Record<PrefixRole, Buffer>>): Buffer {
  const { chunks, roles, paths, counts } = encoded;
  const size =
    encoded.fixedBytes +
    counts.playlist * prefix.playlist.length +
    counts.media * prefix.media.length +
    counts.key * prefix.key.length;
  const out = Buffer.allocUnsafe(size);
  let at = (chunks[0] as Buffer).copy(out, 0);
  for (let i = 0; i < roles.length; i++) {
    at += prefix[roles[i] as PrefixRole].copy(out, at);
    at += (paths[i] as Buffer).copy(out, at);
    at += (chunks[i + 1] as Buffer).copy(out, at);
  }
  return out;
}
