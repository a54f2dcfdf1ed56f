/**
 * The steering manifest Switchyard answers (HLS Content Steering §"Steering Manifest"; DASH-IF Content
 * Steering / ETSI TS 103 998 "DCSM"): a pure function of the ranking, the TTL, the reload URL and the
 * pathways to clone.
 *
 * - HLS: `VERSION`, `TTL`, `RELOAD-URI`, `PATHWAY-PRIORITY`, `PATHWAY-CLONES`.
 * - DASH: the same keys (ETSI TS 103 998 names them so; dash.js and shaka read `PATHWAY-PRIORITY`), plus
 *   `SERVICE-LOCATION-PRIORITY`, the key of an early DASH-IF draft, for older clients.
 */

export interface UriReplacement {
  /** Replaces the host name of the base pathway's URIs (DASH: its BaseURLs; HLS: its playlists). */
  readonly HOST?: string;
  /** Query parameters added to the base pathway's URIs. */
  readonly PARAMS?: Readonly<Record<string, string>>;
  /** HLS: STABLE-VARIANT-ID → the clone's URI of that variant. */
  readonly 'PER-VARIANT-URIS'?: Readonly<Record<string, string>>;
  /** HLS: STABLE-RENDITION-ID → the clone's URI of that rendition. */
  readonly 'PER-RENDITION-URIS'?: Readonly<Record<string, string>>;
}

export interface PathwayClone {
  readonly 'BASE-ID': string;
  readonly ID: string;
  readonly 'URI-REPLACEMENT': UriReplacement;
}

export interface SteeringAnswer {
  readonly format: 'hls' | 'dash';
  readonly priority: readonly string[];
  readonly ttlSeconds: number;
  readonly reloadUri: string;
  readonly clones?: readonly PathwayClone[];
}

export function steeringDocument(answer: SteeringAnswer): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    VERSION: 1,
    TTL: Math.max(1, Math.round(answer.ttlSeconds)),
    'RELOAD-URI': answer.reloadUri,
    'PATHWAY-PRIORITY': [...answer.priority],
  };
  if (answer.format === 'dash') doc['SERVICE-LOCATION-PRIORITY'] = [...answer.priority];
  if (answer.clones && answer.clones.length > 0) doc['PATHWAY-CLONES'] = answer.clones;
  return doc;
}

/** The parameter of a cloned HLS pathway's playlist URLs that names the pathway (see clones below). */
export const CLONE_PATHWAY_PARAM = 'sy_pathway';

/**
 * Pathways for CDNs the manifest does not list (added to the config after the player loaded it), as
 * clones of a listed one.
 *
 * - HLS: an HLS pathway's URIs are Switchyard's own playlist URLs (the token pins the pathway), so a
 *   clone keeps the host and adds `sy_pathway=<cdn>`, which re-pins its playlists to that CDN (hls.js
 *   applies PARAMS to every variant and rendition URI of the clone).
 * - DASH: a service location is a BaseURL on the CDN; a clone replaces the host, which is possible only
 *   when the new CDN's prefix differs from a listed one's in its host name alone (same scheme, port,
 *   path and query): clients rebuild the URL from the base one with the new host.
 */
export function clonesFor(
  format: 'hls' | 'dash',
  listed: readonly string[],
  configured: readonly string[],
  mediaPrefix: (cdn: string) => string | undefined,
): PathwayClone[] {
  const base = listed[0];
  if (base === undefined) return [];
  const out: PathwayClone[] = [];
  for (const id of configured) {
    if (listed.includes(id)) continue;
    if (format === 'hls') {
      out.push({ 'BASE-ID': base, ID: id, 'URI-REPLACEMENT': { PARAMS: { [CLONE_PATHWAY_PARAM]: id } } });
      continue;
    }
    const target = parse(mediaPrefix(id));
    if (!target) continue;
    const match = listed.find((l) => {
      const from = parse(mediaPrefix(l));
      return (
        from !== undefined &&
        from.protocol === target.protocol &&
        from.port === target.port &&
        from.pathname === target.pathname &&
        from.search === target.search
      );
    });
    if (match !== undefined)
      out.push({ 'BASE-ID': match, ID: id, 'URI-REPLACEMENT': { HOST: target.hostname } });
  }
  return out;
}

function parse(url: string | undefined): URL | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
