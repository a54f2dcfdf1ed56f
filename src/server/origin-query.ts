/**
 * What of a player's query string reaches the origin and the cache key. By default only the LL-HLS
 * delivery directives (`_HLS_msn`, `_HLS_part`, `_HLS_skip`, in that order) and the parameters a
 * stream lists in `originQuery` (e.g. an origin's signed-URL token, in the order listed), each at most
 * once (the first occurrence wins); everything else a viewer adds is dropped. So throwaway query
 * strings cannot make one playlist into thousands of cache entries and origin fetches.
 */
const DIRECTIVES = ['_HLS_msn', '_HLS_part', '_HLS_skip'] as const;

export function originQuery(query: string, allowlist: readonly string[]): string {
  if (query === '') return '';
  const first = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!first.has(name)) first.set(name, pair);
  }
  const kept: string[] = [];
  for (const name of DIRECTIVES) {
    const pair = first.get(name);
    if (pair !== undefined) kept.push(pair);
  }
  for (const name of allowlist) {
    const pair = first.get(name);
    if (pair !== undefined && !(DIRECTIVES as readonly string[]).includes(name)) kept.push(pair);
  }
  return kept.join('&');
}
