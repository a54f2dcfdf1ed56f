import { Agent, request } from 'undici';

export interface HttpResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as text when asked for, else ''. */
  readonly text: string;
  readonly bytes: number;
  readonly ms: number;
}

export interface HttpRequest {
  readonly url: string;
  readonly method?: 'GET' | 'HEAD' | 'POST';
  /** A POST's body and its content type. */
  readonly payload?: { readonly type: string; readonly body: string };
  readonly range?: string;
  readonly timeoutMs: number;
  /** 'text' keeps the body (manifests); 'count' reads and drops it (segments). */
  readonly body: 'text' | 'count';
}

/** A request failed before an HTTP status: `kind` is what the report groups errors by. */
export class TransportError extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly ms: number,
  ) {
    super(message);
  }
}

/** Aborted because the run stopped: not an error of the system under test. */
export class StoppedError extends Error {}

export interface HttpClient {
  send(req: HttpRequest, stop: AbortSignal): Promise<HttpResult>;
  close(): Promise<void>;
}

function errorKind(err: unknown): string {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT')
    return 'timeout';
  const code = e.code ?? e.cause?.code;
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'connection_reset';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  return code ? code.toLowerCase() : (e.name ?? 'error').toLowerCase();
}

/**
 * One undici Agent for all simulated players: unlimited connections per host (a blocking LL-HLS
 * reload holds one), no retries (a player's failed request is a failure the report must count).
 */
export function createHttpClient(isAllowed: (url: URL) => boolean): HttpClient {
  const agent = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 4_000 });
  return {
    async send(req, stop) {
      const started = performance.now();
      const target = new URL(req.url);
      if (!isAllowed(target)) {
        throw new TransportError('host_not_allowed', `${target.host} is not a target of this run`, 0);
      }
      const timeout = AbortSignal.timeout(req.timeoutMs);
      const signal = AbortSignal.any([stop, timeout]);
      try {
        const headers: Record<string, string> = { 'user-agent': 'switchyard-loadtest' };
        if (req.range !== undefined) headers.range = req.range;
        if (req.payload !== undefined) headers['content-type'] = req.payload.type;
        const res = await request(target, {
          method: req.method ?? 'GET',
          headers,
          ...(req.payload === undefined ? {} : { body: req.payload.body }),
          signal,
          dispatcher: agent,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs,
        });
        let text = '';
        let bytes = 0;
        if (req.body === 'text') {
          text = await res.body.text();
          bytes = Buffer.byteLength(text);
        } else {
          for await (const chunk of res.body) bytes += (chunk as Buffer).length;
        }
        return { status: res.statusCode, headers: res.headers, text, bytes, ms: performance.now() - started };
      } catch (err) {
        if (stop.aborted) throw new StoppedError('stopped');
        const ms = performance.now() - started;
        if (timeout.aborted) throw new TransportError('timeout', `no answer within ${req.timeoutMs} ms`, ms);
        throw new TransportError(errorKind(err), (err as Error).message, ms);
      }
    },
    close() {
      return agent.close();
    },
  };
}

/** Hosts a run may talk to: loopback always, others only when the operator named them. */
export function hostAllowList(named: readonly string[]): (url: URL) => boolean {
  const hosts = new Set(['127.0.0.1', 'localhost', '[::1]']);
  for (const u of named) hosts.add(new URL(u).hostname);
  return (url) => (url.protocol === 'http:' || url.protocol === 'https:') && hosts.has(url.hostname);
}
