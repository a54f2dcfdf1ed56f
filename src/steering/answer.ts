/**
 * One steering request answered, as a pure function of what the request says, what the policy ranked
 * (or that it could not) and the config: demotions, clones, the carried state for the next request,
 * and the overload rule (HLS Content Steering and ETSI TS 103 998 clients stop steering on 410 and back
 * off on 429 + Retry-After; a 5xx would just make them retry at once).
 */
import { carriedQuery, applyDemotions, updateDemotions, type SteeringSignals } from './signals';
import { clonesFor, steeringDocument } from './response';

/** How long a pathway the player abandoned stays last for its session (hls.js penalises 5 minutes). */
export const DEMOTE_SECONDS = 300;
/** Under overload the previous ranking is re-served with its TTL multiplied by this. */
export const OVERLOAD_TTL_FACTOR = 4;

export interface SteeringContext {
  readonly format: 'hls' | 'dash';
  readonly signals: SteeringSignals;
  /** Configured CDN ids, in config order. */
  readonly configured: readonly string[];
  /** A CDN's media prefix (DASH clones compare them). */
  readonly mediaPrefix: (cdn: string) => string | undefined;
  /** The steering URL without a query (RELOAD-URI gets the carried state appended). */
  readonly reloadBase: string;
  readonly ttlSeconds: number;
  /**
   * The least TTL of the answer to a player's first request, when it names no pathway yet (it is
   * still starting up): see `streams[].steering.startupTtl`. Defaults to `ttlSeconds`.
   */
  readonly startupTtlSeconds?: number;
  readonly nowSeconds: number;
}

/** The HTTP headers of a steering answer (a 429 adds Retry-After). */
export interface SteeringHeaders {
  readonly 'content-type': string;
  readonly 'cache-control': string;
  readonly 'retry-after'?: string;
}

export interface SteeringOutcome {
  readonly status: 200 | 429;
  readonly body: string;
  readonly headers: SteeringHeaders;
  /** The ranking served (empty for a 429). */
  readonly priority: readonly string[];
  readonly demoted: ReadonlyMap<string, number>;
  /** Whether this is the previous decision re-served because the policy could not decide now. */
  readonly fallback: boolean;
}

/**
 * A player's first steering request, made while it loads: from the manifest's SERVER-URI (every
 * RELOAD-URI carries `sy_reload`), naming no pathway (shaka sends none before it has a
 * PATHWAY-PRIORITY; hls.js names the pathway it picked from the master).
 */
function startingUp(signals: SteeringSignals): boolean {
  return !signals.reloaded && signals.current === undefined && signals.used.length === 0;
}

/**
 * `ranked` is the policy's ranking now, or an Error when no decision could be made (policy failure,
 * overload): then the previous ranking carried in the URL is re-served with a longer TTL, or, for a
 * first request, 429 with Retry-After.
 */
export function answerSteering(ctx: SteeringContext, ranked: readonly string[] | Error): SteeringOutcome {
  const configured = new Set(ctx.configured);
  const demoted = updateDemotions(ctx.signals, configured, ctx.nowSeconds, DEMOTE_SECONDS);
  let priority: string[];
  let ttl = ctx.ttlSeconds;
  let fallback = false;
  if (ranked instanceof Error) {
    const last = (ctx.signals.last ?? []).filter((id) => configured.has(id));
    if (last.length === 0) {
      const retryAfter = String(Math.max(1, Math.round(ctx.ttlSeconds)));
      return {
        status: 429,
        body: JSON.stringify({
          error: 'STEERING_BUSY',
          message: 'steering decision unavailable; retry later',
        }),
        headers: {
          'content-type': 'application/json',
          'retry-after': retryAfter,
          'cache-control': 'no-store',
        },
        priority: [],
        demoted,
        fallback: true,
      };
    }
    priority = last;
    ttl = ctx.ttlSeconds * OVERLOAD_TTL_FACTOR;
    fallback = true;
  } else {
    priority = applyDemotions(
      ranked.filter((id) => configured.has(id)),
      demoted,
    );
    if (startingUp(ctx.signals)) ttl = Math.max(ttl, ctx.startupTtlSeconds ?? ttl);
  }
  const listed = ctx.signals.listed?.filter((id) => configured.has(id));
  const clones =
    listed && listed.length > 0 ? clonesFor(ctx.format, listed, ctx.configured, ctx.mediaPrefix) : [];
  const carried = carriedQuery({ listed, last: priority, demoted, reload: true });
  const reloadUri = ctx.reloadBase + (carried === '' ? '' : '?' + carried);
  const doc = steeringDocument({ format: ctx.format, priority, ttlSeconds: ttl, reloadUri, clones });
  const ttlHeader = Math.max(1, Math.round(ttl));
  return {
    status: 200,
    body: JSON.stringify(doc),
    headers: { 'content-type': 'application/json', 'cache-control': `private, max-age=${ttlHeader}` },
    priority,
    demoted,
    fallback,
  };
}
