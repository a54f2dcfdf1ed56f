import type { IncomingMessage } from 'node:http';
import { decodeRequest, flatten, hasCmcd, type CmcdData } from '../qoe/cmcd';
import type { Runtime } from './runtime';

/**
 * The CMCD a player request carried (query or CMCD-* headers): published on the runtime's QoE bus as
 * one signal about the CDN the session was on, and returned flat for the policy. Undefined (and no
 * work beyond a few string tests) when the request carries none.
 */
export function readRequestCmcd(
  runtime: Runtime,
  query: string,
  req: Pick<IncomingMessage, 'headers'>,
  carrier: 'manifest' | 'segment',
  sessionId: string,
): CmcdData | undefined {
  const headers = req.headers;
  if (!hasCmcd(query, headers)) return undefined;
  const decoded = decodeRequest(query, headers);
  if (!decoded) return undefined;
  const at = runtime.now();
  runtime.qoeReader.fromRequest({
    at,
    payload: decoded.payload,
    via: decoded.via,
    carrier,
    sessionId,
    cdn: runtime.store.sessions.get(sessionId, at)?.cdn,
    headers,
  });
  return flatten(decoded.payload);
}
