/**
 * Per-CDN URL signing: the one interface every scheme implements. Signers are pure (no I/O, no clock):
 * the caller hands in the token's validity, so a token is a function of (key, scope, times) and every
 * session on one CDN in one epoch gets byte-identical URLs.
 */
import { SwitchyardError } from '../errors';

/** What a token is for: one URL, or (for prefix-scoped schemes) every URL under `scope`. */
export interface SignTarget {
  /** The URL's path as the CDN sees it (percent-encoded as written, no query), e.g. "/live1/v0/seg_7.ts". */
  readonly path: string;
  /** The whole URL without its query, e.g. "https://cdn-a.example.com/live1/v0/seg_7.ts". */
  readonly url: string;
}

/** A token's validity, in whole Unix seconds. */
export interface TokenTimes {
  /** Not valid before (the epoch's start). */
  readonly start: number;
  /** Not valid at or after. */
  readonly expires: number;
}

export interface UrlSigner {
  /** The scheme name from the config (`akamai-token2`, `cloudfront`, ..., or the custom module's). */
  readonly scheme: string;
  /**
   * True when a token covers exactly one URL (Akamai URL form, CloudFront canned policy, Cloudflare,
   * Fastly): then each URL is signed on its own. False when one token covers the stream's path prefix.
   */
  readonly perUrl: boolean;
  /**
   * True when the CDN, not the token, decides how long a token lives (Cloudflare's WAF `ttl`): the
   * token carries its issue time and `window` must equal the CDN's setting.
   */
  readonly lifetimeAtCdn: boolean;
  /**
   * The query parameters (`name=value&...`, already URL-safe, no leading `?`) that make `target`
   * acceptable to the CDN between `times.start` and `times.expires`.
   */
  sign(target: SignTarget, times: TokenTimes): string;
  /** Query parameter names the token consists of: dropped from an origin query so none is sent twice. */
  readonly params: readonly string[];
}

/**
 * Thrown for a key or option the scheme cannot use; config validation reports its message by path
 * (`cdns.N.auth.<path>`). A CONFIG_INVALID SwitchyardError like ConfigError.
 */
export class SigningConfigError extends SwitchyardError {
  constructor(
    message: string,
    readonly path: readonly (string | number)[] = [],
  ) {
    super('CONFIG_INVALID', message);
    this.name = 'SigningConfigError';
  }
}

export interface SignerContext {
  readonly streamId: string;
  /** The CDN's URL prefix for the stream's segments: baseUrl + pathTemplate up to {path}. */
  readonly streamPrefix: string;
}

/** What a custom signer module exports (default export, `signer` export, or module.exports). */
export interface CustomSignerModule {
  create(options: Readonly<Record<string, unknown>>, context: SignerContext): CustomSigner;
}
export interface CustomSigner {
  /** One token per URL (true) or per stream (false, default). */
  readonly perUrl?: boolean;
  /** Query parameter names of the token (dropped from an origin query). */
  readonly params?: readonly string[];
  sign(target: SignTarget, times: TokenTimes): string;
}
