/**
 * Amazon CloudFront signed URLs, as CloudFront documents them and `@aws-sdk/cloudfront-signer` builds
 * them: a policy statement, RSA-SHA1 (or RSA-SHA256 with Hash-Algorithm=SHA256) signed with the key
 * pair's private key, base64 with `+ = /` replaced by `- _ ~`.
 * - custom policy (`resource` with wildcards, optional start time and source IP):
 *   `Policy=<b64 policy>&Key-Pair-Id=<id>&Signature=<sig>`: one token covers the whole resource.
 * - canned policy (exact URLs): `Expires=<s>&Key-Pair-Id=<id>&Signature=<sig>` over
 *   {"Statement":[{"Resource":URL,"Condition":{"DateLessThan":{"AWS:EpochTime":END}}}]}.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { SigningConfigError, type SignTarget, type TokenTimes, type UrlSigner } from './types';

export interface CloudFrontKey {
  readonly keyPairId: string;
  /** PEM (PKCS#1 or PKCS#8) RSA private key. */
  readonly privateKey: string;
}

export interface CloudFrontOptions {
  readonly keys: readonly CloudFrontKey[];
  /** `custom` (wildcard resource, one token per scope) or `canned` (each URL signed on its own). */
  readonly policy: 'custom' | 'canned';
  /** The policy's Resource (custom policy), {stream} already filled in. */
  readonly resource: string;
  /** Put DateGreaterThan (the epoch start) in a custom policy. */
  readonly startTime: boolean;
  /** Source IP or CIDR for a custom policy. */
  readonly ipAddress?: string;
  readonly hashAlgorithm: 'SHA1' | 'SHA256';
}

const KEY_PAIR_ID = /^[A-Z0-9]{8,64}$/;

export function checkKeyPairId(id: string): string | undefined {
  return KEY_PAIR_ID.test(id)
    ? undefined
    : 'expected a CloudFront key pair / public key id of upper-case letters and digits (e.g. K2JCJMDEHXQW5F)';
}

/** Environment variables often carry a PEM on one line with literal "\n". */
export function normalizePem(pem: string): string {
  return pem.includes('\\n') && !pem.includes('\n') ? pem.replace(/\\n/g, '\n') : pem;
}

export function parseRsaPrivateKey(pem: string): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPrivateKey(normalizePem(pem));
  } catch {
    return 'expected an RSA private key in PEM ("-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN PRIVATE KEY-----")';
  }
  if (key.asymmetricKeyType !== 'rsa')
    return `expected an RSA private key, got ${key.asymmetricKeyType ?? 'another kind'}`;
  return key;
}

/** CloudFront's URL-safe base64. */
export function cloudFrontBase64(b64: string): string {
  return b64.replace(/[+=/]/g, (c) => (c === '+' ? '-' : c === '=' ? '_' : '~'));
}

export function cloudFrontPolicy(
  resource: string,
  times: { expires: number; start?: number },
  ipAddress?: string,
): string {
  const condition: Record<string, unknown> = { DateLessThan: { 'AWS:EpochTime': times.expires } };
  if (times.start !== undefined) condition.DateGreaterThan = { 'AWS:EpochTime': times.start };
  if (ipAddress !== undefined) condition.IpAddress = { 'AWS:SourceIp': ipAddress };
  return JSON.stringify({ Statement: [{ Resource: resource, Condition: condition }] });
}

export function cloudFrontSigner(o: CloudFrontOptions): UrlSigner {
  const first = o.keys[0];
  if (first === undefined)
    throw new SigningConfigError('expected a key pair id and private key', ['privateKey']);
  const idProblem = checkKeyPairId(first.keyPairId);
  if (idProblem) throw new SigningConfigError(idProblem, ['keyPairId']);
  const key = parseRsaPrivateKey(first.privateKey);
  if (typeof key === 'string') throw new SigningConfigError(key, ['privateKey']);
  const algorithm = o.hashAlgorithm === 'SHA256' ? 'RSA-SHA256' : 'RSA-SHA1';
  const hashParam = o.hashAlgorithm === 'SHA256' ? '&Hash-Algorithm=SHA256' : '';
  const sign = (policy: string) => cloudFrontBase64(createSign(algorithm).update(policy).sign(key, 'base64'));
  return {
    scheme: 'cloudfront',
    perUrl: o.policy === 'canned',
    lifetimeAtCdn: false,
    params: ['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'],
    sign(target: SignTarget, times: TokenTimes): string {
      if (o.policy === 'canned') {
        const policy = cloudFrontPolicy(target.url, { expires: times.expires });
        return `Expires=${times.expires}&Key-Pair-Id=${first.keyPairId}&Signature=${sign(policy)}${hashParam}`;
      }
      const policy = cloudFrontPolicy(
        o.resource,
        { expires: times.expires, ...(o.startTime ? { start: times.start } : {}) },
        o.ipAddress,
      );
      const encoded = cloudFrontBase64(Buffer.from(policy).toString('base64'));
      return `Policy=${encoded}&Key-Pair-Id=${first.keyPairId}&Signature=${sign(policy)}${hashParam}`;
    },
  };
}
