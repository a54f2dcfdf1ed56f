/**
 * Each scheme against the vendor's own library where one exists (akamai-edgeauth,
 * @aws-sdk/cloudfront-signer) with a fixed clock, and against the fixture CDNs' independent verifier.
 */
import { generateKeyPairSync } from 'node:crypto';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { verifyRequest, type CdnAuth } from '../../fixtures/servers/cdn-auth';
import { authSchema, createSigner, type AuthConfig } from '../../src/signing';
import { akamaiEscape } from '../../src/signing/akamai';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const EdgeAuth = require('akamai-edgeauth') as new (o: Record<string, unknown>) => {
  generateACLToken(acl: string | string[]): string;
  generateURLToken(url: string): string;
};

const AKAMAI_KEY = '52a152a152a152a152a152a152a1';
const START = 1_764_547_200; // 2025-12-01T00:00:00Z
const END = START + 900;
const times = { start: START, expires: END };
const ctx = { streamId: 'live1', streamPrefix: 'https://cdn-a.example.com/live1/' };

function auth(raw: Record<string, unknown>): AuthConfig {
  return authSchema.parse(raw);
}

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('akamai-token2', () => {
  it('ACL form equals the reference library byte for byte (st, exp, acl, hmac)', () => {
    const signer = createSigner(auth({ scheme: 'akamai-token2', key: AKAMAI_KEY }), ctx);
    const query = signer.sign({ path: '/live1/v0/seg_1.ts', url: '' }, times);
    const expected = new EdgeAuth({ key: AKAMAI_KEY, startTime: START, endTime: END }).generateACLToken(
      '/live1/*',
    );
    expect(query).toBe('hdnts=' + expected);
    expect(expected).toMatch(/^st=\d+~exp=\d+~acl=\/live1\/\*~hmac=[0-9a-f]{64}$/);
  });

  it('several ACL entries join with "!"; {stream} fills in; sha1; ip and id fields', () => {
    const signer = createSigner(
      auth({
        scheme: 'akamai-token2',
        key: AKAMAI_KEY,
        acl: ['/{stream}/*', '/shared/*'],
        algorithm: 'sha1',
        ip: '192.0.2.1',
        sessionId: 'fixed-id',
        param: '__token__',
      }),
      ctx,
    );
    const expected = new EdgeAuth({
      key: AKAMAI_KEY,
      startTime: START,
      endTime: END,
      algorithm: 'sha1',
      ip: '192.0.2.1',
      sessionId: 'fixed-id',
    }).generateACLToken(['/live1/*', '/shared/*']);
    expect(signer.sign({ path: '/x', url: '' }, times)).toBe('__token__=' + expected);
  });

  it('URL form signs each path (with and without escapeEarly) as the reference library does', () => {
    for (const escapeEarly of [false, true]) {
      const signer = createSigner(
        auth({ scheme: 'akamai-token2', key: AKAMAI_KEY, form: 'url', escapeEarly }),
        ctx,
      );
      expect(signer.perUrl).toBe(true);
      const path = '/live1/v0/seg 1~x.ts';
      const expected = new EdgeAuth({
        key: AKAMAI_KEY,
        startTime: START,
        endTime: END,
        escapeEarly,
      }).generateURLToken(path);
      expect(signer.sign({ path, url: '' }, times)).toBe('hdnts=' + expected);
    }
    expect(akamaiEscape("/a b~'*")).toBe('%2fa%20b%7e%27%2a');
  });

  it('without startTime there is no st field', () => {
    const signer = createSigner(auth({ scheme: 'akamai-token2', key: AKAMAI_KEY, startTime: false }), ctx);
    const expected = new EdgeAuth({ key: AKAMAI_KEY, endTime: END }).generateACLToken('/live1/*');
    expect(signer.sign({ path: '/x', url: '' }, times)).toBe('hdnts=' + expected);
  });

  it('refuses ACLs that would break the token syntax, and keys that are not hex', () => {
    expect(authSchema.safeParse({ scheme: 'akamai-token2', key: AKAMAI_KEY, acl: '/a~b/*' }).success).toBe(
      false,
    );
    expect(authSchema.safeParse({ scheme: 'akamai-token2', key: AKAMAI_KEY, acl: '/a!b/*' }).success).toBe(
      false,
    );
    const bad = authSchema.safeParse({ scheme: 'akamai-token2', key: 'not-hex-at-all!' });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('hex');
    expect(JSON.stringify(bad.error?.issues)).not.toContain('not-hex-at-all');
  });
});

describe('cloudfront', () => {
  const resource = 'https://cdn-b.example.net/{stream}/*';

  it('custom policy: Policy, Key-Pair-Id and Signature equal @aws-sdk/cloudfront-signer', () => {
    const signer = createSigner(
      auth({ scheme: 'cloudfront', keyPairId: 'K2JCJMDEHXQW5F', privateKey: PEM, resource }),
      ctx,
    );
    expect(signer.perUrl).toBe(false);
    const query = signer.sign(
      { path: '/live1/v0/seg_1.ts', url: 'https://cdn-b.example.net/live1/v0/seg_1.ts' },
      times,
    );
    const policy = JSON.stringify({
      Statement: [
        {
          Resource: 'https://cdn-b.example.net/live1/*',
          Condition: { DateLessThan: { 'AWS:EpochTime': END }, DateGreaterThan: { 'AWS:EpochTime': START } },
        },
      ],
    });
    const vendor = getSignedUrl({
      url: 'https://cdn-b.example.net/live1/v0/seg_1.ts',
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKey: PEM,
      policy,
    });
    expect('https://cdn-b.example.net/live1/v0/seg_1.ts?' + query).toBe(vendor);
  });

  it('canned policy: Expires, Key-Pair-Id and Signature equal @aws-sdk/cloudfront-signer per URL', () => {
    const signer = createSigner(
      auth({ scheme: 'cloudfront', keyPairId: 'K2JCJMDEHXQW5F', privateKey: PEM, policy: 'canned' }),
      ctx,
    );
    expect(signer.perUrl).toBe(true);
    const url = 'https://cdn-b.example.net/live1/v0/seg_1.ts';
    const vendor = getSignedUrl({
      url,
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKey: PEM,
      dateLessThan: new Date(END * 1000),
    });
    expect(url + '?' + signer.sign({ path: '/live1/v0/seg_1.ts', url }, times)).toBe(vendor);
  });

  it('SHA256 adds Hash-Algorithm as the SDK does', () => {
    const signer = createSigner(
      auth({
        scheme: 'cloudfront',
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: PEM,
        policy: 'canned',
        algorithm: 'SHA256',
      }),
      ctx,
    );
    const url = 'https://cdn-b.example.net/live1/a.ts';
    const vendor = getSignedUrl({
      url,
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKey: PEM,
      dateLessThan: new Date(END * 1000),
      algorithm: 'SHA256',
    });
    expect(url + '?' + signer.sign({ path: '/live1/a.ts', url }, times)).toBe(vendor);
  });

  it('a PEM from an environment variable with literal \\n works; a bad PEM or key pair id is a config error', () => {
    const oneLine = PEM.replace(/\n/g, '\\n');
    expect(
      authSchema.safeParse({
        scheme: 'cloudfront',
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: oneLine,
        resource,
      }).success,
    ).toBe(true);
    const bad = authSchema.safeParse({
      scheme: 'cloudfront',
      keyPairId: 'k2-lower',
      privateKey: 'nope',
      resource,
    });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['keyPairId', 'privateKey']));
    expect(
      authSchema.safeParse({ scheme: 'cloudfront', keyPairId: 'K2JCJMDEHXQW5F', privateKey: PEM }).success,
    ).toBe(false);
  });
});

describe('cloudflare-hmac', () => {
  it('verify=<ts>-<base64 HMAC-SHA256(path + ts)>, URL-encoded, as the WAF function checks it', async () => {
    const key = 'mysecrettoken-long-enough';
    const signer = createSigner(auth({ scheme: 'cloudflare-hmac', key }), ctx);
    expect(signer.lifetimeAtCdn).toBe(true);
    const path = '/live1/v0/seg_1.ts';
    const query = signer.sign({ path, url: 'https://x' + path }, times);
    // Cloudflare's documented Worker recipe, with Web Crypto: btoa of the MAC, then encodeURIComponent.
    const k = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(key),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const mac = await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(`${path}${START}`));
    const b64 = btoa(String.fromCharCode(...new Uint8Array(mac)));
    expect(query).toBe(`verify=${encodeURIComponent(`${START}-${b64}`)}`);
  });
});

describe('fastly-token', () => {
  it('token=<exp>_<hex HMAC-SHA1(base64-decoded key, path + exp)> as the VCL recomputes it', () => {
    const key = 'iqFPeN2u+Z0Lm5IrsKaOFKRqEU5Gw8ePtaEkHZWuD24=';
    const signer = createSigner(auth({ scheme: 'fastly-token', key }), ctx);
    const query = signer.sign({ path: '/foo/bar.html', url: '' }, times);
    expect(query).toMatch(new RegExp(`^token=${END}_[0-9a-f]{40}$`));
    const verdict = verifyRequest(
      { scheme: 'fastly-token', keys: [key] },
      { path: '/foo/bar.html', query, url: '' },
      START,
    );
    expect(verdict).toEqual({ ok: true });
    expect(authSchema.safeParse({ scheme: 'fastly-token', key: 'not base64!' }).success).toBe(false);
  });
});

describe('hmac-query', () => {
  it('exp~prefix~sig, verified over the prefix', () => {
    const key = 'a-generic-secret-of-some-length';
    const signer = createSigner(auth({ scheme: 'hmac-query', key }), ctx);
    const query = signer.sign({ path: '/live1/v0/seg.ts', url: '' }, times);
    expect(query).toMatch(new RegExp(`^token=exp=${END}~prefix=%2Flive1%2F~sig=[A-Za-z0-9_-]{43}$`));
    const a: CdnAuth = { scheme: 'hmac-query', keys: [key] };
    expect(verifyRequest(a, { path: '/live1/v1/x.ts', query, url: '' }, START)).toEqual({ ok: true });
    expect(verifyRequest(a, { path: '/live2/v1/x.ts', query, url: '' }, START)).toEqual({
      ok: false,
      reason: 'scope',
    });
  });
});

describe('the fixture CDN verifier (what the CDNs check)', () => {
  const cases: { name: string; config: Record<string, unknown>; cdn: CdnAuth }[] = [
    {
      name: 'akamai',
      config: { scheme: 'akamai-token2', key: AKAMAI_KEY },
      cdn: { scheme: 'akamai-token2', keys: [AKAMAI_KEY] },
    },
    {
      name: 'cloudfront',
      config: {
        scheme: 'cloudfront',
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: PEM,
        resource: 'https://cdn-a.example.com/{stream}/*',
      },
      cdn: { scheme: 'cloudfront', keys: [{ keyPairId: 'K2JCJMDEHXQW5F', publicKey: PUBLIC_PEM }] },
    },
    {
      name: 'cloudflare',
      config: { scheme: 'cloudflare-hmac', key: 'mysecrettoken-long-enough', window: '15m' },
      cdn: { scheme: 'cloudflare-hmac', keys: ['mysecrettoken-long-enough'], ttl: 900 },
    },
    {
      name: 'fastly',
      config: { scheme: 'fastly-token', key: 'iqFPeN2u+Z0Lm5IrsKaOFKRqEU5Gw8ePtaEkHZWuD24=' },
      cdn: { scheme: 'fastly-token', keys: ['iqFPeN2u+Z0Lm5IrsKaOFKRqEU5Gw8ePtaEkHZWuD24='] },
    },
  ];
  const path = '/live1/v0/seg_1.ts';
  const url = 'https://cdn-a.example.com' + path;

  it.each(cases)(
    '$name: valid in its window; expired after; forged when altered; missing when absent',
    ({ config, cdn }) => {
      const signer = createSigner(auth(config), ctx);
      const query = signer.sign({ path, url }, times);
      expect(verifyRequest(cdn, { path, query, url }, START)).toEqual({ ok: true });
      expect(verifyRequest(cdn, { path, query, url }, END - 1)).toEqual({ ok: true });
      expect(verifyRequest(cdn, { path, query, url }, END)).toEqual({ ok: false, reason: 'expired' });
      const forged = query.replace(/[0-9a-f](?=[^0-9a-f]*$)/, (c) => (c === '0' ? '1' : '0'));
      expect(verifyRequest(cdn, { path, query: forged, url }, START)).toMatchObject({ ok: false });
      expect(verifyRequest(cdn, { path, query: 'x=1', url }, START)).toEqual({
        ok: false,
        reason: 'missing',
      });
    },
  );

  it('akamai and cloudfront prefix tokens are out of scope on another stream', () => {
    for (const c of cases.slice(0, 2)) {
      const signer = createSigner(auth(c.config), ctx);
      const query = signer.sign({ path, url }, times);
      const other = '/live2/v0/seg_1.ts';
      expect(
        verifyRequest(c.cdn, { path: other, query, url: 'https://cdn-a.example.com' + other }, START),
      ).toEqual({
        ok: false,
        reason: 'scope',
      });
    }
  });

  it('key rotation: the first key signs; a CDN holding old and new keys accepts it; one with only the old refuses', () => {
    const NEW = 'aabbccddeeff00112233445566778899';
    const signer = createSigner(auth({ scheme: 'akamai-token2', key: [NEW, AKAMAI_KEY] }), ctx);
    const query = signer.sign({ path, url }, times);
    expect(
      verifyRequest({ scheme: 'akamai-token2', keys: [AKAMAI_KEY, NEW] }, { path, query, url }, START),
    ).toEqual({ ok: true });
    expect(
      verifyRequest({ scheme: 'akamai-token2', keys: [AKAMAI_KEY] }, { path, query, url }, START),
    ).toEqual({
      ok: false,
      reason: 'forged',
    });
    const viaKeys = createSigner(auth({ scheme: 'akamai-token2', keys: [NEW, AKAMAI_KEY] }), ctx);
    expect(viaKeys.sign({ path, url }, times)).toBe(query);
  });
});
