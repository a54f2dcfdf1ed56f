/**
 * LL-HLS blocking playlist reloads (RFC 8216bis §6.2.5.2) as the server side must treat them: reject
 * at once what can never be answered in time, hold the rest at most three target durations, and let
 * no single client hold more than its share of them. Pure functions plus one small counter.
 */
import { SwitchyardError } from '../errors';
import type { BlockingEdge } from '../manifest/hls';
import { originMaxAge } from '../manifest/load';
import { queryParam, withoutQueryParam } from '../url';

export interface BlockingDirectives {
  readonly msn: number;
  readonly part: number | undefined;
}

const INDEX = /^\d{1,15}$/;

/**
 * The `_HLS_msn` / `_HLS_part` directives of a request; undefined when it has neither (not a blocking
 * reload). `_HLS_part` without `_HLS_msn`, or a value that is not a decimal integer, is a 400.
 */
export function blockingDirectives(query: string): BlockingDirectives | undefined {
  if (query === '' || !query.includes('_HLS_')) return undefined;
  const msn = queryParam(query, '_HLS_msn');
  const part = queryParam(query, '_HLS_part');
  if (msn === undefined) {
    if (part === undefined) return undefined;
    throw invalid('_HLS_part without _HLS_msn');
  }
  if (!INDEX.test(msn)) throw invalid('_HLS_msn is not a non-negative integer');
  if (part !== undefined && !INDEX.test(part)) throw invalid('_HLS_part is not a non-negative integer');
  return { msn: Number(msn), part: part === undefined ? undefined : Number(part) };
}

/** The delivery directives of RFC 8216bis §6.2.5 as they appear in a playlist request's query. */
const DIRECTIVES = ['_HLS_msn', '_HLS_part', '_HLS_skip'] as const;

/** Whether a query carries any delivery directive (blocking or delta update). */
export function hasDirectives(query: string): boolean {
  return query.includes('_HLS_') && DIRECTIVES.some((d) => queryParam(query, d) !== undefined);
}

/**
 * `url` without its delivery directives: the plain playlist they were asked of (its other query
 * parameters, in their order, stay).
 */
export function withoutDirectives(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  let query = url.slice(q + 1);
  for (const d of DIRECTIVES) query = withoutQueryParam(query, d);
  return url.slice(0, q) + (query === '' ? '' : '?' + query);
}

/**
 * Whether a playlist `edge` already holds what the directives wait for: segment `msn` (or a later
 * one), or part `part` of the segment in progress after `msn - 1`. A part index past the parts
 * listed so far is not there yet.
 */
export function satisfiedBy(d: BlockingDirectives, edge: BlockingEdge): boolean {
  if (edge.lastMsn >= d.msn) return true;
  return d.part !== undefined && edge.lastMsn + 1 === d.msn && edge.partsInProgress > d.part;
}

/**
 * How long an origin's answer to a blocking reload stays fresh in Switchyard's cache. Its URL names
 * what it waited for, and an answer that holds it answers every later request with the same
 * directives (RFC 8216bis §6.2.5.2 asks for a playlist that contains the segment or part, not for
 * the newest one): so identical blocking reloads share one origin request for a target duration,
 * not for the half part target of a plain reload, and never longer than the origin's max-age. An
 * answer that does not hold it (an origin that ignores the directives) keeps the plain TTL.
 */
export function blockingAnswerTtl(
  d: BlockingDirectives,
  edge: BlockingEdge | undefined,
  plainTtlMs: number,
  originMaxAgeMs: number | undefined,
): number {
  if (edge === undefined || !satisfiedBy(d, edge)) return plainTtlMs;
  const ttl = Math.max(plainTtlMs, Math.round(edge.targetDuration * 1000));
  return originMaxAgeMs === undefined ? ttl : Math.min(ttl, originMaxAgeMs);
}

/**
 * The TTL of a playlist cached under `url`: blockingAnswerTtl when `url` is a blocking reload (its
 * directives were checked before it was fetched), else `ttlMs` as it is.
 */
export function cachedAnswerTtl(
  url: string,
  edge: BlockingEdge | undefined,
  ttlMs: number,
  cacheControl: string | undefined,
): number {
  const q = url.indexOf('?');
  if (q < 0) return ttlMs;
  let d: BlockingDirectives | undefined;
  try {
    d = blockingDirectives(url.slice(q + 1));
  } catch {
    return ttlMs;
  }
  return d === undefined ? ttlMs : blockingAnswerTtl(d, edge, ttlMs, originMaxAge(cacheControl));
}

/**
 * Directives apply only to a playlist that is still live: one with EXT-X-ENDLIST (or of type VOD)
 * has nothing to wait for or skip, so the server ignores them and answers the whole playlist at once
 * (RFC 8216bis §6.2.5). A master is not live either.
 */
export function directivesApply(info: { readonly live: boolean }): boolean {
  return info.live;
}

/** Parts a blocking request may run ahead of the playlist: 3 s of parts when parts are under 1 s, else 3. */
export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? Math.ceil(3 / partTarget) : 3;
}

/**
 * 400 at once for a request the playlist cannot satisfy soon: `_HLS_msn` more than two past the last
 * segment, or `_HLS_part` further past the last part than the Advance Part Limit.
 */
export function checkDirectives(d: BlockingDirectives, edge: BlockingEdge): void {
  if (d.msn > edge.lastMsn + 2) {
    throw invalid(`_HLS_msn=${d.msn} is more than two past the last segment (${edge.lastMsn})`);
  }
  if (d.part === undefined || edge.partTarget === undefined || !(edge.partTarget > 0)) return;
  const inProgress = edge.lastMsn + 1;
  if (d.msn < inProgress) return;
  const limit = advancePartLimit(edge.partTarget);
  const perSegment = Math.max(1, Math.ceil(edge.targetDuration / edge.partTarget));
  const ahead = (d.msn - inProgress) * perSegment + d.part - (edge.partsInProgress - 1);
  if (ahead > limit) {
    throw invalid(`_HLS_part=${d.part} of _HLS_msn=${d.msn} is past the Advance Part Limit (${limit} parts)`);
  }
}

/** Longest a blocking reload is held before it is answered 503: three target durations. */
export function holdLimitMs(edge: Pick<BlockingEdge, 'targetDuration'>): number {
  return Math.max(1, Math.round(3 * edge.targetDuration * 1000));
}

/**
 * `work`, or BLOCKING_RELOAD_TIMEOUT (503) once `ms` have passed. The work goes on (its answer fills
 * the cache for the next reload); only this request stops waiting for it.
 */
export function holdAtMost<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      work.catch(() => undefined);
      reject(
        new SwitchyardError(
          'BLOCKING_RELOAD_TIMEOUT',
          `the requested segment or part was not available within ${ms} ms (three target durations)`,
          { details: { holdMs: ms } },
        ),
      );
    }, ms);
    timer.unref();
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** In-flight blocking reloads per client address, each address capped. */
export class PerClientLimit {
  private readonly active = new Map<string, number>();

  /** Takes a place for `client`, or returns false when it already holds `cap`. */
  tryAcquire(client: string, cap: number): boolean {
    const n = this.active.get(client) ?? 0;
    if (n >= cap) return false;
    this.active.set(client, n + 1);
    return true;
  }

  release(client: string): void {
    const n = this.active.get(client) ?? 0;
    if (n <= 1) this.active.delete(client);
    else this.active.set(client, n - 1);
  }

  /** Addresses holding at least one place (bounded by the number of requests in flight). */
  get clients(): number {
    return this.active.size;
  }
}

function invalid(message: string): SwitchyardError {
  return new SwitchyardError('BLOCKING_RELOAD_INVALID', message);
}
