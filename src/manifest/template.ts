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
