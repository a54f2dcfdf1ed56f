/**
 * Akamai Auth Token 2.0 (EdgeAuth), as Akamai's reference implementations (EdgeAuth-Token-Node,
 * -Python, -Java) build it:
 *   token   = [ip=IP~][st=START~]exp=END[~acl=ACL][~id=ID][~data=DATA]~hmac=HEX
 *   hmac    = HMAC-<alg>(hex-decoded key, the fields before hmac, plus "~url=URL" in URL form, "~" joined)
 * The ACL is a path pattern (`*` wildcard), several joined with `!`; the URL form signs one path.
 * Without escapeEarly (the default, as in the reference code) values go in as written, so `~` (the
 * field delimiter) and, inside one ACL entry, `!` (the ACL delimiter) cannot appear in them.
 */
import { createHmac } from 'node:crypto';
import { SigningConfigError, type SignTarget, type TokenTimes, type UrlSigner } from './types';

export interface AkamaiOptions {
  /** Hex keys; the first signs. */
  readonly keys: readonly string[];
  /** Query parameter name: `hdnts` for Akamai Media Delivery, `__token__` in the reference code. */
  readonly param: string;
  /** `acl`: one token for every URL matching the ACL; `url`: each URL signed on its own. */
  readonly form: 'acl' | 'url';
  /** ACL entries (already with {stream} filled in), for the ACL form. */
  readonly acl: readonly string[];
  readonly algorithm: 'sha256' | 'sha1' | 'md5';
  readonly ip?: string;
  readonly sessionId?: string;
  readonly payload?: string;
  /** Put `st=` in the token (the reference code does when a start time is given). */
  readonly startTime: boolean;
  readonly escapeEarly: boolean;
}

/** Akamai's escapeEarly: encodeURIComponent, plus ~ ' *, with lower-case hex digits. */
export function akamaiEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[~'*]/g, (c) => '%' + c.charCodeAt(0).toString(16))
    .replace(/%../g, (m) => m.toLowerCase());
}

export function checkAkamaiKey(key: string): string | undefined {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(key)) return 'expected an Akamai key in hex (an even number of 0-9a-f)';
  if (key.length < 16) return 'expected an Akamai key of at least 8 bytes (16 hex digits)';
  return undefined;
}

export function checkAkamaiAclEntry(entry: string): string | undefined {
  if (entry === '') return 'expected a non-empty ACL entry';
  if (entry.includes('~')) return 'an ACL cannot contain "~" (the token field delimiter)';
  if (entry.includes('!')) return 'an ACL entry cannot contain "!" (the ACL delimiter); list entries instead';
  if (/[\s&#"'<>\\]/.test(entry))
    return 'an ACL cannot contain whitespace, "&", "#", quotes, "<", ">" or "\\"';
  return undefined;
}

export function akamaiSigner(o: AkamaiOptions): UrlSigner {
  const key = o.keys[0];
  if (key === undefined) throw new SigningConfigError('expected at least one key', ['key']);
  const problem = checkAkamaiKey(key);
  if (problem) throw new SigningConfigError(problem, ['key']);
  const keyBytes = Buffer.from(key, 'hex');
  const esc = (s: string) => (o.escapeEarly ? akamaiEscape(s) : s);
  if (o.form === 'acl') {
    if (o.acl.length === 0) throw new SigningConfigError('expected an ACL', ['acl']);
    for (const entry of o.acl) {
      const p = checkAkamaiAclEntry(entry);
      if (p) throw new SigningConfigError(p, ['acl']);
    }
  }
  const acl = o.acl.join('!');
  return {
    scheme: 'akamai-token2',
    perUrl: o.form === 'url',
    lifetimeAtCdn: false,
    params: [o.param],
    sign(target: SignTarget, times: TokenTimes): string {
      const fields: string[] = [];
      if (o.ip !== undefined) fields.push('ip=' + esc(o.ip));
      if (o.startTime) fields.push('st=' + times.start);
      fields.push('exp=' + times.expires);
      if (o.form === 'acl') fields.push('acl=' + acl);
      if (o.sessionId !== undefined) fields.push('id=' + esc(o.sessionId));
      if (o.payload !== undefined) fields.push('data=' + esc(o.payload));
      const hashed = o.form === 'url' ? [...fields, 'url=' + esc(target.path)] : fields;
      const hmac = createHmac(o.algorithm, keyBytes).update(hashed.join('~')).digest('hex');
      fields.push('hmac=' + hmac);
      return o.param + '=' + fields.join('~');
    },
  };
}
