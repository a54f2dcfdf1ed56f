/**
 * What a Content Steering request tells Switchyard: the player's pathway signals (HLS `_HLS_pathway` /
 * `_HLS_throughput`; DASH `_DASH_pathway` / `_DASH_throughput`, ETSI TS 103 998) and the session's
 * steering memory, which Switchyard carries in the steering URL itself (SERVER-URI, then RELOAD-URI),
 * so any instance of a fleet can answer the next request with no server-side state.
 *
 * Carried parameters (names Switchyard owns, never forwarded anywhere):
 *   sy_listed  — pathways the manifest lists (comma list); others are offered as PATHWAY-CLONES;
 *   sy_last    — the PATHWAY-PRIORITY of the previous answer (comma list), re-served under overload;
 *   sy_demoted — pathways the player abandoned, each `id:untilEpochSeconds` (comma list);
 *   sy_reload  — `1` in every RELOAD-URI: the request follows an answer (SERVER-URI lacks it).
 * A player can only change its own session's ranking by editing them.
 */
import { queryParam } from '../url';

export interface PathwayUse {
  readonly id: string;
  /** Measured throughput on that pathway, bits/s, when the player reported one. */
  readonly throughput?: number;
}

export interface SteeringSignals {
  /** The pathway the player says it is on now. */
  readonly current: string | undefined;
  /** Its throughput (bits/s) on `current`, when reported. */
  readonly throughput: number | undefined;
  /** Every pathway reported used since the last poll (DASH lists; HLS: just the current one). */
  readonly used: readonly PathwayUse[];
  readonly listed: readonly string[] | undefined;
  readonly last: readonly string[] | undefined;
  /** Demoted pathway → epoch seconds until which it stays demoted. */
  readonly demoted: ReadonlyMap<string, number>;
  /** Whether the request came from an answer's RELOAD-URI (not the manifest's SERVER-URI). */
  readonly reloaded: boolean;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** The longest demotion honoured, whatever the URL says (a forged one cannot pin a ranking forever). */
const MAX_DEMOTION_SECONDS = 3600;

function decoded(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).trim();
  } catch {
    return undefined;
  }
}

/** A quoted-string or bare value: `"cdn-a"` and `cdn-a` are the same pathway (players differ). */
function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function ids(raw: string | undefined): string[] | undefined {
  const value = decoded(raw);
  if (value === undefined) return undefined;
  return unquote(value)
    .split(',')
    .map((x) => unquote(x.trim()))
    .filter((x) => ID.test(x));
}

function throughputs(raw: string | undefined): (number | undefined)[] {
  const value = decoded(raw);
  if (value === undefined || value === '') return [];
  return unquote(value)
    .split(',')
    .map((x) => {
      const n = Number(x.trim());
      return x.trim() !== '' && Number.isFinite(n) && n > 0 ? n : undefined;
    });
}

/**
 * Reads a steering request's query. HLS sends one pathway and one throughput; DASH sends comma lists of
 * every service location used since the last poll, with throughputs paired by position (dash.js puts
 * the locations it has no throughput for last, so the throughput list may be shorter).
 */
export function readSignals(query: string, format: 'hls' | 'dash', nowSeconds: number): SteeringSignals {
  const prefix = format === 'hls' ? '_HLS_' : '_DASH_';
  const pathways = ids(queryParam(query, prefix + 'pathway')) ?? [];
  const rates = throughputs(queryParam(query, prefix + 'throughput'));
  const used: PathwayUse[] = pathways.map((id, i) => {
    const t = rates[i];
    return t === undefined ? { id } : { id, throughput: t };
  });
  const last = ids(queryParam(query, 'sy_last'));
  const listed = ids(queryParam(query, 'sy_listed'));
  const demoted = new Map<string, number>();
  for (const entry of (decoded(queryParam(query, 'sy_demoted')) ?? '').split(',')) {
    const [id, until] = entry.split(':');
    const u = Number(until);
    if (id !== undefined && ID.test(id) && Number.isInteger(u) && u > nowSeconds) {
      demoted.set(id, Math.min(u, nowSeconds + MAX_DEMOTION_SECONDS));
    }
  }
  // The player's current pathway: HLS names it; of a DASH list, the one Switchyard ranked first last
  // time if the player still used it, else the first it reports (dash.js lists the fastest first).
  const lastFirst = last?.[0];
  const current = used.find((u) => u.id === lastFirst) ?? used[0];
  return {
    current: current?.id,
    throughput: current?.throughput,
    used,
    listed,
    last,
    demoted,
    reloaded: queryParam(query, 'sy_reload') === '1',
  };
}

/**
 * The session's demotions after this request: a pathway Switchyard ranked first last time that the
 * player has left (it reports only other pathways) was failing for this player, so it is demoted for
 * `demoteSeconds`; a demoted pathway the player reports using again works for it and is forgiven.
 */
export function updateDemotions(
  signals: SteeringSignals,
  configured: ReadonlySet<string>,
  nowSeconds: number,
  demoteSeconds: number,
): Map<string, number> {
  const out = new Map(signals.demoted);
  const lastFirst = signals.last?.[0];
  const usedIds = new Set(signals.used.map((u) => u.id));
  const left =
    lastFirst !== undefined &&
    configured.has(lastFirst) &&
    signals.used.length > 0 &&
    !usedIds.has(lastFirst) &&
    signals.used.some((u) => configured.has(u.id));
  if (left) out.set(lastFirst, nowSeconds + Math.min(demoteSeconds, MAX_DEMOTION_SECONDS));
  const current = signals.current;
  if (current !== undefined && !(left && current === lastFirst)) out.delete(current);
  for (const id of out.keys()) if (!configured.has(id)) out.delete(id);
  return out;
}

/** The policy's ranking with the session's demoted pathways moved last (kept when all are demoted). */
export function applyDemotions(ranked: readonly string[], demoted: ReadonlyMap<string, number>): string[] {
  const ok = ranked.filter((id) => !demoted.has(id));
  if (ok.length === 0) return [...ranked];
  return [...ok, ...ranked.filter((id) => demoted.has(id))];
}

/** The carried parameters for the next steering URL. */
export function carriedQuery(carried: {
  listed?: readonly string[] | undefined;
  last?: readonly string[] | undefined;
  demoted?: ReadonlyMap<string, number> | undefined;
  /** For a RELOAD-URI. */
  reload?: boolean;
}): string {
  const parts: string[] = [];
  if (carried.listed && carried.listed.length > 0) parts.push('sy_listed=' + carried.listed.join(','));
  if (carried.last && carried.last.length > 0) parts.push('sy_last=' + carried.last.join(','));
  if (carried.demoted && carried.demoted.size > 0) {
    parts.push(
      'sy_demoted=' +
        [...carried.demoted]
          .sort((a, b) => a[0].localeCompare(b[0]))
          .map(([id, until]) => `${id}:${until}`)
          .join(','),
    );
  }
  if (carried.reload === true) parts.push('sy_reload=1');
  return parts.join('&');
}
