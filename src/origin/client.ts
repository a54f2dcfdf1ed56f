import { Agent, buildConnector, request, errors as undiciErrors } from 'undici';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SwitchyardError } from '../errors';
import { isPrivateAddress } from './address';
import { CircuitBreaker, type BreakerState } from './breaker';

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
  /** Allow origins on loopback/private/link-local addresses (default: refused). */
  allowPrivateAddresses?: boolean;
  /** Fetches in flight per origin; more wait for a slot (within the fetch's deadline). Default 64. */
  maxConcurrent?: number;
  /** LL-HLS blocking reloads (fetches with holdMs) in flight per origin, in their own pool. Default 32. */
  maxBlocking?: number;
  /** Per-origin circuit breaker; default 5 consecutive transient failures, 5 s open. */
  breaker?: { failures: number; coolDown: number };
  /** Circuit breaker state changes, by origin (scheme://host:port). */
  onBreaker?: (origin: string, state: BreakerState) => void;
  /** The clock (ms since the epoch) of `fetchedAt`, durations and the breakers; default Date.now. */
  now?: () => number;
}

/** A counting semaphore: fetches to one origin beyond the limit wait in line. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async acquire(signal: AbortSignal): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next in line: `active` stays the same.
    if (next) next();
    else this.active--;
  }
}

/**
 * undici's connector, plus a check of the address the socket actually reached: a hostname that
 * resolves (or re-resolves, DNS rebinding) to a private address is refused after the DNS answer, not
 * before it.
 */
function guardedConnector(timeout: number, allowPrivate: boolean): buildConnector.connector {
  const connect = buildConnector({ timeout });
  if (allowPrivate) return connect;
  return (options, callback) =>
    connect(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('connect failed'), null);
      const address = socket.remoteAddress;
      if (address === undefined || isPrivateAddress(address)) {
        socket.destroy();
        return callback(
          new SwitchyardError(
            'ORIGIN_NOT_ALLOWED',
            'origin resolves to a private, loopback or link-local address (origin.allowPrivateAddresses is false)',
          ),
          null,
        );
      }
      callback(null, socket);
    });
}

/** Failures that say the origin is sick (the breaker counts them); not 404s, size or syntax. */
function isTransientFailure(err: SwitchyardError): boolean {
  if (err.code === 'ORIGIN_UNREACHABLE' || err.code === 'ORIGIN_TIMEOUT') return true;
  return err.code === 'ORIGIN_STATUS' && Number(err.details.originStatus) >= 500;
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
  /** The configured origin base URLs: a redirect must stay under one of them, not only on its host. */
  private readonly bases: readonly string[];
  private readonly slots = new Map<string, Slots>();
  private readonly blockingSlots = new Map<string, Slots>();
  private readonly breakers = new Map<string, CircuitBreaker>();

  private readonly now: () => number;

  constructor(private readonly opts: OriginClientOptions) {
    this.now = opts.now ?? Date.now;
    const maxConcurrent = opts.maxConcurrent ?? 64;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)
      throw new TypeError(`OriginClient: expected maxConcurrent to be an integer ≥ 1, got ${maxConcurrent}`);
    this.agent = new Agent({
      connect: guardedConnector(opts.connectTimeout, opts.allowPrivateAddresses === true),
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
      // Held blocking reloads occupy connections of their own, beside the plain fetches' ones.
      connections: opts.connections ?? maxConcurrent + (opts.maxBlocking ?? 32),
      keepAliveTimeout: 10_000,
    });
    this.allowed = new Set(opts.allowedOrigins.map((o) => new URL(o).origin));
    this.bases = opts.allowedOrigins.map((o) => new URL(o).href);
  }

  /** The circuit breaker state of an origin (scheme://host:port). */
  breakerState(origin: string): BreakerState {
    return this.breakers.get(origin)?.current ?? 'closed';
  }

  private breakerFor(origin: string): CircuitBreaker {
    let b = this.breakers.get(origin);
    if (!b) {
      b = new CircuitBreaker({
        failures: this.opts.breaker?.failures ?? 5,
        coolDownMs: this.opts.breaker?.coolDown ?? 5_000,
        now: this.now,
        onChange: (state) => this.opts.onBreaker?.(origin, state),
      });
      this.breakers.set(origin, b);
    }
    return b;
  }

  private slotsFor(origin: string, blocking: boolean): Slots {
    const pools = blocking ? this.blockingSlots : this.slots;
    let s = pools.get(origin);
    if (!s) {
      s = new Slots(blocking ? (this.opts.maxBlocking ?? 32) : (this.opts.maxConcurrent ?? 64));
      pools.set(origin, s);
    }
    return s;
  }

  /**
   * `holdMs` extends the wait for headers: an LL-HLS blocking reload is held by the origin until the
   * requested part exists.
   */
  async fetch(
    url: string,
    options: { signal?: AbortSignal; headers?: Record<string, string>; holdMs?: number } = {},
  ): Promise<OriginResponse> {
    this.assertAllowed(url, false);
    const origin = new URL(url).origin;
    const breaker = this.breakerFor(origin);
    if (!breaker.tryAcquire()) {
      throw new SwitchyardError(
        'ORIGIN_UNREACHABLE',
        `origin ${safeHost(url)} unreachable (circuit open, next probe in ${breaker.retryInMs()} ms)`,
        { details: { cause: 'circuit_open' } },
      );
    }
    const started = this.now();
    const headersTimeout = this.opts.headersTimeout + (options.holdMs ?? 0);
    // A body that trickles in under bodyTimeout per chunk must still end: one deadline for the whole fetch.
    const deadline = AbortSignal.timeout(this.opts.connectTimeout + headersTimeout + this.opts.bodyTimeout);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const held = (options.holdMs ?? 0) > 0;
    const slots = this.slotsFor(origin, held);
    try {
      await slots.acquire(signal);
    } catch (err) {
      breaker.neutral();
      throw mapError(err, url, deadline);
    }
    try {
      // Whatever layer a fetch is stuck in, it settles by its deadline: the slot and the cache fill
      // waiting on it are never held past it.
      const response = await settleBy(
        this.fetchFrom(url, options.headers, headersTimeout, signal, deadline, started),
        signal,
        url,
        deadline,
      );
      breaker.success();
      return response;
    } catch (err) {
      // A held reload that times out says the part is not there yet, not that the origin is sick.
      if (
        err instanceof SwitchyardError &&
        isTransientFailure(err) &&
        !(held && err.code === 'ORIGIN_TIMEOUT')
      )
        breaker.failure(err.code === 'ORIGIN_STATUS' ? urlPath(url) : undefined);
      else breaker.neutral();
      throw err;
    } finally {
      slots.release();
    }
  }

  private async fetchFrom(
    url: string,
    extraHeaders: Record<string, string> | undefined,
    headersTimeout: number,
    signal: AbortSignal,
    deadline: AbortSignal,
    started: number,
  ): Promise<OriginResponse> {
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
          headers: { 'accept-encoding': 'gzip, br, deflate', 'user-agent': 'switchyard', ...extraHeaders },
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
      // One reading: the response is dated at the moment its duration ends.
      const fetchedAt = this.now();
      return {
        url: current,
        status,
        contentType: header(res.headers, 'content-type'),
        cacheControl: header(res.headers, 'cache-control'),
        body,
        fetchedAt,
        durationMs: fetchedAt - started,
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
    if (redirected && this.allowed.has(origin) && !this.bases.some((b) => new URL(url).href.startsWith(b))) {
      throw new SwitchyardError(
        'ORIGIN_REDIRECT',
        'origin redirected outside the configured origin base paths',
      );
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
  const chunks: Buffer[] = [];
  let total = 0;
  let limitError: SwitchyardError | undefined;
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      total += chunk.length;
      if (total > maxBytes) throw (limitError = tooLarge(maxBytes));
      chunks.push(chunk);
    }
  };
  // pipeline, not pipe: an error or abort anywhere (socket, decoder, size limit, deadline) destroys
  // every stream and rejects here. With pipe() a body that failed mid-transfer left the decoder
  // waiting for an end that never came, and the fetch (its cache fill, its origin slot) never settled.
  let bodyError: unknown;
  let decoderError: unknown;
  res.body.once('error', (e) => (bodyError ??= e));
  decoder?.once('error', (e) => (decoderError ??= e));
  try {
    if (decoder) await pipeline(res.body, decoder, sink, { signal });
    else await pipeline(res.body, sink, { signal });
  } catch (err) {
    discard(res);
    // The size limit first: tearing the decoder down mid-stream can surface an error of its own.
    if (limitError) throw limitError;
    if (err instanceof SwitchyardError) throw err;
    // The decoder's own error (not the body's error passed on to it) means the bytes were not valid.
    if (decoder && decoderError !== undefined && decoderError !== bodyError && err === decoderError) {
      throw new SwitchyardError('ORIGIN_BAD_ENCODING', `origin body is not valid ${encoding}`, {
        cause: err,
      });
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

/** `work`, or a typed timeout/abort error as soon as `signal` aborts, whichever comes first. */
function settleBy<T>(work: Promise<T>, signal: AbortSignal, url: string, deadline: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(mapError(signal.reason, url, deadline));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      reject(mapError(signal.reason, url, deadline));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof SwitchyardError ? e : mapError(e, url, deadline));
      },
    );
  });
}

/** The path of a URL without its query (distinct URLs for the breaker are distinct paths). */
function urlPath(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid)';
  }
}
