/**
 * What crosses the thread boundary between Switchyard and a parse worker, and how a parsed manifest is
 * packed for it. Everything here is structured-clone-safe: strings, typed arrays, plain objects and a
 * Map (no functions, no class instances, no Buffers from Node's shared pool).
 *
 * A parsed manifest is not sent as its object graph: 150,000 slot objects would cost the main thread
 * as much to deserialize as the parse it was spared. It is packed into one string of every text it
 * holds (chunks and slot URIs, back to back) with their end offsets, one byte of kind and one of role
 * and flags per slot, and the encoded template as one byte array with the end of each piece. Unpacking
 * is slicing: substrings of one string and Buffer views of one transferred ArrayBuffer, done in slices
 * of SLICE_SLOTS slots between which the event loop runs.
 */
import { ERROR_STATUS, SwitchyardError, type ErrorCode } from '../errors';
import { escapeXml } from '../manifest/dash';
import type { ManifestInfo, ParsedManifest } from '../manifest/load';
import type { ManifestLimits } from '../manifest/limits';
import type { EncodedTemplate, PrefixRole, Slot, SlotKind, SlotRole } from '../manifest/template';

/** Main thread → worker: one manifest to parse. */
export interface ParseRequest {
  readonly id: number;
  readonly text: string;
  readonly manifestUrl: string;
  readonly originBase: string;
  readonly contentType: string | undefined;
  readonly limits: ManifestLimits;
  /** "Now" for a dynamic MPD's segment timeline (ms since the epoch): the server's clock. */
  readonly now?: number;
}

/** A SwitchyardError as data (an Error's own fields do not survive structured clone). */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details: Readonly<Record<string, string | number | boolean>>;
  /** For INTERNAL: what the worker caught, for the log. */
  readonly cause?: string;
}

/** Worker → main thread. `ready` once at start; then one answer per request. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | {
      readonly type: 'parsed';
      readonly id: number;
      readonly packed: PackedManifest;
      readonly parseMs: number;
    }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError; readonly parseMs: number };

export interface PackedManifest {
  readonly format: 'hls' | 'dash';
  readonly contentType: string;
  readonly dashDocument: 'remote-element' | 'patch' | undefined;
  readonly info: ManifestInfo;
  /** Every text of the template back to back: chunk 0, then per slot its strings and the next chunk. */
  readonly strings: string;
  /** End offset in `strings` of each text, in that order. */
  readonly ends: Uint32Array;
  /** Per slot: its kind's index in SLOT_KINDS. */
  readonly kinds: Uint8Array;
  /** Per slot: its role's index in SLOT_ROLES, plus the FLAG_* bits. */
  readonly bits: Uint8Array;
  /** The encoded template's head and tails back to back. */
  readonly bytes: Uint8Array;
  /** End offset in `bytes` of the head, then of each tail. */
  readonly byteEnds: Uint32Array;
  /** Per tail: its prefix role's index in PREFIX_ROLES. */
  readonly prefixRoles: Uint8Array;
  readonly counts: Readonly<Record<PrefixRole, number>>;
  readonly fixedBytes: number;
}

const KIND_INDEX: Readonly<Record<SlotKind, number>> = {
  variant: 0,
  'iframe-variant': 1,
  rendition: 2,
  segment: 3,
  part: 4,
  'preload-hint': 5,
  prefetch: 6,
  map: 7,
  key: 8,
  'session-key': 9,
  'rendition-report': 10,
  'session-data': 11,
  steering: 12,
  'interstitial-asset': 13,
  'interstitial-list': 14,
  'base-url': 15,
  'segment-template': 16,
  'segment-url': 17,
  initialization: 18,
  'representation-index': 19,
  location: 20,
  'patch-location': 21,
  xlink: 22,
};
const SLOT_KINDS = Object.keys(KIND_INDEX) as SlotKind[];
const ROLE_INDEX: Readonly<Record<SlotRole, number>> = { playlist: 0, media: 1, key: 2, absolute: 3 };
const SLOT_ROLES = Object.keys(ROLE_INDEX) as SlotRole[];
const PREFIX_ROLES: readonly PrefixRole[] = ['playlist', 'media', 'key'];

const ROLE_MASK = 0b11;
const FLAG_PATH = 1 << 2;
const FLAG_TEMPLATE = 1 << 3;
const FLAG_KEPT = 1 << 4;
const FLAG_KEPT_PATH = 1 << 5;

/** Slots unpacked between two turns of the event loop (a few milliseconds of work on a busy core). */
export const SLICE_SLOTS = 8_192;

/** The ArrayBuffers a packed manifest owns: moved to the main thread, not copied. */
export function transferList(p: PackedManifest): ArrayBuffer[] {
  return [p.ends, p.kinds, p.bits, p.bytes, p.byteEnds, p.prefixRoles].map((a) => a.buffer as ArrayBuffer);
}

/** Worker side: a parsed manifest as one string, typed arrays and its (plain) info. */
export function packManifest(m: ParsedManifest): PackedManifest {
  const { chunks, slots } = m.template;
  const texts: string[] = [chunks[0] as string];
  const kinds = new Uint8Array(slots.length);
  const bits = new Uint8Array(slots.length);
  slots.forEach((slot, i) => {
    let b = ROLE_INDEX[slot.role];
    texts.push(slot.original, slot.absolute);
    if (slot.path !== undefined) {
      b |= FLAG_PATH;
      texts.push(slot.path);
    }
    if (slot.template === true) b |= FLAG_TEMPLATE;
    if (slot.kept !== undefined) {
      b |= FLAG_KEPT;
      if (slot.kept.path !== undefined) {
        b |= FLAG_KEPT_PATH;
        texts.push(slot.kept.path);
      }
    }
    texts.push(chunks[i + 1] as string);
    kinds[i] = KIND_INDEX[slot.kind];
    bits[i] = b;
  });
  const ends = new Uint32Array(texts.length);
  let at = 0;
  texts.forEach((t, i) => {
    at += t.length;
    ends[i] = at;
  });
  if (at > 0xffff_ffff) throw new SwitchyardError('INTERNAL', 'parsed manifest too large to pack');

  const e = m.encoded;
  const pieces = [e.head, ...e.tails];
  // A fresh ArrayBuffer of its own: a Buffer from Node's shared pool must never be transferred.
  const bytes = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  const byteEnds = new Uint32Array(pieces.length);
  let b = 0;
  pieces.forEach((p, i) => {
    bytes.set(p, b);
    b += p.length;
    byteEnds[i] = b;
  });
  const prefixRoles = new Uint8Array(e.roles.map((r) => PREFIX_ROLES.indexOf(r)));
  return {
    format: m.escape === undefined ? 'hls' : 'dash',
    contentType: m.contentType,
    dashDocument: m.dashDocument,
    info: m.info,
    strings: texts.join(''),
    ends,
    kinds,
    bits,
    bytes,
    byteEnds,
    prefixRoles,
    counts: { ...e.counts },
    fixedBytes: e.fixedBytes,
  };
}

/**
 * Main thread side: the parsed manifest back, identical to what parseManifest returned in the worker.
 * `yieldTurn` is awaited every SLICE_SLOTS slots so other requests are served in between.
 */
export async function unpackManifest(
  p: PackedManifest,
  yieldTurn: () => Promise<void> = nextTurn,
): Promise<ParsedManifest> {
  const s = p.strings;
  const ends = p.ends;
  let at = 0;
  let k = 0;
  const next = (): string => {
    const start = at;
    at = ends[k++] as number;
    return s.slice(start, at);
  };
  const n = p.kinds.length;
  const chunks: string[] = [next()];
  const slots: Slot[] = new Array<Slot>(n);
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % SLICE_SLOTS === 0) await yieldTurn();
    const b = p.bits[i] as number;
    const original = next();
    const absolute = next();
    const path = b & FLAG_PATH ? next() : undefined;
    const slot: { -readonly [K in keyof Slot]: Slot[K] } = {
      kind: SLOT_KINDS[p.kinds[i] as number] as SlotKind,
      role: SLOT_ROLES[b & ROLE_MASK] as SlotRole,
      original,
      absolute,
      path,
    };
    if (b & FLAG_TEMPLATE) slot.template = true;
    if (b & FLAG_KEPT) slot.kept = { path: b & FLAG_KEPT_PATH ? next() : undefined };
    slots[i] = slot;
    chunks.push(next());
  }
  if (k !== ends.length) throw new SwitchyardError('INTERNAL', 'packed manifest does not add up');

  const buffer = p.bytes.buffer;
  const base = p.bytes.byteOffset;
  const pieceEnds = p.byteEnds;
  const tails: Buffer[] = new Array<Buffer>(pieceEnds.length - 1);
  const head = Buffer.from(buffer, base, pieceEnds[0] as number);
  for (let i = 1; i < pieceEnds.length; i++) {
    if (i % SLICE_SLOTS === 0) await yieldTurn();
    const start = pieceEnds[i - 1] as number;
    tails[i - 1] = Buffer.from(buffer, base + start, (pieceEnds[i] as number) - start);
  }
  const encoded: EncodedTemplate = {
    head,
    roles: Array.from(p.prefixRoles, (r) => PREFIX_ROLES[r] as PrefixRole),
    tails,
    fixedBytes: p.fixedBytes,
    counts: { ...p.counts },
  };
  return {
    template: { chunks, slots },
    encoded,
    info: p.info,
    contentType: p.contentType,
    ...(p.format === 'dash' ? { escape: escapeXml } : {}),
    ...(p.dashDocument === undefined ? {} : { dashDocument: p.dashDocument }),
  };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A thrown value as data for the main thread. */
export function toWireError(err: unknown): WireError {
  if (err instanceof SwitchyardError)
    return { code: err.code, message: err.message, details: { ...err.details } };
  return {
    code: 'INTERNAL',
    message: 'manifest parse failed',
    details: {},
    cause: err instanceof Error ? (err.stack ?? err.message) : String(err),
  };
}

/** The worker's error as the SwitchyardError it was (its code, message and details kept). */
export function fromWireError(e: WireError): SwitchyardError {
  const code: ErrorCode = e.code in ERROR_STATUS ? (e.code as ErrorCode) : 'INTERNAL';
  return new SwitchyardError(code, e.message, {
    details: { ...e.details },
    ...(e.cause === undefined ? {} : { cause: new Error(e.cause) }),
  });
}
