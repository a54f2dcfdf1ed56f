import {
  bandsFor,
  renderBanded,
  segmentLayout,
  switchPoint,
  type Band,
  type SegmentLayout,
} from '../../manifest/handoff';
import type { Template } from '../../manifest/template';
import { queryParam } from '../../url';
import { cdnPrefixOf, keyPrefixFor, playlistPrefix, renderWith, signFor, signedSlots } from './prefixes';
import type { ManifestJob } from './types';

/*
 * A session's media playlist on its CDN, with the segments it was already given kept where they were
 * first listed (RFC 8216 §6.2.1). The CDNs a session left and the switch point of each playlist live
 * in the session memory (shared over the fleet), so any instance renders the same bytes. Sessions
 * that never moved — nearly all of them, nearly always — take the one-prefix render as before.
 */

/** Layouts depend only on the template, which the cache keeps for its lifetime: worked out once. */
const layouts = new WeakMap<Template, SegmentLayout>();

/** Renderings shared by every session with the same CDNs and switch points (bounded per template). */
const bodies = new WeakMap<Template, Map<string, string>>();
const BODIES_PER_TEMPLATE = 32;

/** Live templates whose first rendering is in the runtime's listing history. */
const noted = new WeakSet<Template>();

/** The listing history's key of a playlist: its origin URL without the query (one per origin). */
function listingKey(job: ManifestJob): string {
  const url = job.originUrl;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function layoutOf(template: Template, mediaSequence: number | undefined): SegmentLayout {
  let layout = layouts.get(template);
  if (!layout) {
    layout = segmentLayout(template, mediaSequence);
    layouts.set(template, layout);
  }
  return layout;
}

/** A live playlist version rendered for the first time: what it lists, and when, for later moves. */
function noteListing(job: ManifestJob, template: Template): void {
  noted.add(template);
  job.runtime.listings.note(
    listingKey(job),
    job.now,
    layoutOf(template, job.manifest.info.mediaSequence).lastMsn,
  );
}

/** The playlist a switch point belongs to: its path under the stream's origin, without the query. */
export function playlistKey(job: ManifestJob): string {
  return listingKey(job).slice(job.stream.origin.length);
}

/** The session's media playlist on `cdn`, older segments on the CDNs they were listed with. */
export function renderMedia(job: ManifestJob, cdn: string): string | Buffer {
  const single = (): Buffer => {
    const media = cdnPrefixOf(job.state, job.stream.id, cdn);
    return renderWith(job, media, keyPrefixFor(job.stream, media), signFor(job.stream, cdn));
  };
  const { info, template } = job.manifest;
  if (info.protocol !== 'hls' || info.kind !== 'media') return single();
  if (info.live && !noted.has(template)) noteListing(job, template);
  const memory = job.runtime.store.sessions;
  const record = memory.get(job.session.sid, job.now);
  const handoffs = record?.handoffs;
  if (!record || !handoffs || handoffs.length === 0) return single();

  const layout = layoutOf(template, info.mediaSequence);
  const key = playlistKey(job);
  const newest = handoffs[0]?.points[key];
  // The move is behind this playlist's window already: one CDN, the common render.
  if (newest !== undefined && newest <= layout.firstMsn) return single();

  const msn = Number(queryParam(job.originUrl.slice(job.originUrl.indexOf('?') + 1), '_HLS_msn'));
  const requested = job.originUrl.includes('?') && Number.isInteger(msn) ? msn : undefined;
  const frozen = layout;
  const listings = job.runtime.listings;
  const history = listingKey(job);
  const { bands, updated } = bandsFor(
    handoffs,
    key,
    frozen,
    (h) =>
      switchPoint(
        frozen,
        requested,
        h.seen === undefined || !info.live ? undefined : listings.listedBy(history, h.seen),
      ),
    (id) => {
      if (!job.state.cdns.has(id)) return undefined;
      const media = cdnPrefixOf(job.state, job.stream.id, id);
      const sign = signedSlots(job, id);
      return { media, key: keyPrefixFor(job.stream, media), ...(sign ? { sign } : {}) };
    },
    cdn,
  );
  if (updated) memory.set(job.session.sid, { ...record, handoffs: updated });
  if (bands.length <= 1) return single();
  // Signed URLs change with the signing epoch: such bodies are not kept.
  if (bands.some((b) => b.sign)) return renderBanded(template, frozen, bands, playlistPrefix(job));
  return shared(template, frozen, bands, playlistPrefix(job));
}

function shared(template: Template, layout: SegmentLayout, bands: readonly Band[], playlist: string): string {
  // Playlist URIs (rendition reports) carry the session's token: only playlists without them share.
  const perSession = template.slots.some((s) => s.role === 'playlist' && s.path !== undefined);
  const key =
    bands.map((b) => `${b.fromMsn} ${b.media} ${b.key}`).join('\n') + (perSession ? '\n' + playlist : '');
  let cache = bodies.get(template);
  const hit = cache?.get(key);
  if (hit !== undefined) return hit;
  const body = renderBanded(template, layout, bands, playlist);
  if (!cache) {
    cache = new Map();
    bodies.set(template, cache);
  }
  if (cache.size >= BODIES_PER_TEMPLATE) cache.delete(cache.keys().next().value as string);
  cache.set(key, body);
  return body;
}
