import { SwitchyardError } from '../../errors';
import type { StreamConfig } from '../../config/schema';
import { renderBytes, type EncodedTemplate, type Slot } from '../../manifest/template';
import type { ConfigState } from '../runtime';
import type { ManifestJob } from './types';

/**
 * `<cdn baseUrl><pathTemplate before {path}>` of a CDN for a stream. Every configured stream has one
 * per configured CDN (built with the config state), so a miss is a bug: it fails as INTERNAL instead
 * of writing "undefined" into a manifest.
 */
export function cdnPrefixOf(state: ConfigState, streamId: string, cdn: string): string {
  const prefix = state.cdnPrefixes.get(streamId)?.get(cdn);
  if (prefix === undefined) {
    throw new SwitchyardError('INTERNAL', `no CDN prefix for stream "${streamId}" on CDN "${cdn}"`);
  }
  return prefix;
}

/** Where decryption keys load from when segments come from `cdnPrefix` (streams[].keys). */
export function keyPrefixFor(stream: StreamConfig, cdnPrefix: string): string {
  switch (stream.keys.via) {
    case 'cdn':
      return cdnPrefix;
    case 'server':
      // The schema requires keys.server with via "server"; the origin is the safe answer otherwise.
      return stream.keys.server ?? stream.origin;
    default:
      return stream.origin;
  }
}

/**
 * Whose CDN tokens a rendering carries (when that CDN signs, see cdns[].auth): on its media URIs
 * (false when they point back at Switchyard, as in redirect mode) and on its keys.
 */
export interface SignFor {
  readonly cdn: string;
  readonly media: boolean;
  readonly keys: boolean;
}

/** Signing of a rendering whose segments (and, with keys.via cdn, keys) come from `cdn`. */
export function signFor(stream: StreamConfig, cdn: string, media = true): SignFor {
  return { cdn, media, keys: stream.keys.via === 'cdn' };
}

/**
 * The template a per-CDN slot mapping should read for `cdn`: the manifest's own, or its copy with
 * `cdn`'s tokens. Slots are matched by position, so a mapper given the original slots can look up
 * the signed one.
 */
export function signedSlots(job: ManifestJob, cdn: string): ((slot: Slot) => Slot) | undefined {
  const signed = job.state.urlSigners.template(job.manifest, job.stream.id, cdn, job.now, {
    ...signFor(job.stream, cdn),
    xml: job.manifest.escape !== undefined,
  });
  if (!signed) return undefined;
  const bySlot = new Map<Slot, Slot>();
  job.manifest.template.slots.forEach((s, i) => bySlot.set(s, signed.slots[i] ?? s));
  return (slot) => bySlot.get(slot) ?? slot;
}

/** Prefixes of one rendering per slot role, already escaped for the manifest's syntax. */
export interface RolePrefixes {
  readonly playlist: string;
  readonly media: string;
  readonly key: string;
}

/** A slot mapper from the prefixes of one rendering (for renderings that duplicate blocks). */
export function slotMapper(prefix: RolePrefixes): (slot: Slot) => string {
  return (slot) => {
    if (slot.path === undefined) return slot.absolute;
    switch (slot.role) {
      case 'playlist':
        return prefix.playlist + slot.path;
      case 'media':
        return prefix.media + slot.path;
      case 'key':
        return prefix.key + slot.path;
      default:
        return slot.absolute;
    }
  };
}

/** Escapes a prefix for the manifest's syntax (XML for DASH); slot paths already are. */
export function escapeFor(job: ManifestJob, text: string): string {
  const esc = job.manifest.escape;
  return esc ? esc(text) : text;
}

/** The session's media playlist prefix: playlists come back through Switchyard in the session. */
export function playlistPrefix(job: ManifestJob): string {
  return job.sessionBase + job.stream.id + '/';
}

/**
 * The common rendering: playlists through the session, media from `media` (a CDN, or Switchyard's
 * redirect route), keys from `key`. Unescaped prefixes in; one buffer out.
 */
export function renderWith(job: ManifestJob, media: string, key: string, signing?: SignFor): Buffer {
  const signed =
    signing === undefined
      ? undefined
      : job.state.urlSigners.encoded(job.manifest, job.stream.id, signing.cdn, job.now, {
          media: signing.media,
          keys: signing.keys,
          xml: job.manifest.escape !== undefined,
        });
  const encoded = signed ?? job.manifest.encoded;
  // No URI back through the session (a media playlist without rendition reports, segments straight
  // from a CDN): every session on this CDN gets the same bytes, rendered once per (template or signed
  // copy, prefixes).
  const perSession =
    encoded.counts.playlist > 0 || media.startsWith(job.sessionBase) || key.startsWith(job.sessionBase);
  const shareKey = perSession ? undefined : media + '\n' + key;
  let shared = shareKey === undefined ? undefined : sharedBodies.get(encoded);
  const hit = shareKey === undefined ? undefined : shared?.get(shareKey);
  if (hit !== undefined) return hit;
  const body = renderBytes(encoded, {
    playlist: Buffer.from(escapeFor(job, playlistPrefix(job))),
    media: Buffer.from(escapeFor(job, media)),
    key: Buffer.from(escapeFor(job, key)),
  });
  if (shareKey !== undefined) {
    if (!shared) {
      shared = new Map();
      sharedBodies.set(encoded, shared);
    }
    if (shared.size >= SHARED_PER_TEMPLATE) shared.delete(shared.keys().next().value as string);
    shared.set(shareKey, body);
  }
  return body;
}

/**
 * Renderings every session shares, per encoded template (the cached manifest's, or its signed copy
 * for one CDN and epoch): they go with the template. Responses only read them.
 */
const sharedBodies = new WeakMap<EncodedTemplate, Map<string, Buffer>>();
/** Prefix pairs kept per template: a few CDNs × key locations. */
const SHARED_PER_TEMPLATE = 16;
