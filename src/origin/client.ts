import { Agent, request, errors as undiciErrors } from 'undici';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { SwitchyardError } from '../errors';

export interface OriginClientOptions {
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  maxBodyBytes: number;
  maxRedirects: number;
  /** URL origins (scheme://host:port) that requests and redirects may reach. */
  allowedOrigins: readonly string[];
  /** Connections per origin host. */
  connections?: number;
}

export interface OriginResponse {
  /** The URL that answered, after redirects: relative URIs in the body resolve against it. */
  readonly url: string;
  readonly status: number;
  readonly contentType: string | undefined;
  readonly cacheControl: string | undefined;
  readonly body: string;
  readonly fetchedAt: number;
  readonly durationMs: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches manifests from configured origins: bounded time, bounded size (after decompression, so a
 * gzip bomb stops at the limit), redirects only to allowed origins, strict UTF-8.
 */
export class OriginClient {
  private readonly agent: Agent;
  private readonly allowed: ReadonlySet<string>;

  constructor(private readonly opts: OriginClientOptions) {
    this.agent = new Agent({
      connect: { timeout: opts.connectTimeout },
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
      connections: opts.connections ?? 64,
      keepAliveTimeout: 10_000,
    });
    this.allowed = new Set(opts.allowedOrigins.map((o) => new URL(o).origin));
  }

  /**
   * `holdMs` extends the wait for headers: an LL-HLS blocking reload is held by the origin until the
   * requested part exists.
   */
  async fetch(
    url: string,
    options: { signal?: AbortSignal; headers?: Record<string, string>; holdMs?: number } = {},
  ): Promise<OriginResponse> {
    const started = Date.now();
    const headersTimeout = this.opts.headersTimeout + (options.holdMs ?? 0);
    // A body that trickles in under bodyTimeout per chunk must still end: one deadline for the whole fetch.
    const deadline = AbortSignal.timeout(this.opts.connectTimeout + headersTimeout + this.opts.bodyTimeout);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    let current = url;
    for (let hop = 0; ; hop++) {
      this.assertAllowed(current, hop > 0);
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(current, {
          method: 'GET',
          dispatcher: this.agent,
          signal,
          headersTimeout,
          headers: { 'accept-encoding': 'gzip, br, deflate', 'user-agent': 'switchyard', ...options.headers },
        });
      } catch (err) {
        throw mapError(err, current, deadline);
      }
      const status = res.statusCode;
      if (REDIRECTS.has(status)) {
        res.body.resume();
        const location = header(res.headers, 'location');
        if (!location)
          throw new SwitchyardError('ORIGIN_REDIRECT', `origin answered ${status} without Location`);
        if (hop >= this.opts.maxRedirects) {
          throw new SwitchyardError(
            'ORIGIN_REDIRECT',
            `more than ${this.opts.maxRedirects} redirects from the origin`,
          );
        }
        current = new URL(location, current).href;
        continue;
      }
      if (status < 200 || status >= 300) {
        res.body.resume();
        if (status === 404 || status === 410) {
          throw new SwitchyardError('ORIGIN_NOT_FOUND', `origin has no such manifest (${status})`, {
            details: { originStatus: status },
          });
        }
        throw new SwitchyardError('ORIGIN_STATUS', `origin answered ${status}`, {
          details: { originStatus: status },
        });
      }
      const body = await readBody(res, this.opts.maxBodyBytes, signal).catch((err: unknown) => {
        throw mapError(err, current, deadline);
      });
      return {
        url: current,
        status,
        contentType: header(res.headers, 'content-type'),
        cacheControl: header(res.headers, 'cache-control'),
        body,
        fetchedAt: Date.now(),
        durationMs: Date.now() - started,
      };
    }
  }

  private assertAllowed(url: string, redirected: boolean): void {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      throw new SwitchyardError('ORIGIN_NOT_ALLOWED', 'origin URL is not valid');
    }
    if (!this.allowed.has(origin)) {
      throw new SwitchyardError(
        redirected ? 'ORIGIN_REDIRECT' : 'ORIGIN_NOT_ALLOWED',
        redirected
          ? 'origin redirected to a host that is not a configured origin'
          : 'not a configured origin',
      );
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Drops a response body we will not read. undici's body emits RequestAbortedError when destroyed
 * unread; without a listener that 'error' event is an uncaught exception that kills the process.
 */
function discard(res: Awaited<ReturnType<typeof request>>): void {
  res.body.on('error', () => undefined);
  res.body.destroy();
}

async function readBody(
  res: Awaited<ReturnType<typeof request>>,
  maxBytes: number,
  signal: AbortSignal,
): Promise<string> {
  const declared = Number(header(res.headers, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    discard(res);
    throw tooLarge(maxBytes);
  }
  const encoding = (header(res.headers, 'content-encoding') ?? 'identity').trim().toLowerCase();
  let decoder: Transform | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') decoder = createGunzip();
  else if (encoding === 'br') decoder = createBrotliDecompress();
  else if (encoding === 'deflate') decoder = createInflate();
  else if (encoding !== 'identity' && encoding !== '') {
    discard(res);
    throw new SwitchyardError(
      'ORIGIN_BAD_ENCODING',
      `origin used an unsupported content-encoding "${encoding}"`,
    );
  }
  const source = decoder ? res.body.pipe(decoder) : res.body;
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (signal.aborted) throw signal.reason;
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
    }
  } catch (err) {
    discard(res);
    decoder?.destroy();
    if (err instanceof SwitchyardError) throw err;
    if (decoder && (err as { code?: string }).code?.startsWith('Z_')) {
      throw new SwitchyardError('ORIGIN_BAD_ENCODING', `origin body is not valid ${encoding}`);
    }
    throw err;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks, total));
  } catch {
    throw new SwitchyardError('ORIGIN_BAD_ENCODING', 'origin body is not valid UTF-8');
  }
}

function tooLarge(maxBytes: number): SwitchyardError {
  return new SwitchyardError('ORIGIN_TOO_LARGE', `origin body is larger than ${maxBytes} bytes`);
}

function mapError(err: unknown, url: string, deadline: AbortSignal): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  const host = safeHost(url);
  if (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    deadline.aborted
  ) {
    return new SwitchyardError('ORIGIN_TIMEOUT', `origin ${host} timed out`, { cause: err });
  }
  const code = (err as { code?: string }).code ?? 'unknown';
  return new SwitchyardError('ORIGIN_UNREACHABLE', `origin ${host} unreachable (${code})`, {
    cause: err,
    details: { cause: code },
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid)';
  }
}
