import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { SwitchyardError } from '../errors';

/**
 * Stateless session tokens: base64url(JSON payload) + "." + base64url(HMAC-SHA256(secret, payload))[:22].
 * 22 base64url characters keep 132 bits of the MAC. No server memory per session: any instance that
 * holds the secrets can serve any session. Secrets rotate: the first signs, every one verifies (the
 * key id in the payload says which one signed, so verification costs one HMAC).
 */
export interface SessionClaims {
  /** Token format version. */
  readonly v: 1;
  /** Session id: 96 random bits, base64url. */
  readonly sid: string;
  /** Stream the session was opened for; a token is refused on any other stream. */
  readonly st: string;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Fingerprint of the signing secret: stable when the list is reordered or a secret is added. */
  readonly kid: string;
  /** Content steering: the pathway (CDN id) this token pins its media playlists to. */
  readonly p?: string;
}

const MAC_CHARS = 22;

/** Verified tokens remembered per signer, in two generations of this many (about 10 MB at most). */
const VERIFIED_GENERATION = 16_384;

/** Session ids are cut from a pool of random bytes filled this many ids at a time. */
const SID_BYTES = 12;
const SID_POOL_IDS = 512;

export function keyId(secret: string): string {
  return createHmac('sha256', secret).update('switchyard-key-id').digest('base64url').slice(0, 6);
}

export class TokenSigner {
  private readonly keys: ReadonlyMap<string, string>;
  private readonly signingKid: string;
  private readonly signingSecret: string;
  /**
   * Tokens whose signature checked out, by token string: a session reloading its playlists (and its
   * audio playlist right after) pays one HMAC per generation, not one per request. Two generations
   * keep it bounded without per-hit bookkeeping: when the current one is full it becomes the previous
   * and the oldest is dropped. Expiry and stream binding are still checked on every request.
   */
  private verified = new Map<string, SessionClaims>();
  private verifiedBefore = new Map<string, SessionClaims>();
  private readonly sidPool = Buffer.allocUnsafe(SID_BYTES * SID_POOL_IDS);
  private sidOffset = this.sidPool.length;

  constructor(
    secrets: readonly string[],
    private readonly maxAgeMs: number,
  ) {
    const first = secrets[0];
    if (first === undefined) throw new Error('TokenSigner: expected at least one secret');
    this.signingSecret = first;
    this.signingKid = keyId(first);
    this.keys = new Map(secrets.map((s) => [keyId(s), s]));
  }

  newSessionId(): string {
    if (this.sidOffset >= this.sidPool.length) {
      randomFillSync(this.sidPool);
      this.sidOffset = 0;
    }
    const start = this.sidOffset;
    this.sidOffset += SID_BYTES;
    return this.sidPool.toString('base64url', start, start + SID_BYTES);
  }

  /**
   * A token for a new session, or (with `sessionId` and `issuedAt` from existing claims) another token
   * of the same session, e.g. one pinned to a steering pathway.
   */
  mint(
    streamId: string,
    nowMs: number,
    sessionId: string = this.newSessionId(),
    extra: { issuedAt?: number; pathway?: string } = {},
  ): { token: string; claims: SessionClaims } {
    const claims: SessionClaims = {
      v: 1,
      sid: sessionId,
      st: streamId,
      iat: extra.issuedAt ?? Math.floor(nowMs / 1000),
      kid: this.signingKid,
      ...(extra.pathway === undefined ? {} : { p: extra.pathway }),
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: payload + '.' + mac(this.signingSecret, payload), claims };
  }

  /**
   * Verifies signature, stream binding and age; throws a 403 SwitchyardError otherwise. `streamId`
   * undefined accepts the stream the token names (routes whose URL carries no stream id).
   */
  verify(token: string, streamId: string | undefined, nowMs: number): SessionClaims {
    let claims = this.verified.get(token);
    if (claims === undefined) {
      claims = this.verifiedBefore.get(token);
      if (claims === undefined) claims = this.verifySignature(token);
      this.remember(token, claims);
    }
    if (streamId !== undefined && claims.st !== streamId) {
      throw new SwitchyardError('TOKEN_WRONG_STREAM', 'session token belongs to another stream');
    }
    const ageMs = nowMs - claims.iat * 1000;
    if (ageMs > this.maxAgeMs) throw new SwitchyardError('TOKEN_EXPIRED', 'session token expired');
    if (ageMs < -60_000) throw invalid('session token issued in the future');
    return claims;
  }

  private remember(token: string, claims: SessionClaims): void {
    if (this.verified.size >= VERIFIED_GENERATION) {
      this.verifiedBefore = this.verified;
      this.verified = new Map();
    }
    // A flat copy of the key: the token is usually a slice of the request URL, which it would keep alive.
    this.verified.set(flat(token), claims);
  }

  /** Signature and shape: what a remembered token need not repeat. */
  private verifySignature(token: string): SessionClaims {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 512) throw invalid('malformed session token');
    const payload = token.slice(0, dot);
    const given = token.slice(dot + 1);
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid('malformed session token');
    }
    if (!isClaims(claims)) throw invalid('malformed session token');
    const secret = this.keys.get(claims.kid);
    if (secret === undefined) throw invalid('session token signed with an unknown key');
    const expected = Buffer.from(mac(secret, payload));
    const actual = Buffer.from(given);
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      throw invalid('session token signature does not match');
    }
    return Object.freeze(claims);
  }
}

function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

function mac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url').slice(0, MAC_CHARS);
}

function invalid(message: string): SwitchyardError {
  return new SwitchyardError('TOKEN_INVALID', message);
}

function isClaims(x: unknown): x is SessionClaims {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as Record<string, unknown>;
  return (
    c.v === 1 &&
    typeof c.sid === 'string' &&
    c.sid.length > 0 &&
    c.sid.length <= 64 &&
    typeof c.st === 'string' &&
    typeof c.iat === 'number' &&
    Number.isFinite(c.iat) &&
    typeof c.kid === 'string' &&
    (c.p === undefined || typeof c.p === 'string')
  );
}
