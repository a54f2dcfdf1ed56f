import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What a caller's X-Request-Id may look like to be echoed into logs and responses. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const SANE_SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The caller's X-Request-Id when it is sane (no spaces, quotes, control characters; ≤ 128 chars). */
export function givenRequestId(headers: IncomingHttpHeaders): string | undefined {
  const v = headers['x-request-id'];
  return typeof v === 'string' && SANE_REQUEST_ID.test(v) ? v : undefined;
}

/** The caller's request id, or a new one. Called on error and switch lines only: never per request. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  return givenRequestId(headers) ?? randomBytes(9).toString('base64url');
}

/**
 * The session id a `/s/<token>/` URL *claims*, for error logs (it is not verified here: a forged token
 * logs the id it claims, restricted to token characters, which is what an operator wants to grep for).
 */
export function claimedSessionId(url: string | undefined): string | undefined {
  if (!url?.startsWith('/s/')) return undefined;
  const end = url.indexOf('/', 3);
  const token = url.slice(3, end < 0 ? undefined : end);
  const dot = token.indexOf('.');
  if (dot <= 0 || dot > 512) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as unknown;
    const sid = (payload as { sid?: unknown } | null)?.sid;
    return typeof sid === 'string' && SANE_SESSION_ID.test(sid) ? sid : undefined;
  } catch {
    return undefined;
  }
}
