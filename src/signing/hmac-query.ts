/**
 * `hmac-query`: Switchyard's generic, documented prefix token, for CDNs and edge servers that verify
 * an HMAC in their own rules (nginx `secure_link`-style, a Lambda@Edge / Worker / VCL snippet):
 *   <param>=exp=<END>~prefix=<PREFIX>~sig=<SIG>
 *   PREFIX = the path prefix the token covers, percent-encoded (encodeURIComponent, and "~" as %7E)
 *   SIG    = base64url, unpadded, of HMAC-SHA256(key as UTF-8 bytes, "exp=<END>~prefix=<PREFIX>")
 * A verifier splits the value at "~sig=", recomputes the HMAC over what precedes it, and accepts a
 * request whose path starts with the decoded PREFIX before END (Unix seconds).
 */
import { createHmac } from 'node:crypto';
import { SigningConfigError, type SignTarget, type TokenTimes, type UrlSigner } from './types';

export interface HmacQueryOptions {
  readonly keys: readonly string[];
  readonly param: string;
  /** The path prefix ({stream} filled in); undefined signs each URL's own path. */
  readonly prefix: string | undefined;
}

export function checkHmacQueryKey(key: string): string | undefined {
  return key.length >= 16 ? undefined : 'expected an HMAC secret of at least 16 characters';
}

export function encodePrefix(prefix: string): string {
  return encodeURIComponent(prefix).replace(/~/g, '%7E');
}

export function hmacQuerySigner(o: HmacQueryOptions): UrlSigner {
  const key = o.keys[0];
  if (key === undefined) throw new SigningConfigError('expected at least one key', ['key']);
  const problem = checkHmacQueryKey(key);
  if (problem) throw new SigningConfigError(problem, ['key']);
  return {
    scheme: 'hmac-query',
    perUrl: o.prefix === undefined,
    lifetimeAtCdn: false,
    params: [o.param],
    sign(target: SignTarget, times: TokenTimes): string {
      const signed = `exp=${times.expires}~prefix=${encodePrefix(o.prefix ?? target.path)}`;
      const sig = createHmac('sha256', key).update(signed).digest('base64url');
      return `${o.param}=${signed}~sig=${sig}`;
    },
  };
}
