import type { IncomingMessage, ServerResponse } from 'node:http';
import { SwitchyardError } from '../errors';
import { steeringMaster, type Pathway } from '../manifest/hls-steering';
import { render, type Slot } from '../manifest/template';
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

const EXPOSED = 'X-Switchyard-Session, X-Switchyard-Cdn, X-Switchyard-Reason, Age, Warning';

type Request = Pick<IncomingMessage, 'headers' | 'socket'>;

export interface RouteResult {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/**
 * The hot path: route → session → cache → policy → render → respond, in one straight line. Returns
 * false when the URL is not one of Switchyard's player routes (the caller hands it to the express app).
 */
export function handleManifestRequest(runtime: Runtime, req: IncomingMessage, res: ServerResponse): boolean {
  const state = runtime.state;
  let route: ManifestRoute | undefined;
  const cors = corsHeaders(state);
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
  let work: Promise<RouteResult>;
  try {
    work =
      matched.kind === 'segment'
        ? Promise.resolve(redirectSegment(runtime, state, matched, req))
        : matched.kind === 'steering'
          ? Promise.resolve(steeringManifest(runtime, state, matched, req))
          : serveManifest(runtime, state, matched, req);
  } catch (err) {
    work = Promise.reject(err);
  }
  work.then(
    (result) => {
      res.writeHead(result.status, { ...cors, ...result.headers });
      res.end(req.method === 'HEAD' ? undefined : result.body);
    },
    (err: unknown) =>
      sendError(
        res,
        err,
        runtime.logger,
        { route: matched.kind, stream: 'streamId' in matched ? matched.streamId : undefined },
        cors,
      ),
  );
  return true;
}

function corsHeaders(state: ConfigState): Record<string, string> {
  return {
    'access-control-allow-origin': state.config.cors.allowOrigin,
    'access-control-expose-headers': EXPOSED,
    'x-content-type-options': 'nosniff',
  };
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

export async function serveManifest(
  runtime: Runtime,
  state: ConfigState,
  route: Extract<ManifestRoute, { kind: 'new' | 'session' }>,
  req: Request,
): Promise<RouteResult> {
  const now = runtime.now();
  const stream = state.streams.get(route.streamId) as StreamConfig;
  const claims = route.kind === 'session' ? state.signer.verify(route.token, stream.id, now) : undefined;

  // CMCD is for Switchyard's policies; the origin never sees it, so it does not split the cache.
  const originQuery = withoutQueryParam(route.query, 'CMCD');
  const originUrl = stream.origin + route.path + (originQuery === '' ? '' : '?' + originQuery);
  const blocking = queryParam(route.query, '_HLS_msn') !== undefined;
  const cached = await runtime.cache.get(originUrl, {
    partition: stream.origin,
    holdMs: blocking ? BLOCKING_HOLD_MS : 0,
  });
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
    const derived = info.kind === 'media' ? clientSessionId(req, stream.id) : undefined;
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
  };
  let body: string;
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
  } else {
    if (stream.mode === 'steering' && session.p !== undefined && state.cdns.has(session.p)) {
      // A media playlist of a steering pathway: the player chose the pathway, the token pins it.
      cdn = session.p;
      reason = `steering: pathway ${cdn}`;
      if (info.kind === 'media') runtime.share.record(cdn, now);
    } else {
      const selection = decide(runtime, state, {
        ...decision,
        placesSegments: info.kind === 'media' && stream.mode !== 'redirect',
      });
      cdn = selection.cdn;
      reason =
        stream.mode === 'redirect' ? `redirect: per segment (now ${selection.reason})` : selection.reason;
    }
    const rawCdnPrefix = state.cdnPrefixes.get(stream.id)?.get(cdn) as string;
    // Prefixes are escaped for the manifest's syntax (XML for DASH); slot paths already are.
    body = render(
      manifest.template,
      slotMapper({
        playlist: esc(sessionBase + stream.id + '/'),
        media: esc(stream.mode === 'redirect' ? sessionBase + SEGMENT_ROUTE + '/' : rawCdnPrefix),
        key: esc(keyPrefixFor(stream, rawCdnPrefix)),
      }),
    );
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

/** Redirect mode: the CDN is chosen at the moment each segment is requested. */
export function redirectSegment(
  runtime: Runtime,
  state: ConfigState,
  route: Extract<ManifestRoute, { kind: 'segment' }>,
  req: Request,
): RouteResult {
  const now = runtime.now();
  const claims = state.signer.verify(route.token, undefined, now);
  const stream = state.streams.get(claims.st);
  if (!stream)
    throw new SwitchyardError(
      'UNKNOWN_STREAM',
      'the session belongs to a stream that is no longer configured',
    );
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
  const now = runtime.now();
  const claims = state.signer.verify(route.token, undefined, now);
  const stream = state.streams.get(claims.st);
  if (!stream)
    throw new SwitchyardError(
      'UNKNOWN_STREAM',
      'the session belongs to a stream that is no longer configured',
    );
  const prefix = route.format === 'hls' ? '_HLS_' : '_DASH_';
  const pathway = queryParam(route.query, prefix + 'pathway');
  const throughput = Number(queryParam(route.query, prefix + 'throughput'));
  const selection = decide(runtime, state, {
    streamId: stream.id,
    protocol: route.format,
    live: true,
    sessionId: claims.sid,
    startedAt: claims.iat * 1000,
    req,
    ...(pathway && state.cdns.has(decodeURIComponent(pathway))
      ? { previous: decodeURIComponent(pathway) }
      : {}),
    // The player's measured throughput, in CMCD's unit (kbps), for policies that read CMCD mtp.
    ...(Number.isFinite(throughput) && throughput > 0
      ? { cmcd: { mtp: Math.round(throughput / 1000) } }
      : {}),
    placesSegments: false,
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
