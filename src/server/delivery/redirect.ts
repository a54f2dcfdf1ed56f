import { decide, rankedCdns } from '../decide';
import { SEGMENT_ROUTE } from '../route';
import { readRequestCmcd } from '../qoe-request';
import { choosePinned, offersFallbacks, pinnedCdn, renderPinned, renderWithFallbacks } from './failover';
import { cdnPrefixOf, keyPrefixFor, renderWith, signFor } from './prefixes';
import type { DeliveryMode, DocumentJob, DocumentResult } from './types';

/**
 * Redirect mode: media URIs point back at Switchyard (`/s/<token>/seg/<path>`), and the CDN is chosen
 * at the moment each segment is requested (a 302 to it). Playlists place no segments.
 */
export const redirectMode: DeliveryMode = {
  name: 'redirect',
  choose(job) {
    // A failover copy's media playlist: straight to the CDN it pins (that is what it is for).
    const pinned = pinnedCdn(job);
    if (pinned !== undefined) return choosePinned(job, pinned);
    const selection = decide(job.runtime, job.state, job.decision, false);
    return {
      cdn: selection.cdn,
      reason: `redirect: per segment (now ${selection.reason})`,
      delivers: false,
      ...(offersFallbacks(job) ? { ranked: rankedCdns(job.state, selection) } : {}),
    };
  },
  render(job, choice) {
    if (pinnedCdn(job) !== undefined) return renderPinned(job, choice.cdn);
    const own = job.sessionBase + SEGMENT_ROUTE + '/';
    if (offersFallbacks(job)) return renderWithFallbacks(job, choice, own);
    const keyBase = keyPrefixFor(job.stream, cdnPrefixOf(job.state, job.stream.id, choice.cdn));
    // Media URIs point at Switchyard (signed per redirect); keys from the CDN carry its token.
    return renderWith(job, own, keyBase, signFor(job.stream, choice.cdn, false));
  },
  documents: { segment: redirectSegment },
};

/**
 * A segment of a redirect-mode session: a 302 to the CDN the policy picks now, unless the request is
 * the session's retry of a redirect that just failed (or follows one): then to the next healthy CDN of
 * the ranking.
 */
function redirectSegment(job: DocumentJob): DocumentResult {
  const { claims, stream, runtime } = job;
  const memory = runtime.redirectRetries;
  // CMCD on a segment request: what the player says of the CDN it fetched the previous ones from.
  const cmcd = readRequestCmcd(job.runtime, job.query, job.req, 'segment', claims.sid);
  const selection = decide(
    job.runtime,
    job.state,
    {
      streamId: stream.id,
      protocol: 'hls',
      live: true,
      sessionId: claims.sid,
      startedAt: claims.iat * 1000,
      req: job.req,
      ...(cmcd === undefined ? {} : { cmcd }),
    },
    // Shares, metrics and the decision log record the policy's choice (a retry's move below is rare).
    true,
  );
  const now = runtime.now();
  // One request is a path, its query and its byte range (LL-HLS parts share their segment's path);
  // CMCD data differs between a request and its retry (buffer length, throughput), so it is left out.
  const range = job.req.headers.range;
  const query = job.query
    .split('&')
    .filter((p) => !/^CMCD=/i.test(p))
    .join('&');
  const request = `${job.path}?${query}${range === undefined ? '' : `|${range}`}`;
  let { cdn, reason } = selection;
  const suspect = memory.suspect(claims.sid, request, now);
  if (suspect?.cdn === cdn) {
    const views = runtime.cdnViews(now);
    const next = rankedCdns(job.state, selection).find(
      (id) => id !== suspect.cdn && views.find((v) => v.id === id)?.healthy === true,
    );
    if (next !== undefined) {
      cdn = next;
      reason = `${suspect.reason}: next ranked`;
    }
  }
  memory.note(claims.sid, request, cdn, now);
  // Signed per redirect, for the CDN chosen now (one token per epoch, cached).
  const location =
    cdnPrefixOf(job.state, stream.id, cdn) +
    job.state.urlSigners.signPath(
      cdn,
      stream.id,
      job.path + (job.query === '' ? '' : '?' + job.query),
      job.runtime.now(),
    );
  return {
    status: 302,
    body: '',
    headers: {
      location,
      'cache-control': 'no-store',
      'x-switchyard-session': claims.sid,
      'x-switchyard-cdn': cdn,
      'x-switchyard-reason': reason,
    },
  };
}
