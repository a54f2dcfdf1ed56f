import fc from 'fast-check';
import { SwitchyardError } from '../../src/errors';
import { keyId, TokenSigner } from '../../src/session/token';

const S1 = 'first-secret-0123456789';
const S2 = 'second-secret-0123456789';
const DAY = 24 * 3_600_000;
const NOW = 1_700_000_000_000;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof SwitchyardError)) throw err;
    return err.code;
  }
  return 'OK';
}

describe('TokenSigner', () => {
  const signer = new TokenSigner([S1], DAY);

  test('mint then verify returns the claims', () => {
    const { token, claims } = signer.mint('live1', NOW, 'sess-1');
    expect(claims).toEqual({ v: 1, sid: 'sess-1', st: 'live1', iat: 1_700_000_000, kid: keyId(S1) });
    expect(signer.verify(token, 'live1', NOW + 1000)).toEqual(claims);
    const [payload, mac] = token.split('.');
    expect(mac).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.parse(Buffer.from(payload as string, 'base64url').toString('utf8'))).toEqual(claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  test('session ids are 96 random bits', () => {
    const ids = new Set(Array.from({ length: 200 }, () => signer.newSessionId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(Buffer.from(id, 'base64url')).toHaveLength(12);
    expect(signer.mint('live1', NOW).claims.sid).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  test('the key id is stable and differs per secret', () => {
    expect(keyId(S1)).toBe(keyId(S1));
    expect(keyId(S1)).not.toBe(keyId(S2));
    expect(keyId(S1)).toMatch(/^[A-Za-z0-9_-]{6}$/);
  });

  test('a token for another stream is TOKEN_WRONG_STREAM', () => {
    const { token } = signer.mint('live1', NOW);
    expect(codeOf(() => signer.verify(token, 'live2', NOW))).toBe('TOKEN_WRONG_STREAM');
  });

  test('expiry: valid up to maxAge, TOKEN_EXPIRED after', () => {
    const { token } = signer.mint('live1', NOW);
    expect(codeOf(() => signer.verify(token, 'live1', NOW + DAY))).toBe('OK');
    expect(codeOf(() => signer.verify(token, 'live1', NOW + DAY + 1000))).toBe('TOKEN_EXPIRED');
    const e = (() => {
      try {
        signer.verify(token, 'live1', NOW + 2 * DAY);
      } catch (err) {
        return err as SwitchyardError;
      }
      return undefined;
    })();
    expect(e?.status).toBe(403);
  });

  test('tokens from the future beyond clock skew are refused', () => {
    const { token } = signer.mint('live1', NOW + 120_000);
    expect(codeOf(() => signer.verify(token, 'live1', NOW))).toBe('TOKEN_INVALID');
    const { token: near } = signer.mint('live1', NOW + 30_000);
    expect(codeOf(() => signer.verify(near, 'live1', NOW))).toBe('OK');
  });

  test('every single-character change of payload or MAC is refused', () => {
    const { token } = signer.mint('live1', NOW, 'abcdefghijklmnop');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let checked = 0;
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      for (const c of [alphabet[(alphabet.indexOf(token[i] as string) + 1) % 64], '.', '=']) {
        const tampered = token.slice(0, i) + c + token.slice(i + 1);
        if (tampered === token) continue;
        const code = codeOf(() => signer.verify(tampered, 'live1', NOW));
        // Base64url's last character may carry unused bits; decoding can map two texts to one payload,
        // but the MAC is computed over the text, so any change is still refused.
        expect([i, c, code]).toEqual([i, c, 'TOKEN_INVALID']);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(token.length * 2);
  });

  test('a token signed with another secret is refused', () => {
    const other = new TokenSigner([S2], DAY);
    const { token } = other.mint('live1', NOW);
    expect(codeOf(() => signer.verify(token, 'live1', NOW))).toBe('TOKEN_INVALID');
    // Same kid claim but the wrong MAC: a forged payload naming our key.
    const forgedPayload = Buffer.from(
      JSON.stringify({ v: 1, sid: 'x', st: 'live1', iat: NOW / 1000, kid: keyId(S1) }),
    ).toString('base64url');
    const forged = forgedPayload + '.' + (token.split('.')[1] as string);
    expect(codeOf(() => signer.verify(forged, 'live1', NOW))).toBe('TOKEN_INVALID');
  });

  test('key rotation: the new first secret signs, the old still verifies, a removed one fails', () => {
    const old = new TokenSigner([S1], DAY);
    const rotated = new TokenSigner([S2, S1], DAY);
    const retired = new TokenSigner([S2], DAY);
    const oldToken = old.mint('live1', NOW).token;
    const newMint = rotated.mint('live1', NOW);
    expect(newMint.claims.kid).toBe(keyId(S2));
    expect(codeOf(() => rotated.verify(oldToken, 'live1', NOW))).toBe('OK');
    expect(codeOf(() => rotated.verify(newMint.token, 'live1', NOW))).toBe('OK');
    expect(codeOf(() => retired.verify(newMint.token, 'live1', NOW))).toBe('OK');
    expect(codeOf(() => retired.verify(oldToken, 'live1', NOW))).toBe('TOKEN_INVALID');
    expect(codeOf(() => old.verify(newMint.token, 'live1', NOW))).toBe('TOKEN_INVALID');
  });

  test('a remembered token is still checked for stream and age on every use', () => {
    const own = new TokenSigner([S1], DAY);
    const { token } = own.mint('live1', NOW);
    expect(codeOf(() => own.verify(token, 'live1', NOW))).toBe('OK');
    // Remembered now: the checks that depend on the request and the clock still run.
    expect(codeOf(() => own.verify(token, 'live2', NOW))).toBe('TOKEN_WRONG_STREAM');
    expect(codeOf(() => own.verify(token, 'live1', NOW + DAY + 1000))).toBe('TOKEN_EXPIRED');
    expect(codeOf(() => own.verify(token, 'live1', NOW - 120_000))).toBe('TOKEN_INVALID');
    expect(codeOf(() => own.verify(token, 'live1', NOW + 1000))).toBe('OK');
    // A forged token next to a remembered one is not taken for it.
    expect(
      codeOf(() => own.verify(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), 'live1', NOW)),
    ).toBe('TOKEN_INVALID');
  });

  test('remembered tokens stay bounded and the oldest are checked again', () => {
    const own = new TokenSigner([S1], DAY);
    const tokens = Array.from({ length: 40_000 }, (_, i) => own.mint('live1', NOW, `s${i}`).token);
    for (const t of tokens) own.verify(t, 'live1', NOW);
    const sizes = own as unknown as { verified: Map<string, unknown>; verifiedBefore: Map<string, unknown> };
    expect(sizes.verified.size + sizes.verifiedBefore.size).toBeLessThanOrEqual(2 * 16_384);
    // Forgotten ones verify again from scratch (and still pass).
    expect(own.verify(tokens[0] as string, 'live1', NOW).sid).toBe('s0');
  });

  test('pooled session ids are 16 base64url characters and never repeat', () => {
    const own = new TokenSigner([S1], DAY);
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = own.newSessionId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(5000);
  });

  test('no secrets is a programming error', () => {
    expect(() => new TokenSigner([], DAY)).toThrow('at least one secret');
  });

  test.each([
    '',
    '.',
    'abc',
    '.abc',
    'abc.',
    'a'.repeat(600) + '.b',
    Buffer.from('null').toString('base64url') + '.x',
    Buffer.from('[]').toString('base64url') + '.x',
    Buffer.from('{"v":2,"sid":"a","st":"s","iat":1,"kid":"k"}').toString('base64url') + '.x',
    Buffer.from('{"v":1,"sid":"","st":"s","iat":1,"kid":"k"}').toString('base64url') + '.x',
    Buffer.from('{"v":1,"sid":"a","st":"s","iat":"1","kid":"k"}').toString('base64url') + '.x',
    Buffer.from('{"v":1,"sid":"a","st":"s","iat":1,"kid":"k"}').toString('base64url') + '.x',
    Buffer.from('{"v":1,"sid":"a","st":"s","iat":1,"kid":"__proto__"}').toString('base64url') + '.x',
    Buffer.from('{"v":1,"sid":"a","st":"s","iat":1,"kid":"constructor"}').toString('base64url') + '.x',
    Buffer.from('{"v":1,"sid":"a","st":"s","iat":1e999,"kid":"k"}').toString('base64url') + '.x',
    '%%%.***',
  ])('malformed %j is TOKEN_INVALID', (token) => {
    expect(codeOf(() => signer.verify(token, 's', NOW))).toBe('TOKEN_INVALID');
  });

  test('arbitrary input never throws anything but a 403 SwitchyardError', () => {
    const { token } = signer.mint('live1', NOW);
    const arb = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc
        .tuple(fc.nat(token.length), fc.string({ maxLength: 4 }))
        .map(([i, s]) => token.slice(0, i) + s + token.slice(i)),
      fc.json().map((j) => Buffer.from(j).toString('base64url') + '.' + (token.split('.')[1] as string)),
    );
    fc.assert(
      fc.property(arb, (t) => {
        try {
          signer.verify(t, 'live1', NOW);
          expect(t).toBe(token);
        } catch (err) {
          expect(err).toBeInstanceOf(SwitchyardError);
          expect((err as SwitchyardError).status).toBe(403);
        }
      }),
      { numRuns: 800 },
    );
  });
});
