import { failoverMpd } from '../../manifest/dash-steering';
import { hasContentSteering, redundantMaster, type Pathway } from '../../manifest/hls-steering';
import { rankedCdns } from '../decide';
import {
  cdnPrefixOf,
  escapeFor,
  keyPrefixFor,
  playlistPrefix,
  renderWith,
  signFor,
  signedSlots,
  slotMapper,
} from './prefixes';
import type { Slot } from '../../manifest/template';
import type { StreamConfig } from '../../config/schema';
import type { Choice, ManifestJob } from './types';

/*
 * In-manifest failover (streams[].failover: manifest) for rewrite and redirect modes: the entry
 * manifest offers the session's other CDNs too, in the policy's ranking, so a player moves at the
 * first failed segment, before Switchyard's probes have noticed anything.
 * - HLS master: the variants as the session's own (following the policy, with switch points), then
 *   one redundant copy per CDN (the others in ranked order, then in rewrite mode the session's CDN of
 *   the moment) whose media playlist URLs carry a token pinned to that CDN.
 * - DASH MPD: every CDN BaseURL repeated per CDN (serviceLocation, dvb:priority in ranked order).
 */

/** partHoldBack: auto's floor where players fall back inside the player (see withPartHoldBack). */
export const AUTO_PART_HOLD_BACK_MS = 2000;

/**
 * The least PART-HOLD-BACK of the stream's LL-HLS media playlists (ms), or undefined to keep the
 * origin's: auto raises it where the player itself moves to another CDN at a failed segment (HLS
 * redundant copies, steering pathways), so it has the buffer that move takes.
 */
export function partHoldBackFloor(stream: StreamConfig): number | undefined {
  const p = stream.partHoldBack;
  if (p === 'origin') return undefined;
  if (p !== 'auto') return p;
  return stream.mode === 'steering' || stream.failover === 'manifest' ? AUTO_PART_HOLD_BACK_MS : undefined;
}

/** Whether this manifest gets fallbacks: entry manifests of a stream with failover on. */
export function offersFallbacks(job: ManifestJob): boolean {
  const { info } = job.manifest;
  const failover =
    job.stream.failover === 'auto' ? (info.protocol === 'dash' ? 'manifest' : 'none') : job.stream.failover;
  // Steering mode's entry manifests list every CDN already.
  if (failover !== 'manifest' || job.stream.mode === 'steering' || job.state.cdns.size < 2) return false;
  // A DASH MPD shares its SegmentTemplate between BaseURLs: one CDN's URL tokens cannot serve another.
  if (info.protocol === 'dash') return ![...job.state.cdns.values()].some((c) => c.auth !== undefined);
  // An origin with its own Content Steering has pathways of its own: they are not doubled.
  return info.kind === 'master' && !hasContentSteering(job.manifest.template);
}

/** The CDN a failover copy's token pins, when it names one still configured. */
export function pinnedCdn(job: ManifestJob): string | undefined {
  const p = job.session.p;
  return p !== undefined && job.state.cdns.has(p) ? p : undefined;
}

/** A media playlist of a failover copy: all of it on the CDN its token pins. */
export function choosePinned(job: ManifestJob, cdn: string): Choice {
  const media = job.manifest.info.kind === 'media';
  if (media) job.runtime.share.record(cdn, job.now);
  return { cdn, reason: `failover copy pinned to ${cdn}`, delivers: media };
}

export function renderPinned(job: ManifestJob, cdn: string): Buffer {
  const media = cdnPrefixOf(job.state, job.stream.id, cdn);
  return renderWith(job, media, keyPrefixFor(job.stream, media), signFor(job.stream, cdn));
}

/**
 * The entry manifest with fallbacks. `own` is the session's own media prefix (the chosen CDN in
 * rewrite mode, Switchyard's segment route in redirect mode); the other CDNs follow in ranked order.
 */
export function renderWithFallbacks(job: ManifestJob, choice: Choice, own: string): string {
  const { state, stream, session } = job;
  const others = (choice.ranked ?? rankedCdns(state, { cdn: choice.cdn, reason: '' })).filter(
    (id) => id !== choice.cdn,
  );
  const ownKey = keyPrefixFor(stream, cdnPrefixOf(state, stream.id, choice.cdn));
  if (job.manifest.info.protocol === 'dash') {
    const playlist = escapeFor(job, playlistPrefix(job));
    const location = (id: string, media: string, signs: boolean) => ({
      id,
      mapSlot: withTokens(
        job,
        signs ? id : undefined,
        slotMapper({
          playlist,
          media: escapeFor(job, media),
          key: escapeFor(job, keyPrefixFor(stream, cdnPrefixOf(state, stream.id, id))),
        }),
      ),
    });
    return failoverMpd(job.manifest.template, [
      // Redirect mode's own location points at Switchyard, which signs each redirect itself.
      location(choice.cdn, own, job.stream.mode !== 'redirect'),
      ...others.map((id) => location(id, cdnPrefixOf(state, stream.id, id), true)),
    ]);
  }
  const primary: Pathway = {
    id: choice.cdn,
    mapSlot: withTokens(
      job,
      job.stream.mode === 'redirect' ? undefined : choice.cdn,
      slotMapper({ playlist: playlistPrefix(job), media: own, key: ownKey }),
    ),
  };
  // In rewrite mode the session's own copy follows the policy, so it may later stand on any CDN (a
  // rebalance, a move): a copy pinned to the CDN it has now comes last, so that every CDN has a
  // copy that stays on it whatever the own copy does (else a session moved onto the one CDN its
  // backup pins has no way out when that CDN fails).
  const pinnedTo = job.stream.mode === 'redirect' ? others : [...others, choice.cdn];
  const backups: Pathway[] = pinnedTo.map((id) => {
    const pinned = state.signer.mint(stream.id, job.now, session.sid, { issuedAt: session.iat, pathway: id });
    const media = cdnPrefixOf(state, stream.id, id);
    return {
      id,
      mapSlot: withTokens(
        job,
        id,
        slotMapper({
          playlist: state.publicBase + 's/' + pinned.token + '/' + stream.id + '/',
          media,
          key: keyPrefixFor(stream, media),
        }),
      ),
    };
  });
  return redundantMaster(job.manifest.template, primary, backups);
}

/** A slot mapper whose CDN URIs carry `cdn`'s tokens when that CDN signs (cdns[].auth). */
function withTokens(
  job: ManifestJob,
  cdn: string | undefined,
  map: (slot: Slot) => string,
): (slot: Slot) => string {
  const signed = cdn === undefined ? undefined : signedSlots(job, cdn);
  return signed ? (slot) => map(signed(slot)) : map;
}
