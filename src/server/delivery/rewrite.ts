import { decide, type SwitchVeto } from '../decide';
import { cdnPrefixOf, keyPrefixFor, renderWith, signFor } from './prefixes';
import type { Choice, DeliveryMode, ManifestJob } from './types';

/**
 * Rewrite mode: every media playlist is rendered for one CDN, the one the policy picks on each
 * reload. A live session moves only to a CDN that already serves the playlist's newest segment.
 */
export const rewriteMode: DeliveryMode = {
  name: 'rewrite',
  choose: chooseSafeSwitch,
  render(job, choice) {
    const media = cdnPrefixOf(job.state, job.stream.id, choice.cdn);
    return renderWith(job, media, keyPrefixFor(job.stream, media), signFor(job.stream, choice.cdn));
  },
};

/** The policy's CDN for this manifest; media playlists place the session's segments there. */
export function chooseRewrite(job: ManifestJob, veto?: SwitchVeto): Choice {
  const media = job.manifest.info.kind === 'media';
  const selection = decide(job.runtime, job.state, job.decision, media, veto);
  return { cdn: selection.cdn, reason: selection.reason, delivers: media };
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
