import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, validateConfig } from '../../src/configure';
import { createSigner } from '../../src/signing';

const base = (auth: Record<string, unknown>) => ({
  secrets: ['a-secret-of-sixteen-chars'],
  streams: [{ id: 'live1', origin: 'https://origin.example.com/live1/' }],
  cdns: [{ id: 'a', baseUrl: 'https://cdn-a.example.com/', auth }],
});

function issues(raw: unknown, env: Record<string, string> = {}): string[] {
  try {
    validateConfig(raw, { env });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

test('keys come from ${ENV}; an unset one and a malformed one are named by path, never echoed', () => {
  const cfg = validateConfig(base({ scheme: 'akamai-token2', key: '${CDN_A_KEY}' }), {
    env: { CDN_A_KEY: '00112233445566778899aabbccddeeff' },
  });
  expect(cfg.cdns[0]?.auth?.key).toBe('00112233445566778899aabbccddeeff');
  expect(issues(base({ scheme: 'akamai-token2', key: '${CDN_A_KEY}' }))).toEqual([
    'cdns.0.auth.key: environment variable CDN_A_KEY is not set (used as ${CDN_A_KEY})',
  ]);
  const bad = issues(base({ scheme: 'akamai-token2', key: '${K}' }), { K: 'zz-secret-zz-secret' });
  expect(bad).toEqual([expect.stringMatching(/^cdns\.0\.auth\.key: expected an Akamai key in hex/)]);
  expect(bad.join()).not.toContain('zz-secret');
});

test('options that do not belong to the scheme, a missing scheme and an unknown one are errors', () => {
  expect(
    issues(
      base({ scheme: 'fastly-token', key: 'iqFPeN2u+Z0Lm5IrsKaOFKRqEU5Gw8ePtaEkHZWuD24=', acl: '/x/*' }),
    ),
  ).toEqual(['cdns.0.auth.acl: acl does not apply to fastly-token']);
  expect(issues(base({ key: 'x' }))[0]).toMatch(/^cdns\.0\.auth\.scheme: expected a scheme/);
  expect(issues(base({ scheme: 'limelight', key: 'x' }))[0]).toMatch(/^cdns\.0\.auth\.scheme:/);
});

test('a custom signer module loads relative to the config file and signs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-signer-'));
  writeFileSync(
    path.join(dir, 'my-signer.js'),
    `exports.signer = { create(options, ctx) { return { perUrl: true, params: ['t'],
       sign(target, times) { return 't=' + options.tag + '-' + ctx.streamId + '-' + target.path + '-' + times.expires; } }; } };`,
  );
  const cfg = validateConfig(base({ module: './my-signer.js', options: { tag: 'x' } }), {
    env: {},
    baseDir: dir,
  });
  const auth = cfg.cdns[0]?.auth;
  expect(auth?.module).toBe(path.join(dir, 'my-signer.js'));
  const signer = createSigner(auth as NonNullable<typeof auth>, {
    streamId: 'live1',
    streamPrefix: 'https://cdn-a.example.com/live1/',
  });
  expect(signer.sign({ path: '/live1/a.ts', url: '' }, { start: 1, expires: 2 })).toBe(
    't=x-live1-/live1/a.ts-2',
  );
  expect(issues(base({ module: './missing.js' }))[0]).toMatch(/^cdns\.0\.auth\.module: /);
});
