/**
 * Cloudflare's timed HMAC token, the one a WAF custom rule checks with
 * `is_timed_hmac_valid_v0("<key>", http.request.uri, <ttl>, http.request.timestamp.sec, 8)`:
 *   message = the URL path + the issue timestamp (Unix seconds)
 *   mac     = base64(HMAC-SHA256(key as UTF-8 bytes, message))
 *   query   = verify=<timestamp>-<mac>, the whole value URL-encoded (encodeURIComponent)
 * The lifetime is the rule's `ttl`, counted from the timestamp: `window` must equal it, and the
 * timestamp is the epoch's start. With `urlSafe` (the rule's 's' flag) the mac is base64url.
 */
import { createHmac } from 'node:crypto';
import { SigningConfigError, type SignTarget, type TokenTimes, type UrlSigner } from './types';

export interface CloudflareOptions {
  readonly keys: readonly string[];
  readonly param: string;
  readonly urlSafe: boolean;
}

export function checkCloudflareKey(key: string): string | undefined {
  return key.length >= 16 ? undefined : 'expected a Cloudflare HMAC secret of at least 16 characters';
}

export function cloudflareSigner(o: CloudflareOptions): UrlSigner {
  const key = o.keys[0];
  if (key === undefined) throw new SigningConfigError('expected at least one key', ['key']);
  const problem = checkCloudflareKey(key);
  if (problem) throw new SigningConfigError(problem, ['key']);
  return {
    scheme: 'cloudflare-hmac',
    perUrl: true,
    lifetimeAtCdn: true,
    params: [o.param],
    sign(target: SignTarget, times: TokenTimes): string {
      const digest = createHmac('sha256', key)
        .update(target.path + String(times.start))
        .digest(o.urlSafe ? 'base64url' : 'base64');
      return `${o.param}=${encodeURIComponent(`${times.start}-${digest}`)}`;
    },
  };
}
