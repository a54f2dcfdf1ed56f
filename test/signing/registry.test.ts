/**
 * Signers a library user supplies in process (`signers`, mirroring `policies`): named by
 * `cdns[].auth.scheme`, validated at the config edge, and used by a real Switchyard to sign the CDN
 * URLs of its playlists.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import {
  ConfigError,
  createSwitchyard,
  SignerRegistry,
  validateConfig,
  type CustomSignerModule,
} from '../../src';
import { startOrigin, type FixtureOrigin } from '../../fixtures/servers';
import { get, playlistUris, TEST_SECRET } from '../helpers/stack';

/** Signs each URL with its path's length and the token's expiry: checkable without a key. */
const lengthSigner: CustomSignerModule = {
  create: (options) => ({
    perUrl: true,
    params: ['len'],
    sign: (target, times) => `len=${target.path.length}.${times.expires}.${String(options.tag)}`,
  }),
};

const raw = (auth: Record<string, unknown>, origin = 'https://origin.example.com/') => ({
  listen: { host: '127.0.0.1', port: 0 },
  secrets: [TEST_SECRET],
  streams: [{ id: 'vod', origin: `${origin}vod/` }],
  cdns: [{ id: 'a', baseUrl: 'https://cdn-a.example.com/', auth }],
  log: { level: 'silent' },
  origin: { allowPrivateAddresses: true },
});

function issues(config: unknown, signers?: SignerRegistry): string[] {
  try {
    validateConfig(config, { env: {}, ...(signers ? { signers } : {}) });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('the signer registry', () => {
  test('a registered scheme validates with the registry, and is unknown without it', () => {
    const signers = new SignerRegistry().register('length', lengthSigner);
    const auth = { scheme: 'length', options: { tag: 't' } };
    expect(issues(raw(auth), signers)).toEqual([]);
    expect(issues(raw(auth))).toEqual([
      expect.stringMatching(
        /^cdns\.0\.auth\.scheme: unknown scheme "length": expected one of akamai-token2, /,
      ),
    ]);
    // The registry's schemes are offered in the message.
    expect(issues(raw({ scheme: 'lenght' }), signers)[0]).toMatch(/one of .*, length \(or module: PATH/);
  });

  test("a registered signer's settings go under options", () => {
    const signers = new SignerRegistry().register('length', lengthSigner);
    expect(issues(raw({ scheme: 'length', key: 'k', param: 'p' }), signers)).toEqual([
      'cdns.0.auth.key: key does not apply to the registered signer length: its settings go under options',
      'cdns.0.auth.param: param does not apply to the registered signer length: its settings go under options',
    ]);
  });

  test('names: no built-in scheme, no duplicate, no odd spelling, and a signer must create', () => {
    const r = new SignerRegistry().register('length', lengthSigner);
    expect(() => r.register('length', lengthSigner)).toThrow(/already registered/);
    expect(() => r.register('akamai-token2', lengthSigner)).toThrow(/built in/);
    expect(() => r.register('custom', lengthSigner)).toThrow(/built in/);
    expect(() => r.register('Has Space', lengthSigner)).toThrow(/lower-case/);
    expect(() => r.register('nothing', {} as CustomSignerModule)).toThrow(/create/);
    expect(r.schemes()).toEqual(['length']);
  });

  describe('through a real Switchyard', () => {
    let origin: FixtureOrigin;
    beforeAll(async () => {
      origin = await startOrigin({ host: '127.0.0.1', port: 0 });
    });
    afterAll(() => origin.close());

    test('every CDN URL of a playlist carries the registered signer’s token', async () => {
      const signers = new SignerRegistry().register('length', lengthSigner);
      const config = validateConfig(raw({ scheme: 'length', options: { tag: 'lib' } }, origin.url), {
        env: {},
        signers,
      });
      const server = createSwitchyard(config, {
        logger: pino({ level: 'silent' }),
        signers,
        prober: () => Promise.resolve({ ok: true, latencyMs: 1 }),
      });
      try {
        const url = await server.listen();
        const media = await get(`${url}vod/v0/index.m3u8`);
        expect(media.status).toBe(200);
        const segments = playlistUris(media.body).filter((u) => u.startsWith('https://cdn-a.example.com/'));
        expect(segments.length).toBeGreaterThan(0);
        for (const u of segments) {
          const parsed = new URL(u);
          expect(parsed.searchParams.get('len')).toMatch(
            new RegExp(`^${parsed.pathname.length}\\.\\d+\\.lib$`),
          );
        }
      } finally {
        await server.close();
      }
    });

    test('a config reload may name the registered signer too (the watcher validates with the registry)', async () => {
      const signers = new SignerRegistry().register('length', lengthSigner);
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchyard-signers-')), 'config.yaml');
      const write = (tag: string) =>
        writeFileSync(file, JSON.stringify(raw({ scheme: 'length', options: { tag } }, origin.url)));
      write('one');
      const server = createSwitchyard(
        validateConfig(raw({ scheme: 'length', options: { tag: 'one' } }, origin.url), { env: {}, signers }),
        {
          logger: pino({ level: 'silent' }),
          signers,
          prober: () => Promise.resolve({ ok: true, latencyMs: 1 }),
        },
      );
      // The public server is the deliberate API: no runtime object on it.
      expect('runtime' in server).toBe(false);
      const watcher = server.watchConfig(file);
      try {
        const url = await server.listen();
        const tags = async () => {
          const media = await get(`${url}vod/v0/index.m3u8`);
          expect(media.status).toBe(200);
          return new Set(
            playlistUris(media.body)
              .filter((u) => u.startsWith('https://cdn-a.example.com/'))
              .map((u) => new URL(u).searchParams.get('len')?.split('.')[2]),
          );
        };
        expect(await tags()).toEqual(new Set(['one']));
        write('two');
        await watcher.reload();
        expect(await tags()).toEqual(new Set(['two']));
      } finally {
        await server.close();
      }
    });
  });
});
