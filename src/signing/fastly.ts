/**
 * Fastly URL token validation, as Fastly documents it ("Enabling URL token validation", the VCL in
 * fastly/token-functions):
 *   token = <expiration>_<hex HMAC-SHA1(base64-decoded key, URL path + expiration)>
 * sent as `token=<token>`. The VCL compares against `digest.hmac_sha1(digest.base64_decode(KEY),
 * req.url.path + expiration)`; `algorithm: sha256` pairs with `digest.hmac_sha256`.
 */
import { createHmac } from 'node:crypto';
import { SigningConfigError, type SignTarget, type TokenTimes, type UrlSigner } from './types';

export interface FastlyOptions {
  /** Base64 keys (Fastly's VCL base64-decodes its secret); the first signs. */
  readonly keys: readonly string[];
  readonly param: string;
  readonly algorithm: 'sha1' | 'sha256';
}

export function checkFastlyKey(key: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0)
    return 'expected a Fastly key in base64 (as the VCL base64-decodes it)';
  if (Buffer.from(key, 'base64').length < 16) return 'expected a Fastly key of at least 16 bytes';
  return undefined;
}

export function fastlySigner(o: FastlyOptions): UrlSigner {
  const key = o.keys[0];
  if (key === undefined) throw new SigningConfigError('expected at least one key', ['key']);
  const problem = checkFastlyKey(key);
  if (problem) throw new SigningConfigError(problem, ['key']);
  const keyBytes = Buffer.from(key, 'base64');
  return {
    scheme: 'fastly-token',
    perUrl: true,
    lifetimeAtCdn: false,
    params: [o.param],
    sign(target: SignTarget, times: TokenTimes): string {
      const mac = createHmac(o.algorithm, keyBytes)
        .update(target.path + String(times.expires))
        .digest('hex');
      return `${o.param}=${times.expires}_${mac}`;
    },
  };
}
