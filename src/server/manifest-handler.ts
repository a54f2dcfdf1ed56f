import type { IncomingMessage, ServerResponse } from 'node:http';
import { SwitchyardError, toSwitchyardError } from '../errors';
import type { ParsedManifest } from '../manifest/load';
import { withPartHoldBack } from '../manifest/hold-back';
import type { Cached } from '../origin/cache';
import type { RouteKind } from '../metrics';
import type { StreamConfig } from '../config/schema';
import { hash53 } from '../policy/hash';
import type { SessionClaims } from '../session/token';
import type { DecisionInput } from './decide';
import { deliveryModeOf, type Choice, type DeliveryMode, type ManifestJob } from './delivery';
import { partHoldBackFloor } from './delivery/failover';
import {
  blockingDirectives,
  checkDirectives,
  directivesApply,
  hasDirectives,
  holdAtMost,
  holdLimitMs,
  withoutDirectives,
  type BlockingDirectives,
} from './blocking';
import { mayAnswer } from './connections';
import { sendError } from './http-errors';
import { claimedSessionId } from './request-id';
import { originQuery } from './origin-query';
import { readRequestCmcd } from './qoe-request';
import { matchManifestRoute, type ManifestRoute } from './route';
import type { ConfigState, Runtime } from './runtime';

/** Query parameters only a steering client sends: the pathway signals and Switchyard's carried state. */
const STEERING_CLIENT_QUERY = /(?:^|&)(?:_HLS_pathway|_DASH_pathway|sy_listed|sy_last)=/;

/** How long a blocking reload is held when the playlist's target duration is not known yet. */
const BLOCKING_HOLD_MS = 15_000;

/** Retry-After (seconds) of a manifest request shed over the heap budget. */
const SHED_RETRY_AFTER_S = 2;

/** How long a switching reload may wait for the new CDN's newest-segment check. */
const SEGMENT_CHECK_WAIT_MS = 500;

type Request = Pick<IncomingMessage, 'headers' | 'socket'>;

type ManifestRouteOf = Extract<ManifestRoute, { kind: 'new' | 'session' }>;

/**
 * The hot path: route → session → cache → decide → render → respond, in one straight line. The
 * stream's delivery mode (./delivery) decides and renders; everything else is here. Returns false
 * when the URL is not one of Switchyard's player routes (the caller hands it to the express app).
 */
export function handleManifestRequest(runtime: Runtime, req: IncomingMessage, res: ServerResponse): boolean {
  const state = runtime.state;
  let route: ManifestRoute | undefined;
  const cors = state.playerHeaders;
  try {
    route = matchManifestRoute(req.url ?? '/', (id) => state.streams.has(id));
  } catch (err) {
    sendError(res, err, runtime.logger, { url: req.url?.slice(0, 200) }, cors);
    runtime.metrics.rejectedRequest(res.statusCode, toSwitchyardError(err).code);
    return true;
  }
  if (!route) return false;
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {
      ...cors,
      'access-control-allow-methods': 'GET, HEAD, OPTIONS',
      'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
      'access-control-max-age': '86400',
    });
    res.end();
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(
      res,
      new SwitchyardError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here`),
      runtime.logger,
      {},
      { ...cors, allow: 'GET, HEAD, OPTIONS' },
    );
    runtime.metrics.rejectedRequest(405, 'METHOD_NOT_ALLOWED');
    return true;
  }
  const exchange: Exchange = {
    runtime,
    state,
    req,
    res,
    kind: route.kind === 'segment' ? 'segment' : route.kind === 'steering' ? 'steering' : 'manifest',
    route,
    started: performance.now(),
  };
  try {
    if (route.kind === 'segment' || route.kind === 'steering') {
      const { claims, stream } = sessionOf(runtime, state, route.token, route.kind === 'steering');
      // Only the session's own stream's mode answers its documents: /s/<token>/seg/... is for
      // redirect-mode streams, steering manifests for steering ones. A steering client (its request
      // carries the steering signals or the query of a steering URI Switchyard issued) asking after its
      // stream left steering mode gets 410: steering was withdrawn, the client stops asking. Any other
      // request for a document its stream's mode does not serve is 404.
      const serve = deliveryModeOf(stream).documents?.[route.kind];
      if (!serve && route.kind === 'steering' && STEERING_CLIENT_QUERY.test(route.query))
        throw new SwitchyardError(
          'STEERING_WITHDRAWN',
          `stream ${stream.id} is no longer delivered by steering`,
        );
      if (!serve)
        throw new SwitchyardError('NOT_FOUND', `this session's stream does not serve ${route.kind} URLs`);
      const result = serve({
        runtime,
        state,
        stream,
        claims,
        token: route.token,
        path: route.kind === 'segment' ? route.path : '',
        query: route.query,
        format: route.kind === 'steering' ? route.format : undefined,
        req,
      });
      respond(exchange, result.status, result.headers, result.body);
      return true;
    }
    // Cache hits are answered synchronously; misses, stale copies and blocking reloads wait.
    const request = prepareManifest(runtime, state, route, req);
    exchange.session = request.claims?.sid;
    const fresh =
      (request.blocking ? undefined : runtime.cache.peekFresh(request.originUrl, request.stream.origin)) ??
      completePlaylist(runtime, request);
    // Over the heap budget, viewers already playing keep their cached playlists; new sessions and
    // anything that needs the origin (a fetch, a parse, a held reload) come back later.
    if ((route.kind === 'new' || !fresh) && runtime.heap.over()) {
      runtime.metrics.shedRequest('manifest');
      throw new SwitchyardError('OVERLOADED', 'Switchyard is over its memory budget; retry shortly', {
        details: { retryAfter: SHED_RETRY_AFTER_S },
      });
    }
    if (fresh) answerManifest(exchange, route, request, fresh);
    else
      loadManifest(runtime, request).then(
        (cached) => answerManifest(exchange, route, request, cached),
        (err: unknown) => fail(exchange, err),
      );
  } catch (err) {
    fail(exchange, err);
  }
  return true;
}

/** One request and its response, as the handler's steps pass them along. */
interface Exchange {
  readonly runtime: Runtime;
  readonly state: ConfigState;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly kind: RouteKind;
  readonly route: ManifestRoute;
  readonly started: number;
  /** The session a manifest was answered in, once known (rollout evidence per arm). */
  session?: string;
}

/** Writes a response with the player headers (CORS, nosniff) and records it. */
function respond(
  x: Exchange,
  status: number,
  headers: Record<string, string | number>,
  body: string | Buffer,
): void {
  // A connection cut for what its client left unread gets nothing more.
  if (!mayAnswer(x.req)) return;
  const cors = x.state.playerHeaders;
  for (const name in cors) if (!(name in headers)) headers[name] = cors[name] as string;
  headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  x.res.writeHead(status, headers);
  x.res.end(x.req.method === 'HEAD' ? undefined : body);
  const seconds = (performance.now() - x.started) / 1000;
  x.runtime.metrics.request(x.kind, status, seconds);
  if (x.session !== undefined && x.kind === 'manifest')
    x.runtime.activeRollout?.manifestAnswered(x.session, status >= 500);
  if (x.state.config.log.access) accessLog(x, status, headers, headers['content-length'] as number, seconds);
}

/**
 * `log.access: true`: one line per player request (manifests, steering, redirects) with the session,
 * stream, path, CDN, status, bytes and milliseconds. Off by default: the hot path logs nothing per request.
 */
function accessLog(
  x: Exchange,
  status: number,
  headers: Record<string, string | number>,
  bytes: number,
  seconds: number,
): void {
  const route = x.route;
  x.runtime.logger.info(
    {
      event: 'access',
      route: x.kind,
      method: x.req.method,
      session: headers['x-switchyard-session'] ?? claimedSessionId(x.req.url),
      stream: 'streamId' in route ? route.streamId : undefined,
      // The path below the session token (never the token itself: it opens the session).
      path: 'path' in route ? route.path.slice(0, 200) : undefined,
      cdn: headers['x-switchyard-cdn'],
      status,
      bytes: x.req.method === 'HEAD' ? 0 : bytes,
      ms: Math.round(seconds * 10_000) / 10,
    },
    'request',
  );
}

function fail(x: Exchange, err: unknown): void {
  if (!mayAnswer(x.req)) return;
  const route = x.route;
  const bytes = sendError(
    x.res,
    err,
    x.runtime.logger,
    { route: route.kind, stream: 'streamId' in route ? route.streamId : undefined },
    x.state.playerHeaders,
  );
  const seconds = (performance.now() - x.started) / 1000;
  x.runtime.metrics.request(x.kind, x.res.statusCode, seconds);
  if (x.session !== undefined && x.kind === 'manifest')
    x.runtime.activeRollout?.manifestAnswered(x.session, x.res.statusCode >= 500);
  if (x.state.config.log.access) accessLog(x, x.res.statusCode, {}, bytes, seconds);
}

interface ManifestRequest {
  readonly stream: StreamConfig;
  readonly claims: SessionClaims | undefined;
  readonly originUrl: string;
  readonly blocking: boolean;
  /** The origin URL without its delivery directives, when the request carries any. */
  readonly plainUrl: string | undefined;
  /** LL-HLS delivery directives of a blocking reload. */
  readonly directives: BlockingDirectives | undefined;
  /** The client's address: blocking reloads are capped per address. */
  readonly client: string;
}

/** Token check and origin URL: everything about a manifest request that needs no origin data. */
function prepareManifest(
  runtime: Runtime,
  state: ConfigState,
  route: ManifestRouteOf,
  req: Request,
): ManifestRequest {
  const stream = state.streams.get(route.streamId);
  if (!stream) throw new SwitchyardError('UNKNOWN_STREAM', `no stream "${route.streamId}"`);
  // Malformed or orphaned directives are a 400 before anything else (RFC 8216bis §6.2.5.2).
  const directives = blockingDirectives(route.query);
  const claims =
    route.kind === 'session' ? state.signer.verify(route.token, stream.id, runtime.now()) : undefined;
  // Only the LL-HLS directives and the stream's allowlist reach the origin and the cache key (CMCD and
  // whatever else a viewer adds never split the cache): see ./origin-query.
  const query = originQuery(route.query, stream.originQuery);
  const originUrl = stream.origin + route.path + (query === '' ? '' : '?' + query);
  const blocking = directives !== undefined;
  const plainUrl = hasDirectives(query) ? withoutDirectives(originUrl) : undefined;
  return {
    stream,
    claims,
    originUrl,
    blocking,
    plainUrl,
    directives,
    client: req.socket.remoteAddress ?? '',
  };
}

/**
 * The playlist a request with delivery directives names, when Switchyard holds a fresh copy of it
 * that is complete (EXT-X-ENDLIST, VOD): the directives do not apply to it, so it is the answer, at
 * once, with no origin request and no cache entry of its own (RFC 8216bis §6.2.5).
 */
function completePlaylist(runtime: Runtime, request: ManifestRequest): Cached<ParsedManifest> | undefined {
  if (request.plainUrl === undefined) return undefined;
  const plain = runtime.cache.peekAny(request.plainUrl, request.stream.origin);
  if (plain === undefined || plain.stale || directivesApply(plain.value.info)) return undefined;
  return runtime.cache.peekFresh(request.plainUrl, request.stream.origin);
}

/**
 * The cached manifest for a request. A blocking LL-HLS reload that the origin cannot answer (down,
 * failing) falls back to the playlist without its delivery directives, stale if need be: an older
 * playlist, marked stale, lets the player retry; a 502 would stop it.
 */
async function loadManifest(runtime: Runtime, request: ManifestRequest): Promise<Cached<ParsedManifest>> {
  const partition = request.stream.origin;
  const directives = request.directives;
  if (directives === undefined) return runtime.cache.get(request.originUrl, { partition });
  const limits = runtime.state.config.limits;
  if (!runtime.blockingClients.tryAcquire(request.client, limits.blockingPerClient)) {
    throw new SwitchyardError(
      'TOO_MANY_BLOCKING_RELOADS',
      `more than ${limits.blockingPerClient} blocking reloads in flight from this address`,
      { details: { retryAfter: 1 } },
    );
  }
  try {
    return await loadBlocking(runtime, request, directives, partition);
  } finally {
    runtime.blockingClients.release(request.client);
  }
}

async function loadBlocking(
  runtime: Runtime,
  request: ManifestRequest,
  directives: BlockingDirectives,
  partition: string,
): Promise<Cached<ParsedManifest>> {
  const plain = request.plainUrl ?? withoutDirectives(request.originUrl);
  // Where the playlist ends now: a copy younger than a target duration, else the plain playlist.
  const known = runtime.cache.peekAny(plain, partition);
  const fresh =
    known?.value.info.blockingEdge !== undefined &&
    runtime.now() - known.fetchedAt <= known.value.info.blockingEdge.targetDuration * 1000
      ? known
      : await runtime.cache.get(plain, { partition });
  // A complete playlist (EXT-X-ENDLIST) has nothing to wait for: the directives are ignored and it is
  // the answer at once (RFC 8216bis §6.2.5), never a 400 for an msn past its end nor a held request.
  if (!directivesApply(fresh.value.info)) return fresh;
  const edge = fresh.value.info.blockingEdge;
  if (edge !== undefined) checkDirectives(directives, edge);
  const holdMs = edge !== undefined ? holdLimitMs(edge) : BLOCKING_HOLD_MS;
  try {
    return await holdAtMost(runtime.cache.get(request.originUrl, { partition, holdMs }), holdMs);
  } catch (err) {
    const code = err instanceof SwitchyardError ? err.code : 'INTERNAL';
    if (code === 'ORIGIN_NOT_FOUND' || code === 'ORIGIN_NOT_ALLOWED' || code === 'BLOCKING_RELOAD_TIMEOUT')
      throw err;
    // The origin cannot answer (down, failing): the playlist without its directives, stale if need be,
    // lets the player retry; a 502 would stop it.
    const fallback = await runtime.cache.get(plain, { partition }).catch(() => {
      throw err;
    });
    return { ...fallback, stale: true, error: err instanceof SwitchyardError ? err : fallback.error };
  }
}

/** Session, then the stream's delivery mode decides and renders, then the response. */
function answerManifest(
  x: Exchange,
  route: ManifestRouteOf,
  request: ManifestRequest,
  cached: Cached<ParsedManifest>,
): void {
  try {
    const job = manifestJob(x, route, request, cached.value);
    x.session = job.session.sid;
    const mode = deliveryModeOf(request.stream);
    const choice = mode.choose(job);
    if (choice.pendingCheck === undefined) {
      renderAndRespond(x, mode, job, choice, cached);
      return;
    }
    // The first time a session would move to a CDN, its HEAD check runs now (briefly): the reload
    // that the move belongs to should not be the one that misses it. Then the mode chooses again.
    x.runtime.segments.wait(choice.pendingCheck, SEGMENT_CHECK_WAIT_MS).then(
      () => {
        try {
          const again = { ...job, now: x.runtime.now() };
          renderAndRespond(x, mode, again, mode.choose(again), cached);
        } catch (err) {
          fail(x, err);
        }
      },
      (err: unknown) => fail(x, err),
    );
  } catch (err) {
    fail(x, err);
  }
}

/**
 * The session this manifest is rendered in: the token's, or a new one. A media playlist opened
 * without a session is reloaded by the same URL: its session id must not change between reloads, or
 * every reload could pick another CDN, so it is derived from the client. A DASH MPD is the entry point
 * itself: each one opened is a new session (a dynamic MPD's Location then keeps its refreshes in it).
 */
function manifestJob(
  x: Exchange,
  route: ManifestRouteOf,
  request: ManifestRequest,
  manifest: ParsedManifest,
): ManifestJob {
  const { runtime, state, req } = x;
  const { stream, claims } = request;
  const { info } = manifest;
  const now = runtime.now();
  let token: string;
  let session: SessionClaims;
  if (claims && route.kind === 'session') {
    token = route.token;
    session = claims;
  } else {
    const derived =
      info.kind === 'media' && info.protocol === 'hls' ? clientSessionId(req, stream.id) : undefined;
    const minted = state.signer.mint(stream.id, now, derived);
    token = minted.token;
    session = minted.claims;
  }
  const cmcd = readRequestCmcd(runtime, route.query, req, 'manifest', session.sid);
  const delivery =
    info.kind === 'media' ? deliveryEstimate(runtime, manifest, request.originUrl, cmcd) : undefined;
  const decision: DecisionInput = {
    streamId: stream.id,
    protocol: info.protocol,
    live: info.live,
    sessionId: session.sid,
    startedAt: session.iat * 1000,
    req,
    cmcd,
    ...(delivery === undefined ? {} : { delivery }),
  };
  return {
    runtime,
    state,
    stream,
    // LL-HLS media playlists with the stream's PART-HOLD-BACK floor (the same bytes for every session).
    manifest: withPartHoldBack(manifest, partHoldBackFloor(stream)),
    session,
    sessionBase: state.publicBase + 's/' + token + '/',
    decision,
    originUrl: request.originUrl,
    query: route.query,
    now,
  };
}

function renderAndRespond(
  x: Exchange,
  mode: DeliveryMode,
  job: ManifestJob,
  choice: Choice,
  cached: Cached<ParsedManifest>,
): void {
  if (choice.delivers && choice.pendingCheck === undefined) observeDelivery(job, choice.cdn);
  x.runtime.noteServed(job.stream.id, job.now);
  const body = mode.render(job, choice);
  const headers: Record<string, string> = {
    'content-type': job.manifest.contentType,
    'cache-control': playerCacheControl(cached.ttlMs),
    'x-switchyard-session': job.session.sid,
    'x-switchyard-cdn': choice.cdn,
    'x-switchyard-reason': choice.reason,
  };
  if (cached.stale) {
    headers['age'] = String(Math.max(0, Math.floor((job.now - cached.fetchedAt) / 1000)));
    headers['warning'] = '110 switchyard "Response is Stale"';
  }
  respond(x, 200, headers, body);
}

/** The session and stream of a route whose URL carries only a token (segments, steering). */
function sessionOf(
  runtime: Runtime,
  state: ConfigState,
  token: string,
  steering = false,
): { claims: SessionClaims; stream: StreamConfig } {
  const claims = state.signer.verify(token, undefined, runtime.now());
  const stream = state.streams.get(claims.st);
  if (!stream && steering) {
    // A steering client stops asking at 410 (and keeps its pathway): the stream was withdrawn.
    throw new SwitchyardError('STEERING_WITHDRAWN', 'the stream is no longer configured');
  }
  if (!stream) {
    throw new SwitchyardError(
      'UNKNOWN_STREAM',
      'the session belongs to a stream that is no longer configured',
    );
  }
  return { claims, stream };
}

/**
 * Tells the policy (cost, ledgers) roughly how much media this playlist sends to `cdn` (see
 * deliveryEstimate).
 */
function observeDelivery(job: ManifestJob, cdn: string): void {
  const { state } = job;
  const delivery = job.decision.delivery;
  // A canary session's deliveries go to the policy that decided them.
  const rollout = job.runtime.activeRollout;
  const policy =
    rollout !== undefined && rollout.armOf(job.session.sid) === 'canary' ? rollout.policy : state.policy;
  if (!policy.observe || delivery === undefined) return;
  policy.observe({
    kind: 'delivery',
    sessionId: job.session.sid,
    streamId: job.stream.id,
    cdn,
    mediaSeconds: delivery.mediaSeconds,
    bitrateBps: delivery.bitrateBps,
    at: job.now,
  });
}

/**
 * How much media a media playlist sends to its CDN: one target duration per live reload, the whole
 * playlist for VOD, at the CMCD-reported bitrate or else the variant's BANDWIDTH from the master it
 * came from. Undefined when either is unknown.
 */
function deliveryEstimate(
  runtime: Runtime,
  manifest: ParsedManifest,
  originUrl: string,
  cmcd: Readonly<Record<string, string | number | boolean>> | undefined,
): { mediaSeconds: number; bitrateBps: number } | undefined {
  const { info } = manifest;
  const br = cmcd?.br;
  const bitrateBps = typeof br === 'number' && br > 0 ? br * 1000 : runtime.variantBandwidth.get(originUrl);
  const mediaSeconds = info.live ? (info.targetDuration ?? 0) : (info.totalDuration ?? 0);
  if (bitrateBps === undefined || mediaSeconds <= 0) return undefined;
  return { mediaSeconds, bitrateBps };
}

function clientSessionId(req: Request, streamId: string): string {
  const basis = `${req.socket.remoteAddress ?? ''}|${req.headers['user-agent'] ?? ''}|${streamId}`;
  return 'c' + hash53(basis).toString(36);
}

/** Players must not keep a live playlist longer than Switchyard's own copy may live. */
function playerCacheControl(ttlMs: number): string {
  const seconds = Math.max(0, Math.floor(ttlMs / 1000));
  return `private, max-age=${seconds}`;
}
