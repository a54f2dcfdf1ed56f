import { steeringMpd } from '../../manifest/dash-steering';
import { steeringMaster, type Pathway } from '../../manifest/hls-steering';
import { queryParam } from '../../url';
import { decide, rankedCdns } from '../decide';
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
import { chooseRewrite } from './rewrite';
import type { DeliveryMode, DocumentJob, DocumentResult, ManifestJob } from './types';

/**
 * Content Steering mode: the entry manifest lists every CDN (HLS pathways, DASH service locations),
 * the player picks one, and Switchyard's steering manifest ranks them per session. An HLS pathway's
 * media playlists are pinned to that pathway by their session token.
 */
export const steeringMode: DeliveryMode = {
  name: 'steering',
  choose(job) {
    if (listsEveryCdn(job)) {
      const selection = decide(job.runtime, job.state, job.decision, false);
      const ranked = rankedCdns(job.state, selection);
      const what = job.manifest.info.protocol === 'hls' ? 'pathways' : 'service locations';
      return {
        cdn: selection.cdn,
        reason: `steering: ${what} ${ranked.join(', ')}`,
        ranked,
        delivers: false,
      };
    }
    const pinned = job.session.p;
    if (pinned !== undefined && job.state.cdns.has(pinned)) {
      // A media playlist of a steering pathway: the player chose the pathway, the token pins it.
      const media = job.manifest.info.kind === 'media';
      if (media) job.runtime.share.record(pinned, job.now);
      return { cdn: pinned, reason: `steering: pathway ${pinned}`, delivers: media };
    }
    return chooseRewrite(job);
  },
  render(job, choice) {
    if (!listsEveryCdn(job)) {
      const media = cdnPrefixOf(job.state, job.stream.id, choice.cdn);
      return renderWith(job, media, keyPrefixFor(job.stream, media), signFor(job.stream, choice.cdn));
    }
    const ranked = choice.ranked ?? [choice.cdn];
    return job.manifest.info.protocol === 'hls'
      ? hlsMaster(job, ranked, choice.cdn)
      : dashMpd(job, ranked, choice.cdn);
  },
  documents: { steering: steeringDocument },
};

/** An HLS master or any DASH MPD: the manifests that carry one copy per CDN. */
function listsEveryCdn(job: ManifestJob): boolean {
  const info = job.manifest.info;
  return info.protocol === 'dash' || info.kind === 'master';
}

/** A pathway per CDN; each pathway's media playlists carry a token pinned to it. */
function hlsMaster(job: ManifestJob, ranked: readonly string[], first: string): string {
  const { state, stream, session } = job;
  const pathways: Pathway[] = ranked.map((id) => {
    const pinned = state.signer.mint(stream.id, job.now, session.sid, { issuedAt: session.iat, pathway: id });
    const media = cdnPrefixOf(state, stream.id, id);
    const map = slotMapper({
      playlist: state.publicBase + 's/' + pinned.token + '/' + stream.id + '/',
      media,
      key: keyPrefixFor(stream, media),
    });
    // Each pathway's CDN URIs in the master (EXT-X-SESSION-DATA) carry that CDN's token.
    const signed = signedSlots(job, id);
    return { id, mapSlot: signed ? (slot) => map(signed(slot)) : map };
  });
  return steeringMaster(job.manifest.template, pathways, {
    serverUri: job.sessionBase + 'steering.json',
    initialPathway: first,
  });
}

/** One MPD for every CDN: a BaseURL per CDN (serviceLocation), the DCSM ranks them per session. */
function dashMpd(job: ManifestJob, ranked: readonly string[], first: string): string {
  const { state, stream } = job;
  const playlist = escapeFor(job, playlistPrefix(job));
  // One SegmentTemplate serves every service location, so it carries every signing CDN's token.
  const template = state.urlSigners.none
    ? job.manifest.template
    : state.urlSigners.templateForAll(job.manifest, stream.id, ranked, job.now, {
        media: true,
        keys: stream.keys.via === 'cdn',
        xml: true,
      });
  return steeringMpd(
    template,
    ranked.map((id) => {
      const media = cdnPrefixOf(state, stream.id, id);
      return {
        id,
        mapSlot: slotMapper({
          playlist,
          media: escapeFor(job, media),
          key: escapeFor(job, keyPrefixFor(stream, media)),
        }),
      };
    }),
    { serverUri: job.sessionBase + 'dash-steering.json', defaultServiceLocation: first },
  );
}

/**
 * The steering manifest of a session (HLS Content Steering, or DASH-IF's DCSM): pathways ranked by
 * the policy now. The player's current pathway and measured throughput are signals for the policy.
 */
function steeringDocument(job: DocumentJob): DocumentResult {
  const { state, stream, claims } = job;
  const format = job.format ?? 'hls';
  const prefix = format === 'hls' ? '_HLS_' : '_DASH_';
  const rawPathway = queryParam(job.query, prefix + 'pathway');
  const pathway = rawPathway === undefined ? undefined : safeDecode(rawPathway);
  const throughput = Number(queryParam(job.query, prefix + 'throughput'));
  const selection = decide(
    job.runtime,
    state,
    {
      streamId: stream.id,
      protocol: format,
      live: true,
      sessionId: claims.sid,
      startedAt: claims.iat * 1000,
      req: job.req,
      ...(pathway !== undefined && state.cdns.has(pathway) ? { previous: pathway } : {}),
      // The player's measured throughput, in CMCD's unit (kbps), for policies that read CMCD mtp.
      ...(Number.isFinite(throughput) && throughput > 0
        ? { cmcd: { mtp: Math.round(throughput / 1000) } }
        : {}),
    },
    // HLS pathways record shares on their media playlists; a DASH player's MPD is not reloaded per
    // pathway, so its steering requests are where its CDN is placed.
    format === 'dash',
  );
  const ranked = rankedCdns(state, selection);
  const ttl = Math.max(1, Math.round(stream.steering.ttl / 1000));
  const reload =
    state.publicBase + 's/' + job.token + '/' + (format === 'hls' ? 'steering.json' : 'dash-steering.json');
  const doc =
    format === 'hls'
      ? { VERSION: 1, TTL: ttl, 'RELOAD-URI': reload, 'PATHWAY-PRIORITY': ranked }
      : { VERSION: 1, TTL: ttl, 'RELOAD-URI': reload, 'SERVICE-LOCATION-PRIORITY': ranked };
  return {
    status: 200,
    body: JSON.stringify(doc),
    headers: {
      'content-type': 'application/json',
      'cache-control': `private, max-age=${ttl}`,
      'x-switchyard-session': claims.sid,
      'x-switchyard-cdn': selection.cdn,
      'x-switchyard-reason': selection.reason,
    },
  };
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
