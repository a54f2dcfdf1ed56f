import type { CdnId, PolicyIssue } from './types';

/** A problem for every CDN id a policy's options name that the config does not have. */
export function unknownCdns(
  named: readonly (readonly [path: (string | number)[], id: string])[],
  cdnIds: readonly CdnId[],
): PolicyIssue[] {
  return named
    .filter(([, id]) => !cdnIds.includes(id))
    .map(([path, id]) => ({ path, message: `unknown CDN "${id}" (expected one of ${cdnIds.join(', ')})` }));
}
