import type { IncomingMessage, ServerResponse } from 'node:http';
import { SwitchyardError } from '../errors';
import { render, type Slot } from '../manifest/template';
import type { ParsedManifest } from '../manifest/load';
import { hash53 } from '../policy/hash';
import type { Selection } from '../policy/types';
import { queryParam, withoutQueryParam } from '../url';
import { sendError } from './http-errors';
import { matchManifestRoute, type ManifestRoute } from './route';
import type { ConfigState, Runtime } from './runtime';

/** How long the origin may hold an LL-HLS blocking reload (the spec allows three target durations). */
const BLOCKING_HOLD_MS = 15_000;

const EXPOSED = 'X-Switchyard-Session, X-Switchyard-Cdn, X-Switchyard-Reason, Age, Warning';

export interface ManifestResult {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/**
 * The hot path: route → session → cache → policy → render → respond, in one straight line. Returns
 * false when the URL is not a manifest route (the caller hands it on to the express app).
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
      new SwitchyardError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on manifests`),
      runtime.logger,
      {},
      { ...cors, allow: 'GET, HEAD, OPTIONS' },
    );
    return true;
  }
  const matched = route;
  serveManifest(runtime, state, matched, req).then(
    (result) => {
      res.writeHead(200, { ...cors, ...result.headers });
      res.end(req.method === 'HEAD' ? undefined : result.body);
    },
    (err: unknown) =>
      sendError(res, err, runtime.logger, { stream: matched.streamId, path: matched.path }, cors),
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

export async function serveManifest(
  runtime: Runtime,
  state: ConfigState,
  route: ManifestRoute,
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
): Promise<ManifestResult> {
  const now = runtime.now();
  const stream = state.streams.get(route.streamId) as NonNullable<ReturnType<typeof state.streams.get>>;
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

  let token: string;
  let sessionId: string;
  let startedAt: number;
  if (claims) {
    token = route.kind === 'session' ? route.token : '';
    sessionId = claims.sid;
    startedAt = claims.iat * 1000;
  } else {
    // A media playlist opened without a session is reloaded by the same URL: its session id must not
    // change between reloads, or every reload could pick another CDN. Derive it from the client.
    const derived = manifest.info.kind === 'media' ? clientSessionId(req, stream.id) : undefined;
    const minted = state.signer.mint(stream.id, now, derived);
    token = minted.token;
    sessionId = minted.claims.sid;
    startedAt = now;
  }

  const selection = select(runtime, state, manifest, stream.id, sessionId, startedAt, req, now);
  // Prefixes are escaped for the manifest's syntax (XML for DASH); slot paths already are.
  const esc = manifest.escape ?? identity;
  const sessionPrefix = esc(state.publicBase + 's/' + token + '/' + stream.id + '/');
  const rawCdnPrefix = state.cdnPrefixes.get(stream.id)?.get(selection.cdn) as string;
  const cdnPrefix = esc(rawCdnPrefix);
  const keyPrefix = esc(
    stream.keys.via === 'cdn'
      ? rawCdnPrefix
      : stream.keys.via === 'server'
        ? (stream.keys.server as string)
        : stream.origin,
  );
  const body = render(manifest.template, (slot: Slot) => {
    if (slot.path === undefined) return slot.absolute;
    switch (slot.role) {
      case 'playlist':
        return sessionPrefix + slot.path;
      case 'media':
        return cdnPrefix + slot.path;
      case 'key':
        return keyPrefix + slot.path;
      default:
        return slot.absolute;
    }
  });

  const headers: Record<string, string> = {
    'content-type': manifest.contentType,
    'cache-control': playerCacheControl(cached.ttlMs),
    'x-switchyard-session': sessionId,
    'x-switchyard-cdn': selection.cdn,
    'x-switchyard-reason': selection.reason,
  };
  if (cached.stale) {
    headers['age'] = String(Math.max(0, Math.floor((now - cached.fetchedAt) / 1000)));
    headers['warning'] = '110 switchyard "Response is Stale"';
  }
  return { body, headers };
}

function select(
  runtime: Runtime,
  state: ConfigState,
  manifest: ParsedManifest,
  streamId: string,
  sessionId: string,
  startedAt: number,
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
  now: number,
): Selection {
  const cdns = runtime.monitor.views(runtime.share.shares(now));
  const selection = state.policy.select({
    session: { id: sessionId, startedAt },
    client: {
      ip: req.socket.remoteAddress ?? '',
      userAgent: req.headers['user-agent'],
      headers: req.headers as Record<string, string | undefined>,
    },
    stream: { id: streamId, protocol: manifest.info.protocol, live: manifest.info.live },
    cdns,
    now,
  });
  if (!state.cdns.has(selection.cdn)) {
    throw new SwitchyardError('NO_CDN', `policy ${state.policy.name} chose unknown CDN "${selection.cdn}"`);
  }
  // Shares count the decisions that place segments, not master loads.
  if (manifest.info.kind === 'media') runtime.share.record(selection.cdn, now);
  return selection;
}

function identity(text: string): string {
  return text;
}

function clientSessionId(req: Pick<IncomingMessage, 'headers' | 'socket'>, streamId: string): string {
  const basis = `${req.socket.remoteAddress ?? ''}|${req.headers['user-agent'] ?? ''}|${streamId}`;
  return 'c' + hash53(basis).toString(36);
}

/** Players must not keep a live playlist longer than Switchyard's own copy may live. */
function playerCacheControl(ttlMs: number): string {
  const seconds = Math.max(0, Math.floor(ttlMs / 1000));
  return `private, max-age=${seconds}`;
}
