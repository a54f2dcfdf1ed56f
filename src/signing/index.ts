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
import { cloudFrontKeys, DEFAULT_PARAM, SCHEMES, stringKeys, type AuthConfig } from './config';
import { fastlySigner } from './fastly';
import { hmacQuerySigner } from './hmac-query';
import type { SignerRegistry } from './registry';
import { SigningConfigError, type CustomSignerModule, type SignerContext, type UrlSigner } from './types';

export {
  SigningConfigError,
  type CustomSigner,
  type CustomSignerModule,
  type SignerContext,
  type SignTarget,
  type TokenTimes,
  type UrlSigner,
} from './types';
export { authSchema, redactAuth, SCHEMES, type AuthConfig } from './config';
export { SignerRegistry } from './registry';
export { mintTimes, usageNeedMs, epochLength, type UsageInfo, type MintTimes } from './epoch';

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

export function createSigner(
  auth: AuthConfig,
  ctx: SignerContext,
  baseDir = process.cwd(),
  /** Signers supplied in process, for schemes that are neither built in nor `custom`. */
  signers?: SignerRegistry,
): UrlSigner {
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
    case 'custom':
      return fromModule(loadSignerModule(auth.module ?? '', baseDir), auth, ctx, 'custom', ['module']);
    default: {
      const registered = signers?.get(scheme);
      if (!registered) throw new SigningConfigError(unknownScheme(scheme, signers), ['scheme']);
      return fromModule(registered, auth, ctx, scheme, ['scheme']);
    }
  }
}

function unknownScheme(scheme: string, signers: SignerRegistry | undefined): string {
  const known = [...SCHEMES, ...(signers?.schemes() ?? [])];
  return `unknown scheme "${scheme}": expected one of ${known.join(', ')} (or module: PATH for a custom signer)`;
}

/** A custom signer module's or a registered signer's create(), checked and wrapped as a UrlSigner. */
function fromModule(
  mod: CustomSignerModule,
  auth: AuthConfig,
  ctx: SignerContext,
  scheme: string,
  at: readonly string[],
): UrlSigner {
  const custom = mod.create(auth.options ?? {}, ctx);
  if (!custom || typeof custom.sign !== 'function')
    throw new SigningConfigError("the custom signer's create() must return { sign(target, times) }", at);
  return {
    scheme,
    perUrl: custom.perUrl === true,
    lifetimeAtCdn: false,
    params: custom.params ?? [],
    sign: (target, times) => custom.sign(target, times),
  };
}
