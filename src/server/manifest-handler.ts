import type { IncomingMessage, ServerResponse } from 'node:http';
import { SwitchyardError } from '../errors';
import { steeringMpd } from '../manifest/dash-steering';
import { steeringMaster, type Pathway } from '../manifest/hls-steering';
import { renderBytes, type Slot } from '../manifest/template';
import type { ParsedManifest } from '../manifest/load';
import type { Cached } from '../origin/cache';
import { cmcdFromRequest } from '../policy/cmcd';
import type { RouteKind } from '../metrics';
import type { StreamConfig } from '../config/schema';
import { hash53 } from '../policy/hash';
import type { SessionClaims } from '../session/token';
import { queryParam, withoutQueryParam } from '../url';
import { decide, rankedCdns } from './decide';
import { sendError } from './http-errors';
import { matchManifestRoute, SEGMENT_ROUTE, type ManifestRoute } from './route';
import type { ConfigState, Runtime } from './runtime';

/** How long the origin may hold an LL-HLS blocking reload (the spec allows three target durations). */
const BLOCKING_HOLD_MS = 15_000;

/** How long a switching reload may wait for the new CDN's newest-segment check. */
const SEGMENT_CHECK_WAIT_MS = 500;

type Request = Pick<IncomingMessage, 'headers' | 'socket'>;

export interface RouteResult {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers: Record<string, string>;
}

/**
 * The hot path: route → session → cache → policy → render → respond, in one straight line. Returns
 * false when the URL is not one of Switchyard's player routes (the caller hands it to the express app).
 */
export function handleManifestRequest(runtime: Runtime, req: IncomingMessage, res: ServerResponse): boolean {
  const state = runtime.state;
  let route: ManifestRoute | undefined;
  const cors = state.playerHeaders;
  try {
    route = matchManifestRoute(req.url ?? '/', (id) => state.streams.has(id));
  } catch (err) {
    sendError(res, err, runtime.logger, { url: req.url?.slice(0, 200) }, cors);
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
    return true;
  }
  const matched = route;
  const started = performance.now();
  const kind: RouteKind =
    matched.kind === 'segment' ? 'segment' : matched.kind === 'steering' ? 'steering' : 'manifest';
  const send = (result: RouteResult) => {
    const headers: Record<string, string | number> = { ...cors, ...result.headers };
    headers['content-length'] =
      typeof result.body === 'string' ? Buffer.byteLength(result.body) : result.body.length;
    res.writeHead(result.status, headers);
    res.end(req.method === 'HEAD' ? undefined : result.body);
    runtime.metrics.request(kind, result.status, (performance.now() - started) / 1000);
  };
  const fail = (err: unknown) => {
    sendError(
      res,
      err,
      runtime.logger,
      { route: matched.kind, stream: 'streamId' in matched ? matched.streamId : undefined },
      cors,
    );
    runtime.metrics.request(kind, res.statusCode, (performance.now() - started) / 1000);
  };
  try {
    if (matched.kind === 'segment') send(redirectSegment(runtime, state, matched, req));
    else if (matched.kind === 'steering') send(steeringManifest(runtime, state, matched, req));
    else {
      // Cache hits are answered synchronously; misses, stale copies and blocking reloads wait.
      const request = prepareManifest(runtime, state, matched);
      const fresh = request.blocking
        ? undefined
        : runtime.cache.peekFresh(request.originUrl, request.stream.origin);
      const answer = (cached: Cached<ParsedManifest>) => {
        const result = renderManifest(runtime, state, matched, request, cached, req);
        if (result instanceof Promise) result.then(send, fail);
        else send(result);
      };
      if (fresh) answer(fresh);
      else loadManifest(runtime, request).then(answer).catch(fail);
    }
  } catch (err) {
    fail(err);
  }
  return true;
}

function keyPrefixFor(stream: StreamConfig, cdnPrefix: string): string {
  if (stream.keys.via === 'cdn') return cdnPrefix;
  if (stream.keys.via === 'server') return stream.keys.server as string;
  return stream.origin;
}

/** A slot mapper from the prefixes of one rendering (already escaped for the manifest's syntax). */
function slotMapper(prefix: { playlist: string; media: string; key: string }): (slot: Slot) => string {
  return (slot) => {
    if (slot.path === undefined) return slot.absolute;
    switch (slot.role) {
      case 'playlist':
        return prefix.playlist + slot.path;
      case 'media':
        return prefix.media + slot.path;
      case 'key':
        return prefix.key + slot.path;
      default:
        return slot.absolute;
    }
  };
}

interface ManifestRequest {
  readonly stream: StreamConfig;
  readonly claims: SessionClaims | undefined;
  readonly originUrl: string;
  readonly blocking: boolean;
}

/** Token check and origin URL: everything about a manifest request that needs no origin data. */
function prepareManifest(
  runtime: Runtime,
  state: ConfigState,
  route: Extract<ManifestRoute, { kind: 'new' | 'session' }>,
): ManifestRequest {
  const stream = state.streams.get(route.streamId) as StreamConfig;
  const claims =
    route.kind === 'session' ? state.signer.verify(route.token, stream.id, runtime.now()) : undefined;
  // CMCD is for Switchyard's policies; the origin never sees it, so it does not split the cache.
  const originQuery = withoutQueryParam(route.query, 'CMCD');
  const originUrl = stream.origin + route.path + (originQuery === '' ? '' : '?' + originQuery);
  const blocking = queryParam(route.query, '_HLS_msn') !== undefined;
  return { stream, claims, originUrl, blocking };
}

/**
 * The cached manifest for a request. A blocking LL-HLS reload that the origin cannot answer (down,
 * failing) falls back to the playlist without its delivery directives, stale if need be: an older
 * playlist, marked stale, lets the player retry; a 502 would stop it.
 */
async function loadManifest(runtime: Runtime, request: ManifestRequest): Promise<Cached<ParsedManifest>> {
  const partition = request.stream.origin;
  if (!request.blocking) return runtime.cache.get(request.originUrl, { partition });
  try {
    return await runtime.cache.get(request.originUrl, { partition, holdMs: BLOCKING_HOLD_MS });
  } catch (err) {
    const code = err instanceof SwitchyardError ? err.code : 'INTERNAL';
    if (code === 'ORIGIN_NOT_FOUND' || code === 'ORIGIN_NOT_ALLOWED') throw err;
    const q = request.originUrl.indexOf('?');
    let query = request.originUrl.slice(q + 1);
    for (const directive of ['_HLS_msn', '_HLS_part', '_HLS_skip'])
      query = withoutQueryParam(query, directive);
    const plain = request.originUrl.slice(0, q) + (query === '' ? '' : '?' + query);
    const fallback = await runtime.cache.get(plain, { partition }).catch(() => {
      throw err;
    });
    return { ...fallback, stale: true, error: err instanceof SwitchyardError ? err : fallback.error };
  }
}

/** For callers outside the HTTP listener (tests, embedders): one manifest request, answered. */
export async function serveManifest(
  runtime: Runtime,
  state: ConfigState,
  route: Extract<ManifestRoute, { kind: 'new' | 'session' }>,
  req: Request,
): Promise<RouteResult> {
  const request = prepareManifest(runtime, state, route);
  const cached = await loadManifest(runtime, request);
  return await renderManifest(runtime, state, route, request, cached, req);
}

/** The session's copy of a cached manifest: policy decision, then the join. */
function renderManifest(
  runtime: Runtime,
  state: ConfigState,
  route: Extract<ManifestRoute, { kind: 'new' | 'session' }>,
  request: ManifestRequest,
  cached: Cached<ParsedManifest>,
  req: Request,
  mayWait = true,
): RouteResult | Promise<RouteResult> {
  const now = runtime.now();
  let pendingCheck: string | undefined;
  const { stream, claims } = request;
  const manifest = cached.value;
  const { info } = manifest;

  let token: string;
  let session: SessionClaims;
  if (claims && route.kind === 'session') {
    token = route.token;
    session = claims;
  } else {
    // A media playlist opened without a session is reloaded by the same URL: its session id must not
    // change between reloads, or every reload could pick another CDN. Derive it from the client.
    // A DASH MPD is the entry point itself: each one opened is a new session (a dynamic MPD's
    // Location then keeps its refreshes in it).
    const derived =
      info.kind === 'media' && info.protocol === 'hls' ? clientSessionId(req, stream.id) : undefined;
    const minted = state.signer.mint(stream.id, now, derived);
    token = minted.token;
    session = minted.claims;
  }

  const esc = manifest.escape ?? identity;
  const sessionBase = state.publicBase + 's/' + token + '/';
  const decision = {
    streamId: stream.id,
    protocol: info.protocol,
    live: info.live,
    sessionId: session.sid,
    startedAt: session.iat * 1000,
    req,
    ...cmcdOf(route.query, req),
  };
  let body: string | Buffer;
  let cdn: string;
  let reason: string;

  if (stream.mode === 'steering' && info.kind === 'master' && info.protocol === 'hls') {
    const selection = decide(runtime, state, { ...decision, placesSegments: false });
    const ranked = rankedCdns(state, selection);
    const pathways: Pathway[] = ranked.map((id) => {
      const pinned = state.signer.mint(stream.id, now, session.sid, { issuedAt: session.iat, pathway: id });
      const media = state.cdnPrefixes.get(stream.id)?.get(id) as string;
      return {
        id,
        mapSlot: slotMapper({
          playlist: state.publicBase + 's/' + pinned.token + '/' + stream.id + '/',
          media,
          key: keyPrefixFor(stream, media),
        }),
      };
    });
    body = steeringMaster(manifest.template, pathways, {
      serverUri: sessionBase + 'steering.json',
      initialPathway: ranked[0] as string,
    });
    cdn = selection.cdn;
    reason = `steering: pathways ${ranked.join(', ')}`;
  } else if (stream.mode === 'steering' && info.protocol === 'dash') {
    // One MPD for every CDN: a BaseURL per CDN (serviceLocation), the DCSM ranks them per session.
    const selection = decide(runtime, state, { ...decision, placesSegments: false });
    const ranked = rankedCdns(state, selection);
    const playlist = esc(sessionBase + stream.id + '/');
    body = steeringMpd(
      manifest.template,
      ranked.map((id) => {
        const media = state.cdnPrefixes.get(stream.id)?.get(id) as string;
        return {
          id,
          mapSlot: slotMapper({ playlist, media: esc(media), key: esc(keyPrefixFor(stream, media)) }),
        };
      }),
      { serverUri: sessionBase + 'dash-steering.json', defaultServiceLocation: ranked[0] as string },
    );
    cdn = selection.cdn;
    reason = `steering: service locations ${ranked.join(', ')}`;
  } else {
    if (stream.mode === 'steering' && session.p !== undefined && state.cdns.has(session.p)) {
      // A media playlist of a steering pathway: the player chose the pathway, the token pins it.
      cdn = session.p;
      reason = `steering: pathway ${cdn}`;
      if (info.kind === 'media') runtime.share.record(cdn, now);
    } else {
      const newest = info.live ? info.newestSegmentPath : undefined;
      const selection = decide(runtime, state, {
        ...decision,
        placesSegments: info.kind === 'media' && stream.mode !== 'redirect',
        // A live session moves only to a CDN that already serves the playlist's newest segment.
        ...(newest !== undefined && stream.mode === 'rewrite'
          ? {
              vetoSwitch: (from: string, to: string) => {
                const url = (state.cdnPrefixes.get(stream.id)?.get(to) as string) + newest;
                const check = runtime.segments.check(url);
                if (check === 'pending') pendingCheck = url;
                return check === 'available'
                  ? undefined
                  : `stayed on ${from}: ${to} ${check === 'pending' ? 'is being checked for' : 'does not serve'} the newest segment`;
              },
            }
          : {}),
      });
      cdn = selection.cdn;
      reason =
        stream.mode === 'redirect' ? `redirect: per segment (now ${selection.reason})` : selection.reason;
    }
    if (info.kind === 'media' && stream.mode !== 'redirect' && pendingCheck === undefined) {
      observeDelivery(
        runtime,
        state,
        stream.id,
        session.sid,
        cdn,
        info,
        request.originUrl,
        decision.cmcd,
        now,
      );
    }
    const rawCdnPrefix = state.cdnPrefixes.get(stream.id)?.get(cdn) as string;
    // Prefixes are escaped for the manifest's syntax (XML for DASH); slot paths already are.
    body = renderBytes(manifest.encoded, {
      playlist: Buffer.from(esc(sessionBase + stream.id + '/')),
      media: Buffer.from(esc(stream.mode === 'redirect' ? sessionBase + SEGMENT_ROUTE + '/' : rawCdnPrefix)),
      key: Buffer.from(esc(keyPrefixFor(stream, rawCdnPrefix))),
    });
  }

  if (pendingCheck !== undefined && mayWait) {
    // The first time a session would move to a CDN, its HEAD check runs now (briefly): the reload
    // that the move belongs to should not be the one that misses it.
    const url = pendingCheck;
    return runtime.segments
      .wait(url, SEGMENT_CHECK_WAIT_MS)
      .then(() => renderManifest(runtime, state, route, request, cached, req, false));
  }
  const headers: Record<string, string> = {
    'content-type': manifest.contentType,
    'cache-control': playerCacheControl(cached.ttlMs),
    'x-switchyard-session': session.sid,
    'x-switchyard-cdn': cdn,
    'x-switchyard-reason': reason,
  };
  if (cached.stale) {
    headers['age'] = String(Math.max(0, Math.floor((now - cached.fetchedAt) / 1000)));
    headers['warning'] = '110 switchyard "Response is Stale"';
  }
  return { status: 200, body, headers };
}

/** The session and stream of a route whose URL carries only a token (segments, steering). */
function sessionOf(
  runtime: Runtime,
  state: ConfigState,
  token: string,
): { claims: SessionClaims; stream: StreamConfig } {
  const claims = state.signer.verify(token, undefined, runtime.now());
  const stream = state.streams.get(claims.st);
  if (!stream) {
    throw new SwitchyardError(
      'UNKNOWN_STREAM',
      'the session belongs to a stream that is no longer configured',
    );
  }
  return { claims, stream };
}

/** Redirect mode: the CDN is chosen at the moment each segment is requested. */
export function redirectSegment(
  runtime: Runtime,
  state: ConfigState,
  route: Extract<ManifestRoute, { kind: 'segment' }>,
  req: Request,
): RouteResult {
  const { claims, stream } = sessionOf(runtime, state, route.token);
  const selection = decide(runtime, state, {
    streamId: stream.id,
    protocol: 'hls',
    live: true,
    sessionId: claims.sid,
    startedAt: claims.iat * 1000,
    req,
    placesSegments: true,
  });
  const location =
    (state.cdnPrefixes.get(stream.id)?.get(selection.cdn) as string) +
    route.path +
    (route.query === '' ? '' : '?' + route.query);
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

/**
 * The steering manifest of a session (HLS Content Steering, or DASH-IF's DCSM): pathways ranked by
 * the policy now. The player's current pathway and measured throughput are signals for the policy.
 */
export function steeringManifest(
  runtime: Runtime,
  state: ConfigState,
  route: Extract<ManifestRoute, { kind: 'steering' }>,
  req: Request,
): RouteResult {
  const { claims, stream } = sessionOf(runtime, state, route.token);
  const prefix = route.format === 'hls' ? '_HLS_' : '_DASH_';
  const rawPathway = queryParam(route.query, prefix + 'pathway');
  const pathway = rawPathway === undefined ? undefined : safeDecode(rawPathway);
  const throughput = Number(queryParam(route.query, prefix + 'throughput'));
  const selection = decide(runtime, state, {
    streamId: stream.id,
    protocol: route.format,
    live: true,
    sessionId: claims.sid,
    startedAt: claims.iat * 1000,
    req,
    ...(pathway !== undefined && state.cdns.has(pathway) ? { previous: pathway } : {}),
    // The player's measured throughput, in CMCD's unit (kbps), for policies that read CMCD mtp.
    ...(Number.isFinite(throughput) && throughput > 0
      ? { cmcd: { mtp: Math.round(throughput / 1000) } }
      : {}),
    // HLS pathways record shares on their media playlists; a DASH player's MPD is not reloaded per
    // pathway, so its steering requests are where its CDN is placed.
    placesSegments: route.format === 'dash',
  });
  const ranked = rankedCdns(state, selection);
  const ttl = Math.max(1, Math.round(stream.steering.ttl / 1000));
  const reload =
    state.publicBase +
    's/' +
    route.token +
    '/' +
    (route.format === 'hls' ? 'steering.json' : 'dash-steering.json');
  const doc =
    route.format === 'hls'
      ? { VERSION: 1, TTL: ttl, 'RELOAD-URI': reload, 'PATHWAY-PRIORITY': ranked }
      : { VERSION: 1, TTL: ttl, 'RELOAD-URI': reload, 'SERVICE-LOCATION-PRIORITY': ranked };
  return {
    status: 200,
    body: JSON.stringify(doc),
    headers: {
      'content-type': 'application/json',
      'cache-control': `private, max-age=${ttl}`,
      'x-switchyard-session': claims.sid,
      'x-switchyard-cdn': selection.cdn,
      'x-switchyard-reason': selection.reason,
    },
  };
}

/**
 * Tells the policy (cost, ledgers) roughly how much media this playlist sends to `cdn`: one target
 * duration per live reload, the whole playlist for VOD, at the CMCD-reported bitrate or else the
 * variant's BANDWIDTH from the master it came from.
 */
function observeDelivery(
  runtime: Runtime,
  state: ConfigState,
  streamId: string,
  sessionId: string,
  cdn: string,
  info: ParsedManifest['info'],
  originUrl: string,
  cmcd: Readonly<Record<string, string | number | boolean>> | undefined,
  now: number,
): void {
  if (!state.policy.observe) return;
  const br = cmcd?.br;
  const bitrateBps = typeof br === 'number' && br > 0 ? br * 1000 : runtime.variantBandwidth.get(originUrl);
  const mediaSeconds = info.live ? (info.targetDuration ?? 0) : (info.totalDuration ?? 0);
  if (bitrateBps === undefined || mediaSeconds <= 0) return;
  state.policy.observe({ kind: 'delivery', sessionId, streamId, cdn, mediaSeconds, bitrateBps, at: now });
}

/** CMCD from the query (CMCD=) and the CMCD-* headers, parsed only when the player sent any. */
function cmcdOf(query: string, req: Request): { cmcd?: Readonly<Record<string, string | number | boolean>> } {
  const h = req.headers;
  if (
    !query.includes('CMCD=') &&
    !h['cmcd-request'] &&
    !h['cmcd-object'] &&
    !h['cmcd-status'] &&
    !h['cmcd-session']
  ) {
    return {};
  }
  const cmcd = cmcdFromRequest(query, h);
  return cmcd ? { cmcd } : {};
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function identity(text: string): string {
  return text;
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
