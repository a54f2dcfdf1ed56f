import { steeringMpd } from '../../manifest/dash-steering';
import { steeringMaster, type Pathway } from '../../manifest/hls-steering';
import { answerSteering, type SteeringOutcome } from '../../steering/answer';
import { CLONE_PATHWAY_PARAM } from '../../steering/response';
import { carriedQuery, readSignals } from '../../steering/signals';
import { queryParam } from '../../url';
import { decide, rankedCdns } from '../decide';
import { cdnPrefixOf, escapeFor, keyPrefixFor, playlistPrefix, signedSlots, slotMapper } from './prefixes';
import { pinnedCdn, renderPinned } from './failover';
import { renderMedia } from './handoff';
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
    // A cloned pathway (PATHWAY-CLONES, for a CDN added since the master) names its CDN in the query.
    const cloned = queryParam(job.query, CLONE_PATHWAY_PARAM);
    const pinned = cloned !== undefined && job.state.cdns.has(cloned) ? cloned : job.session.p;
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
      // A pathway's playlist stays on its CDN by construction; an unpinned one (its pathway's CDN
      // left the config, or opened without a steering master) keeps listed segments where they were.
      if (pinnedCdn(job) !== undefined) return renderPinned(job, choice.cdn);
      return renderMedia(job, choice.cdn);
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
    serverUri: steeringServerUri(job, 'steering.json', ranked),
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
    {
      serverUri: steeringServerUri(job, 'dash-steering.json', ranked),
      defaultServiceLocation: first,
      queryBeforeStart: stream.steering.queryBeforeStart,
    },
  );
}

/**
 * The session's steering URL as the manifest gives it: it carries which pathways the manifest lists
 * (the others are offered as clones) and the ranking it starts from (a player that leaves the first at
 * once had it fail), so the first steering request can use them (see src/steering/signals.ts).
 */
function steeringServerUri(job: ManifestJob, file: string, ranked: readonly string[]): string {
  return job.sessionBase + file + '?' + carriedQuery({ listed: ranked, last: ranked });
}

/**
 * The steering manifest of a session (HLS Content Steering, or ETSI TS 103 998's DCSM): pathways ranked
 * by the policy now, with the session's demotions applied (src/steering/answer.ts). The player's
 * current pathway and measured throughput are signals for the policy. Only a steering-mode stream's
 * session reaches it (the manifest handler answers the others 410 or 404); a decision that cannot be
 * made answers the previous one with a longer TTL, or 429 + Retry-After, never a 5xx.
 */
function steeringDocument(job: DocumentJob): DocumentResult {
  const { state, stream, claims } = job;
  const format = job.format ?? 'hls';
  const now = job.runtime.now();
  const signals = readSignals(job.query, format, Math.floor(now / 1000));
  const current = signals.current;
  let ranked: string[] | Error;
  let reason: string;
  try {
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
        ...(current !== undefined && state.cdns.has(current) ? { previous: current } : {}),
        // The player's measured throughput, in CMCD's unit (kbps), for policies that read CMCD mtp.
        ...(signals.throughput !== undefined ? { cmcd: { mtp: Math.round(signals.throughput / 1000) } } : {}),
      },
      // HLS pathways record shares on their media playlists; a DASH player's MPD is not reloaded per
      // pathway, so its steering requests are where its CDN is placed.
      format === 'dash',
    );
    ranked = rankedCdns(state, selection);
    reason = selection.reason;
  } catch (err) {
    ranked = err instanceof Error ? err : new Error(String(err));
    reason = `no decision now (${ranked.message})`;
  }
  const file = format === 'hls' ? 'steering.json' : 'dash-steering.json';
  const outcome = answerSteering(
    {
      format,
      signals,
      configured: [...state.cdns.keys()],
      mediaPrefix: (id) => (state.cdns.has(id) ? cdnPrefixOf(state, stream.id, id) : undefined),
      reloadBase: state.publicBase + 's/' + job.token + '/' + file,
      ttlSeconds: stream.steering.ttl / 1000,
      startupTtlSeconds: stream.steering.startupTtl / 1000,
      nowSeconds: Math.floor(now / 1000),
    },
    ranked,
  );
  const why =
    (outcome.fallback ? `previous decision re-served: ${reason}` : reason) +
    (outcome.demoted.size > 0
      ? ` (demoted for this session: ${[...outcome.demoted.keys()].join(', ')})`
      : '');
  return { status: outcome.status, body: outcome.body, headers: steeringHeaders(outcome, claims.sid, why) };
}

/**
 * A steering answer's headers: for every 200 one object literal of one shape (the same names in the
 * same order as before). Not `{ ...outcome.headers, name: value, ... }`: on Node 20 an object spread
 * followed by a literal key gets a new hidden class at nearly every evaluation (a map and its
 * descriptors, allocated in the old generation, ~5 µs each). At 2,500 steering answers a second that
 * grew the heap ~6 MB/s (~2 MB/s with the literal), a full mark-compact every ~10 s, each holding the
 * event loop ~100 ms on the server's core: the bench's steering viewers ramp failed at 25,000 viewers
 * on p99 (issue 16).
 */
export function steeringHeaders(
  outcome: SteeringOutcome,
  session: string,
  reason: string,
): Record<string, string> {
  const h = outcome.headers;
  const cdn = outcome.priority[0];
  if (h['retry-after'] === undefined && cdn !== undefined) {
    return {
      'content-type': h['content-type'],
      'cache-control': h['cache-control'],
      'x-switchyard-session': session,
      'x-switchyard-cdn': cdn,
      'x-switchyard-reason': reason,
    };
  }
  // A 429 (no ranking to name; rare, and only under overload): the outcome's headers as they come.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) if (value !== undefined) headers[name] = value;
  headers['x-switchyard-session'] = session;
  if (cdn !== undefined) headers['x-switchyard-cdn'] = cdn;
  headers['x-switchyard-reason'] = reason;
  return headers;
}
