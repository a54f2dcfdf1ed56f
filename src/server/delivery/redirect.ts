import { decide } from '../decide';
import { SEGMENT_ROUTE } from '../route';
import { cdnPrefixOf, keyPrefixFor, renderWith, signFor } from './prefixes';
import type { DeliveryMode, DocumentJob, DocumentResult } from './types';

/**
 * Redirect mode: media URIs point back at Switchyard (`/s/<token>/seg/<path>`), and the CDN is chosen
 * at the moment each segment is requested (a 302 to it). Playlists place no segments.
 */
export const redirectMode: DeliveryMode = {
  name: 'redirect',
  choose(job) {
    const selection = decide(job.runtime, job.state, job.decision, false);
    return { cdn: selection.cdn, reason: `redirect: per segment (now ${selection.reason})`, delivers: false };
  },
  render(job, choice) {
    const keyBase = keyPrefixFor(job.stream, cdnPrefixOf(job.state, job.stream.id, choice.cdn));
    // Media URIs point at Switchyard (signed per redirect); keys from the CDN carry its token.
    return renderWith(
      job,
      job.sessionBase + SEGMENT_ROUTE + '/',
      keyBase,
      signFor(job.stream, choice.cdn, false),
    );
  },
  documents: { segment: redirectSegment },
};

/** A segment of a redirect-mode session: a 302 to the CDN the policy picks now. */
function redirectSegment(job: DocumentJob): DocumentResult {
  const { claims, stream } = job;
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
    },
    true,
  );
  // Signed per redirect, for the CDN chosen now (one token per epoch, cached).
  const location =
    cdnPrefixOf(job.state, stream.id, selection.cdn) +
    job.state.urlSigners.signPath(
      selection.cdn,
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
      'x-switchyard-cdn': selection.cdn,
      'x-switchyard-reason': selection.reason,
    },
  };
}
