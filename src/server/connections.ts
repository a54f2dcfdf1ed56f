import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionCutReason } from '../metrics';

/** What one player connection may hold (config `limits`, read per request so a reload applies). */
export interface ConnectionLimits {
  /** Requests one connection may have waiting for their answers (HTTP/1.1 pipelining). */
  readonly maxPipelined: number;
  /** Bytes of answers written to one connection that its client has not read yet. */
  readonly maxUnreadBytes: number;
}

/** Socket timeouts (config `limits`, read at start like the listen address). */
export interface ConnectionTimeouts {
  /** Until the request headers are complete (slowloris). */
  readonly headersTimeout: number;
  /** Until the whole request is received. */
  readonly requestTimeout: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeout: number;
  /** A connection that makes no progress (nothing read, nothing written) while it owes or holds output. */
  readonly idleTimeout: number;
}

interface ConnectionState {
  /** Responses of this connection not finished yet, in request order (the first is being written). */
  readonly open: Set<ServerResponse>;
  readonly guard: ConnectionGuard;
  cut: boolean;
}

const STATE = new WeakMap<Socket, ConnectionState>();

/**
 * Bytes this connection owes its client that the client has not taken: the socket's own buffer (the
 * kernel's is full when the client does not read) plus the answers queued behind the one in progress
 * (a pipelined response is buffered by Node until it reaches the head of the line).
 */
export function unreadBytes(socket: Socket): number {
  let n = socket.writableLength;
  const st = STATE.get(socket);
  if (st) for (const res of st.open) if (res.socket === null) n += res.writableLength;
  return n;
}

/**
 * Bounds what one client connection can make Switchyard hold: answers queued for requests it pipelined
 * and output it does not read. A connection past either bound is closed at once (its queued answers
 * are dropped: a client that pipelines hundreds of requests without reading is not a player), counted
 * by reason. Node's own parser pauses reading a connection whose output backs up, but only between
 * chunks: requests that arrived together would each be answered into memory.
 */
export class ConnectionGuard {
  constructor(
    private readonly limits: () => ConnectionLimits,
    private readonly onCut: (reason: ConnectionCutReason) => void,
  ) {}

  /** First thing for every request: false when the connection is cut (the request gets no answer). */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = req.socket;
    let st = STATE.get(socket);
    if (!st) {
      st = { open: new Set(), guard: this, cut: false };
      STATE.set(socket, st);
    }
    if (st.cut) return false;
    const limits = this.limits();
    if (st.open.size >= limits.maxPipelined) return this.cut(socket, st, 'pipelining');
    if (unreadBytes(socket) > limits.maxUnreadBytes) return this.cut(socket, st, 'unread');
    st.open.add(res);
    // A response emits 'close' once it is finished, or when its connection closes.
    const open = st.open;
    res.once('close', () => open.delete(res));
    return true;
  }

  /** See mayAnswer(). */
  beforeAnswer(socket: Socket, st: ConnectionState): boolean {
    if (st.cut) return false;
    if (unreadBytes(socket) > this.limits().maxUnreadBytes) return this.cut(socket, st, 'unread');
    return true;
  }

  /**
   * A connection's socket timed out (no bytes moved for `idleTimeout`, or its keep-alive ran out):
   * while Switchyard is still working on one of its answers (an origin fetch, a held blocking reload,
   * each bounded by its own deadline) the wait goes on; otherwise the connection is closed.
   */
  timedOut(socket: Socket, idleTimeout: number): void {
    const st = STATE.get(socket);
    if (st && !st.cut) {
      for (const res of st.open) {
        if (!res.headersSent) {
          socket.setTimeout(idleTimeout);
          return;
        }
      }
      // Output the client has not taken: a reader that stopped reading.
      if (st.open.size > 0 || socket.writableLength > 0) return void this.cut(socket, st, 'idle');
    }
    socket.destroy();
  }

  cut(socket: Socket, st: ConnectionState, reason: ConnectionCutReason): false {
    st.cut = true;
    this.onCut(reason);
    socket.destroy();
    return false;
  }
}

/**
 * Whether an answer may still be written to this request's connection: not when it was cut, and not
 * when more than maxUnreadBytes of earlier answers wait unread there (answers that were computed
 * while the client pipelined, e.g. cache misses, arrive together; the first one may be large).
 */
export function mayAnswer(req: IncomingMessage): boolean {
  const st = STATE.get(req.socket);
  return st === undefined || st.guard.beforeAnswer(req.socket, st);
}

/** Applies the socket timeouts to an http.Server, with the guard deciding what an idle socket means. */
export function applyTimeouts(server: Server, timeouts: ConnectionTimeouts, guard: ConnectionGuard): void {
  server.headersTimeout = timeouts.headersTimeout;
  server.requestTimeout = timeouts.requestTimeout;
  server.keepAliveTimeout = timeouts.keepAliveTimeout;
  server.timeout = timeouts.idleTimeout;
  server.on('timeout', (socket: Socket) => guard.timedOut(socket, timeouts.idleTimeout));
}

/**
 * How often Node checks headersTimeout and requestTimeout. Its default (30 s) let a slowloris client
 * hold a socket for up to 40 s past a 10 s headersTimeout; a quarter of the shorter bound keeps the
 * close within 25% of it.
 */
export function checkingInterval(timeouts: ConnectionTimeouts): number {
  const shortest = Math.min(timeouts.headersTimeout, timeouts.requestTimeout);
  return Math.max(50, Math.min(30_000, Math.floor(shortest / 4)));
}
