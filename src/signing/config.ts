/**
 * The `cdns[].auth` config block: one strict object for every scheme, checked per scheme (which keys
 * it takes, which it needs, and the format of every key) so `check-config` names each problem by path.
 */
import { z } from 'zod';
import { duration } from '../duration';
import { checkAkamaiAclEntry, checkAkamaiKey } from './akamai';
import { checkKeyPairId, parseRsaPrivateKey } from './cloudfront';
import { checkCloudflareKey } from './cloudflare';
import { checkFastlyKey } from './fastly';
import { checkHmacQueryKey } from './hmac-query';

export const SCHEMES = [
  'akamai-token2',
  'cloudfront',
  'cloudflare-hmac',
  'fastly-token',
  'hmac-query',
] as const;
export type SchemeName = (typeof SCHEMES)[number];

export function isBuiltinScheme(scheme: string): scheme is SchemeName {
  return (SCHEMES as readonly string[]).includes(scheme);
}

/** The `auth` keys that belong to built-in schemes (a custom or registered signer takes `options`). */
export const SCHEME_KEYS = [
  'key',
  'keys',
  'keyPairId',
  'privateKey',
  'acl',
  'resource',
  'param',
  'form',
  'policy',
  'algorithm',
  'ip',
  'sessionId',
  'payload',
] as const;

/** Query parameter each scheme puts its token in unless `param` says otherwise. */
export const DEFAULT_PARAM: Readonly<Record<Exclude<SchemeName, 'cloudfront'>, string>> = {
  'akamai-token2': 'hdnts',
  'cloudflare-hmac': 'verify',
  'fastly-token': 'token',
  'hmac-query': 'token',
};

const PARAM = /^[A-Za-z0-9_.-]{1,64}$/;
const oneOrMany = z.union([z.string(), z.array(z.string()).min(1)]);

const cloudFrontKeySchema = z.strictObject({ keyPairId: z.string(), privateKey: z.string() });

export const authSchema = z
  .strictObject({
    /** A built-in scheme, `custom` (with module), or the name of a signer registered in process. */
    scheme: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,63}$/,
        `expected a scheme: one of ${SCHEMES.join(', ')}, or a registered signer`,
      )
      .optional(),
    /** A custom signer: a module path (resolved against the config file's folder) and its options. */
    module: z.string().min(1).optional(),
    options: z.record(z.string(), z.unknown()).optional(),
    /** The signing key, or several for rotation: the first signs. */
    key: oneOrMany.optional(),
    /** Several keys for rotation (the first signs); CloudFront: [{ keyPairId, privateKey }, ...]. */
    keys: z
      .array(z.union([z.string(), cloudFrontKeySchema]))
      .min(1)
      .optional(),
    keyPairId: z.string().optional(),
    privateKey: z.string().optional(),
    /** Token scope: a path prefix pattern; `{stream}` is the stream id. Akamai: several joined by `!`. */
    acl: oneOrMany.optional(),
    /** CloudFront custom policy Resource; `{stream}` is the stream id. */
    resource: z.string().optional(),
    /** Validity of a token (see the expiry rule); Cloudflare: the WAF rule's ttl. */
    window: duration.default(600_000),
    /** Query parameter name (scheme default). */
    param: z
      .string()
      .regex(PARAM, 'expected a query parameter name of letters, digits, "_", "." or "-"')
      .optional(),
    /** Keep the origin's own query (e.g. an origin token) on this CDN's URLs. */
    keepOriginQuery: z.boolean().default(true),
    /** Akamai: `acl` (one token per scope) or `url` (each URL signed). */
    form: z.enum(['acl', 'url']).optional(),
    /** CloudFront: `custom` (wildcard resource) or `canned` (each URL signed). */
    policy: z.enum(['custom', 'canned']).optional(),
    /** Akamai: sha256 (default), sha1, md5; Fastly: sha1 (default), sha256; CloudFront: SHA1, SHA256. */
    algorithm: z.enum(['sha256', 'sha1', 'md5', 'SHA1', 'SHA256']).optional(),
    /** Akamai `ip=` / CloudFront `AWS:SourceIp`: only for a fixed address (tokens are shared by sessions). */
    ip: z.string().optional(),
    /** Akamai `id=` and `data=`: fixed values (never a viewer's session: tokens are shared). */
    sessionId: z.string().optional(),
    payload: z.string().optional(),
    /** Akamai `st=` / CloudFront DateGreaterThan: the epoch's start. */
    startTime: z.boolean().default(true),
    /** Akamai escapeEarly. */
    escapeEarly: z.boolean().default(false),
    /** Cloudflare: base64url MAC (the WAF rule's 's' flag). */
    urlSafe: z.boolean().default(false),
  })
  .superRefine((a, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const scheme = a.scheme ?? (a.module !== undefined ? 'custom' : undefined);
    if (scheme === undefined) {
      issue(
        ['scheme'],
        `expected a scheme: one of ${SCHEMES.join(', ')}, or module: PATH for a custom signer`,
      );
      return;
    }
    if (scheme === 'custom') {
      if (a.module === undefined) issue(['module'], 'a custom signer needs module: PATH');
      return;
    }
    // Not built in: a signer registered in process (`signers`), which only the edge that holds the
    // registry can judge (src/configure.ts).
    if (!isBuiltinScheme(scheme)) return;
    if (a.module !== undefined) issue(['module'], `module is for custom signers, not ${scheme}`);
    if (a.options !== undefined) issue(['options'], `options are for custom signers, not ${scheme}`);
    const allowed: Record<SchemeName, readonly string[]> = {
      'akamai-token2': ['key', 'keys', 'acl', 'param', 'form', 'algorithm', 'ip', 'sessionId', 'payload'],
      cloudfront: ['keys', 'keyPairId', 'privateKey', 'resource', 'policy', 'algorithm', 'ip'],
      'cloudflare-hmac': ['key', 'keys', 'param'],
      'fastly-token': ['key', 'keys', 'param', 'algorithm'],
      'hmac-query': ['key', 'keys', 'acl', 'param'],
    };
    for (const k of SCHEME_KEYS) {
      if (a[k] !== undefined && !allowed[scheme].includes(k)) issue([k], `${k} does not apply to ${scheme}`);
    }
    if (scheme === 'cloudfront') {
      const keys = cloudFrontKeys(a);
      if (keys.length === 0)
        issue(
          ['privateKey'],
          'cloudfront needs keyPairId and privateKey (or keys: [{ keyPairId, privateKey }])',
        );
      if ((a.keyPairId === undefined) !== (a.privateKey === undefined))
        issue(
          [a.keyPairId === undefined ? 'keyPairId' : 'privateKey'],
          'keyPairId and privateKey go together',
        );
      (a.keys ?? []).forEach((k, i) => {
        if (typeof k === 'string') issue(['keys', i], 'expected { keyPairId, privateKey }');
      });
      keys.forEach((k, i) => {
        const at = a.keyPairId !== undefined ? (i === 0 ? [] : ['keys', i - 1]) : ['keys', i];
        const idProblem = checkKeyPairId(k.keyPairId);
        if (idProblem) issue([...at, 'keyPairId'], idProblem);
        const key = parseRsaPrivateKey(k.privateKey);
        if (typeof key === 'string') issue([...at, 'privateKey'], key);
      });
      const policy = a.policy ?? 'custom';
      if (policy === 'custom' && a.resource === undefined)
        issue(['resource'], "a custom policy needs resource, e.g. 'https://cdn.example.net/{stream}/*'");
      if (policy === 'canned' && (a.resource !== undefined || a.ip !== undefined))
        issue(
          [a.resource !== undefined ? 'resource' : 'ip'],
          'a canned policy signs each URL: no resource or ip',
        );
      if (a.resource !== undefined && !/^(https?|\*):\/\/[^/]+\//.test(a.resource))
        issue(['resource'], "expected an absolute URL pattern like 'https://cdn.example.net/{stream}/*'");
      if (a.algorithm !== undefined && a.algorithm !== 'SHA1' && a.algorithm !== 'SHA256')
        issue(['algorithm'], 'cloudfront signs with SHA1 (default) or SHA256');
      return;
    }
    const keys = stringKeys(a);
    if (keys.length === 0) issue(['key'], `${scheme} needs key (or keys: [...], the first signs)`);
    (a.keys ?? []).forEach((k, i) => {
      if (typeof k !== 'string') issue(['keys', i], 'expected a key string');
    });
    const check =
      scheme === 'akamai-token2'
        ? checkAkamaiKey
        : scheme === 'fastly-token'
          ? checkFastlyKey
          : scheme === 'cloudflare-hmac'
            ? checkCloudflareKey
            : checkHmacQueryKey;
    const keyPaths = keyPathsOf(a);
    keys.forEach((k, i) => {
      const problem = check(k);
      if (problem) issue(keyPaths[i] ?? ['key'], problem);
    });
    if (scheme === 'akamai-token2') {
      if (a.algorithm !== undefined && !['sha256', 'sha1', 'md5'].includes(a.algorithm))
        issue(['algorithm'], 'akamai-token2 signs with sha256 (default), sha1 or md5');
      if (a.form === 'url' && a.acl !== undefined) issue(['acl'], 'the URL form signs each URL: no acl');
      for (const entry of toList(a.acl)) {
        const problem = checkAkamaiAclEntry(entry);
        if (problem) issue(['acl'], problem);
      }
    }
    if (
      scheme === 'fastly-token' &&
      a.algorithm !== undefined &&
      a.algorithm !== 'sha1' &&
      a.algorithm !== 'sha256'
    )
      issue(['algorithm'], 'fastly-token signs with sha1 (default) or sha256');
    if (scheme === 'hmac-query' && Array.isArray(a.acl)) issue(['acl'], 'hmac-query takes one prefix');
    if (scheme === 'hmac-query' && typeof a.acl === 'string' && !a.acl.startsWith('/'))
      issue(['acl'], "expected a path prefix starting with '/', e.g. '/{stream}/'");
  });

export type AuthConfig = z.output<typeof authSchema>;

function toList(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

/** Keys for string-keyed schemes, in signing order: `key` (one or a list), then `keys`. */
export function stringKeys(a: Pick<AuthConfig, 'key' | 'keys'>): string[] {
  return [...toList(a.key), ...(a.keys ?? []).filter((k): k is string => typeof k === 'string')];
}

function keyPathsOf(a: Pick<AuthConfig, 'key' | 'keys'>): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (typeof a.key === 'string') out.push(['key']);
  else if (Array.isArray(a.key)) a.key.forEach((_, i) => out.push(['key', i]));
  (a.keys ?? []).forEach((k, i) => {
    if (typeof k === 'string') out.push(['keys', i]);
  });
  return out;
}

export function cloudFrontKeys(
  a: Pick<AuthConfig, 'keyPairId' | 'privateKey' | 'keys'>,
): { keyPairId: string; privateKey: string }[] {
  const out: { keyPairId: string; privateKey: string }[] = [];
  if (a.keyPairId !== undefined && a.privateKey !== undefined)
    out.push({ keyPairId: a.keyPairId, privateKey: a.privateKey });
  for (const k of a.keys ?? []) if (typeof k !== 'string') out.push(k);
  return out;
}

/** The auth block as an operator may see it: every key replaced. */
export function redactAuth(a: AuthConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  if (a.key !== undefined) out.key = typeof a.key === 'string' ? '[redacted]' : a.key.map(() => '[redacted]');
  if (a.keys !== undefined)
    out.keys = a.keys.map((k) =>
      typeof k === 'string' ? '[redacted]' : { keyPairId: k.keyPairId, privateKey: '[redacted]' },
    );
  if (a.privateKey !== undefined) out.privateKey = '[redacted]';
  if (a.options !== undefined) out.options = '[redacted]';
  return out;
}
