/**
 * Builds the signer of one CDN for one stream from its `auth` config. The scope placeholders are
 * filled here: `{stream}` in `acl` and `resource` is the stream id; without `acl` a prefix-scoped
 * token covers the stream's folder on the CDN (`<baseUrl path><pathTemplate before {path}>*`).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { akamaiSigner } from './akamai';
import { cloudFrontSigner } from './cloudfront';
import { cloudflareSigner } from './cloudflare';
import { cloudFrontKeys, DEFAULT_PARAM, stringKeys, type AuthConfig } from './config';
import { fastlySigner } from './fastly';
import { hmacQuerySigner } from './hmac-query';
import { SigningConfigError, type SignTarget, type TokenTimes, type UrlSigner } from './types';

export { SigningConfigError, type SignTarget, type TokenTimes, type UrlSigner } from './types';
export { authSchema, redactAuth, SCHEMES, type AuthConfig } from './config';
export { mintTimes, usageNeedMs, epochLength, type UsageInfo, type MintTimes } from './epoch';

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

function fill(pattern: string, ctx: SignerContext): string {
  return pattern.replace(/\{stream\}/g, ctx.streamId);
}

/** The stream's folder on the CDN as a path, e.g. "/live1/". */
export function prefixPath(streamPrefix: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(\/[^?#]*)?/.exec(streamPrefix);
  return m?.[1] ?? '/';
}

export function loadSignerModule(spec: string, baseDir: string): CustomSignerModule {
  const req = createRequire(path.join(baseDir, 'noop.js'));
  const exported = req(spec) as unknown;
  const candidates = [
    (exported as { default?: unknown } | undefined)?.default,
    (exported as { signer?: unknown } | undefined)?.signer,
    exported,
  ];
  for (const c of candidates) {
    if (c && typeof (c as CustomSignerModule).create === 'function') return c as CustomSignerModule;
  }
  throw new SigningConfigError(
    'expected the module to export a signer { create(options, context) } as its default export or as "signer"',
    ['module'],
  );
}

export function createSigner(auth: AuthConfig, ctx: SignerContext, baseDir = process.cwd()): UrlSigner {
  const scheme = auth.scheme ?? 'custom';
  switch (scheme) {
    case 'akamai-token2': {
      const form = auth.form ?? 'acl';
      const acl =
        auth.acl === undefined
          ? [prefixPath(ctx.streamPrefix) + '*']
          : (typeof auth.acl === 'string' ? [auth.acl] : auth.acl).map((a) => fill(a, ctx));
      return akamaiSigner({
        keys: stringKeys(auth),
        param: auth.param ?? DEFAULT_PARAM['akamai-token2'],
        form,
        acl: form === 'acl' ? acl : [],
        algorithm: (auth.algorithm as 'sha256' | 'sha1' | 'md5' | undefined) ?? 'sha256',
        ...(auth.ip !== undefined ? { ip: auth.ip } : {}),
        ...(auth.sessionId !== undefined ? { sessionId: auth.sessionId } : {}),
        ...(auth.payload !== undefined ? { payload: auth.payload } : {}),
        startTime: auth.startTime,
        escapeEarly: auth.escapeEarly,
      });
    }
    case 'cloudfront':
      return cloudFrontSigner({
        keys: cloudFrontKeys(auth),
        policy: auth.policy ?? 'custom',
        resource: fill(auth.resource ?? '', ctx),
        startTime: auth.startTime,
        ...(auth.ip !== undefined ? { ipAddress: auth.ip } : {}),
        hashAlgorithm: auth.algorithm === 'SHA256' ? 'SHA256' : 'SHA1',
      });
    case 'cloudflare-hmac':
      return cloudflareSigner({
        keys: stringKeys(auth),
        param: auth.param ?? DEFAULT_PARAM['cloudflare-hmac'],
        urlSafe: auth.urlSafe,
      });
    case 'fastly-token':
      return fastlySigner({
        keys: stringKeys(auth),
        param: auth.param ?? DEFAULT_PARAM['fastly-token'],
        algorithm: auth.algorithm === 'sha256' ? 'sha256' : 'sha1',
      });
    case 'hmac-query':
      return hmacQuerySigner({
        keys: stringKeys(auth),
        param: auth.param ?? DEFAULT_PARAM['hmac-query'],
        prefix: typeof auth.acl === 'string' ? fill(auth.acl, ctx) : prefixPath(ctx.streamPrefix),
      });
    case 'custom': {
      const mod = loadSignerModule(auth.module ?? '', baseDir);
      const custom = mod.create(auth.options ?? {}, ctx);
      if (!custom || typeof custom.sign !== 'function')
        throw new SigningConfigError("the custom signer's create() must return { sign(target, times) }", [
          'module',
        ]);
      return {
        scheme: 'custom',
        perUrl: custom.perUrl === true,
        lifetimeAtCdn: false,
        params: custom.params ?? [],
        sign: (target, times) => custom.sign(target, times),
      };
    }
  }
}
