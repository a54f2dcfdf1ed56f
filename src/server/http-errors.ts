import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { toSwitchyardError } from '../errors';
import { claimedSessionId, requestIdOf } from './request-id';

/**
 * The one place that writes error responses: `{ "error": { "code", "message", "details"? } }` with the
 * code's status. Internal errors are logged with their cause and answered without it. Returns the
 * body's length in bytes (0 when the response had already started and was cut).
 */
export function sendError(
  res: ServerResponse,
  thrown: unknown,
  logger: Logger,
  context: Record<string, unknown> = {},
  extraHeaders: Record<string, string> = {},
): number {
  const err = toSwitchyardError(thrown);
  const level = err.status >= 500 ? (err.code === 'INTERNAL' ? 'error' : 'warn') : 'info';
  // Only error responses carry a request id: successful manifests stay free of per-request work.
  const req = res.req as ServerResponse['req'] | undefined;
  const requestId = req ? requestIdOf(req.headers) : undefined;
  const session = claimedSessionId(req?.url);
  logger[level](
    {
      requestId,
      ...(session === undefined ? {} : { session }),
      ...context,
      // The error's own facts, then what no detail may overwrite.
      ...err.details,
      event: 'request_error',
      code: err.code,
      status: err.status,
      err: err.code === 'INTERNAL' ? err.cause : undefined,
    },
    err.message,
  );
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const hasDetails = Object.keys(err.details).length > 0;
  const body = JSON.stringify({
    error: { code: err.code, message: err.message, ...(hasDetails ? { details: err.details } : {}) },
  });
  res.writeHead(err.status, {
    ...extraHeaders,
    ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Load shedding and per-client caps say when to come back.
    ...(typeof err.details.retryAfter === 'number' ? { 'retry-after': String(err.details.retryAfter) } : {}),
  });
  res.end(req?.method === 'HEAD' ? undefined : body);
  return Buffer.byteLength(body);
}
