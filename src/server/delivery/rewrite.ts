import { decide, rankedCdns, type SwitchVeto } from '../decide';
import { choosePinned, offersFallbacks, pinnedCdn, renderPinned, renderWithFallbacks } from './failover';
import { renderMedia } from './handoff';
import { cdnPrefixOf } from './prefixes';
import type { Choice, DeliveryMode, ManifestJob } from './types';

/**
 * Rewrite mode: media playlists point at the CDN the policy picks on each reload, for the segments
 * listed from then on (those listed before keep their CDN: see ./handoff.ts). A live session moves
 * only to a CDN that already serves the playlist's newest segment. With failover on, masters and MPDs
 * also offer the other CDNs (./failover.ts); a failover copy's playlists stay on the CDN they pin.
 */
export const rewriteMode: DeliveryMode = {
  name: 'rewrite',
  choose(job) {
    const pinned = pinnedCdn(job);
    return pinned === undefined ? chooseSafeSwitch(job) : choosePinned(job, pinned);
  },
  render(job, choice) {
    if (pinnedCdn(job) !== undefined) return renderPinned(job, choice.cdn);
    if (offersFallbacks(job))
      return renderWithFallbacks(job, choice, cdnPrefixOf(job.state, job.stream.id, choice.cdn));
    return renderMedia(job, choice.cdn);
  },
};

/** The policy's CDN for this manifest; media playlists place the session's segments there. */
export function chooseRewrite(job: ManifestJob, veto?: SwitchVeto): Choice {
  const media = job.manifest.info.kind === 'media';
  const selection = decide(job.runtime, job.state, job.decision, media, veto);
  return {
    cdn: selection.cdn,
    reason: selection.reason,
    delivers: media,
    // Only manifests that offer fallbacks need the whole ranking (not the hot media reloads).
    ...(offersFallbacks(job) ? { ranked: rankedCdns(job.state, selection) } : {}),
  };
}

/** As chooseRewrite, with a live session's move vetoed until the new CDN has the newest segment. */
function chooseSafeSwitch(job: ManifestJob): Choice {
  const newest = job.manifest.info.live ? job.manifest.info.newestSegmentPath : undefined;
  if (newest === undefined) return chooseRewrite(job);
  let pendingCheck: string | undefined;
  const veto: SwitchVeto = (from, to) => {
    // Asked the way a player will ask it: with the CDN's token, if it signs.
    const url =
      cdnPrefixOf(job.state, job.stream.id, to) +
      job.state.urlSigners.signPath(to, job.stream.id, newest, job.now);
    const check = job.runtime.segments.check(url);
    if (check === 'pending') pendingCheck = url;
    return check === 'available'
      ? undefined
      : `stayed on ${from}: ${to} ${check === 'pending' ? 'is being checked for' : 'does not serve'} the newest segment`;
  };
  const choice = chooseRewrite(job, veto);
  return pendingCheck === undefined ? choice : { ...choice, pendingCheck };
}
