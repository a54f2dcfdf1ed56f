import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  substituteEnv,
  validateConfigWith,
  type ConfigIssue,
  type ConfigResolver,
} from '../../src/config/load';
import { loadConfigFile, parseConfig, validateConfig } from '../../src/configure';
import { duration, parseDuration } from '../../src/duration';
import { RESERVED_STREAM_IDS } from '../../src/config/schema';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const SECRET = 'a-test-secret-of-enough-length';

const minimal = () => ({
  secrets: [SECRET],
  streams: [{ id: 'live1', origin: 'https://origin.example.com/live1/' }],
  cdns: [
    { id: 'a', baseUrl: 'https://cdn-a.example.com/' },
    { id: 'b', baseUrl: 'https://cdn-b.example.com/', weight: 3 },
  ],
});

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}
const paths = (fn: () => unknown) => issuesOf(fn).map((i) => i.path);

describe('parseDuration', () => {
  test.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5m', 90_000],
    ['24h', 86_400_000],
    [' 7 s ', 7000],
    ['100', 100],
    [0, 0],
    [1500, 1500],
  ] as [string | number, number][])('%j -> %j', (v, ms) => {
    expect(parseDuration(v)).toBe(ms);
  });
  test.each(['', 's', '-1s', '1d', '1 h m', 'NaN', '1e3'] as string[])('%j is rejected', (v) => {
    expect(parseDuration(v)).toBeUndefined();
  });
  test.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('%j is rejected', (v) => {
    expect(parseDuration(v)).toBeUndefined();
  });
  test('the zod type reports the bad value', () => {
    const r = duration.safeParse('soon');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('"soon"');
    expect(duration.parse('3s')).toBe(3000);
  });
});

describe('validateConfig', () => {
  test('listen.workers: a count from 1 to 256 or "auto"; anything else names the field', () => {
    const base = {
      secrets: ['s'.repeat(16)],
      streams: [{ id: 'x', origin: 'https://o.test/' }],
      cdns: [{ id: 'a', baseUrl: 'https://a.test/' }],
    };
    expect(validateConfig({ ...base, listen: { workers: 4 } }, { env: {} }).listen.workers).toBe(4);
    expect(validateConfig({ ...base, listen: { workers: 'auto' } }, { env: {} }).listen.workers).toBe('auto');
    for (const bad of [0, 257, 1.5, 'many', -1]) {
      expect(() => validateConfig({ ...base, listen: { workers: bad } }, { env: {} })).toThrow(
        /listen\.workers/,
      );
    }
  });

  test('a minimal config gets every default', () => {
    const cfg = validateConfig(minimal(), { env: {} });
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 8080, workers: 1 });
    expect(cfg.session.maxAge).toBe(86_400_000);
    expect(cfg.policy).toEqual({ type: 'weighted' });
    expect(cfg.streams[0]).toMatchObject({
      id: 'live1',
      origin: 'https://origin.example.com/live1/',
      mode: 'rewrite',
      keys: { via: 'origin' },
    });
    expect(cfg.cdns[0]).toEqual({
      id: 'a',
      baseUrl: 'https://cdn-a.example.com/',
      weight: 1,
      pathTemplate: '{stream}/{path}',
      tags: {},
    });
    expect(cfg.cdns[1]?.weight).toBe(3);
    expect(cfg.health).toEqual({
      path: '/',
      interval: 2000,
      timeout: 1000,
      rise: 2,
      fall: 2,
      maxStatus: 400,
    });
    expect(cfg.cache).toEqual({
      maxEntries: 10_000,
      maxBytes: 256 * 1024 * 1024,
      masterTtl: 30_000,
      vodTtl: 300_000,
      maxStale: 30_000,
      errorRetry: 1000,
    });
    expect(cfg.origin).toEqual({
      connectTimeout: 2000,
      headersTimeout: 5000,
      bodyTimeout: 5000,
      maxBodyBytes: 8 * 1024 * 1024,
      maxRedirects: 3,
      allowPrivateAddresses: false,
      maxConcurrent: 64,
      maxBlocking: 32,
      breaker: { failures: 5, coolDown: 5000 },
    });
    expect(cfg.limits).toEqual({
      blockingPerClient: 16,
      maxPipelined: 16,
      maxUnreadBytes: 8 * 1024 * 1024,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 65_000,
      idleTimeout: 30_000,
      manifest: {
        maxLines: 400_000,
        maxSegments: 150_000,
        maxVariants: 1_000,
        maxLineLength: 65_536,
        maxElements: 150_000,
        maxDepth: 32,
        maxAttributes: 256,
        maxBaseUrls: 64,
      },
      parse: {
        workers: 'auto',
        offThreadBytes: 128 * 1024,
        maxQueued: 16,
        timeout: 10_000,
        workerHeapBytes: 256 * 1024 * 1024,
      },
    });
    expect(cfg.cors).toEqual({ allowOrigin: '*' });
    expect(cfg.log).toEqual({ level: 'info', access: false });
  });

  test('state.maxSessions: how many sessions each process remembers, 250,000 unless set, at least 1,000', () => {
    expect(validateConfig(minimal(), { env: {} }).state.maxSessions).toBe(250_000);
    expect(
      validateConfig({ ...minimal(), state: { maxSessions: 1_000_000 } }, { env: {} }).state.maxSessions,
    ).toBe(1_000_000);
    expect(paths(() => validateConfig({ ...minimal(), state: { maxSessions: 10 } }, { env: {} }))).toEqual([
      'state.maxSessions',
    ]);
  });

  test("streams[].steering.startupTtl: the least TTL of a starting player's first answer, 5s unless set", () => {
    const withSteering = (steering: Record<string, unknown>) => ({
      ...minimal(),
      streams: [{ id: 'live1', origin: 'https://origin.example.com/live1/', steering }],
    });
    expect(validateConfig(minimal(), { env: {} }).streams[0]?.steering).toEqual({
      ttl: 10_000,
      startupTtl: 5_000,
    });
    expect(
      validateConfig(withSteering({ ttl: '2s', startupTtl: '6s' }), { env: {} }).streams[0]?.steering,
    ).toEqual({ ttl: 2_000, startupTtl: 6_000 });
    // Setting only the TTL keeps the startup default.
    expect(validateConfig(withSteering({ ttl: '2s' }), { env: {} }).streams[0]?.steering.startupTtl).toBe(
      5_000,
    );
    expect(paths(() => validateConfig(withSteering({ startupTtl: '2m' }), { env: {} }))).toEqual([
      'streams.0.steering.startupTtl',
    ]);
  });

  test('Redis Cluster needs a {hash tag} in the key prefix (multi-key pipelines need one slot)', () => {
    const cluster = (keyPrefix: string) => ({
      ...minimal(),
      state: { backend: 'redis', cluster: true, keyPrefix },
    });
    const issues = issuesOf(() => validateConfig(cluster('switchyard:'), { env: {} }));
    expect(issues.map((i) => i.path)).toEqual(['state.keyPrefix']);
    expect(issues[0]?.message).toMatch(/state\.cluster needs a \{hash tag\}/);
    // "{}" is no tag (Redis hashes the whole key then); "}{x}" has none before its first "{".
    expect(paths(() => validateConfig(cluster('{}sy:'), { env: {} }))).toEqual(['state.keyPrefix']);
    expect(validateConfig(cluster('{switchyard}:'), { env: {} }).state.keyPrefix).toBe('{switchyard}:');
    expect(validateConfig(cluster('}{x}:'), { env: {} }).state.cluster).toBe(true);
    expect(
      validateConfig({ ...minimal(), state: { backend: 'redis', keyPrefix: 'sy:' } }, { env: {} }).state
        .cluster,
    ).toBe(false);
  });

  test('durations in strings are converted', () => {
    const cfg = validateConfig(
      { ...minimal(), cache: { masterTtl: '10s', maxStale: '1m' }, session: { maxAge: '2h' } },
      { env: {} },
    );
    expect(cfg.cache.masterTtl).toBe(10_000);
    expect(cfg.cache.maxStale).toBe(60_000);
    expect(cfg.session.maxAge).toBe(7_200_000);
  });

  test('the result is deep-frozen', () => {
    const cfg = validateConfig(minimal(), { env: {} });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.cdns)).toBe(true);
    expect(Object.isFrozen(cfg.cdns[0])).toBe(true);
    expect(Object.isFrozen(cfg.cdns[0]?.tags)).toBe(true);
    expect(Object.isFrozen(cfg.streams[0]?.keys)).toBe(true);
    expect(Object.isFrozen(cfg.secrets)).toBe(true);
    expect(() => {
      (cfg.cdns as { id: string }[]).push({ id: 'x' });
    }).toThrow(TypeError);
  });

  test('hardening keys are validated: originQuery names, limits, cache.maxBytes, origin.maxBlocking', () => {
    const cfg = minimal();
    (cfg.streams[0] as Record<string, unknown>).originQuery = ['token', 'a b'];
    expect(
      paths(() =>
        validateConfig(
          {
            ...cfg,
            limits: { blockingPerClient: 0 },
            cache: { maxBytes: 10 },
            origin: { maxBlocking: 0 },
          },
          { env: {} },
        ),
      ).sort(),
    ).toEqual([
      'cache.maxBytes',
      'limits.blockingPerClient',
      'origin.maxBlocking',
      'streams.0.originQuery.1',
    ]);
    expect(
      paths(() =>
        validateConfig(
          {
            ...minimal(),
            limits: {
              parse: {
                workers: -1,
                offThreadBytes: 1.5,
                maxQueued: -1,
                timeout: '0ms',
                workerHeapBytes: 1024,
              },
            },
          },
          { env: {} },
        ),
      ).sort(),
    ).toEqual([
      'limits.parse.maxQueued',
      'limits.parse.offThreadBytes',
      'limits.parse.timeout',
      'limits.parse.workerHeapBytes',
      'limits.parse.workers',
    ]);
    expect(
      validateConfig({ ...minimal(), limits: { parse: { workers: 0, timeout: '250ms' } } }, { env: {} })
        .limits.parse,
    ).toMatchObject({ workers: 0, timeout: 250, offThreadBytes: 128 * 1024 });
    const ok = minimal();
    (ok.streams[0] as Record<string, unknown>).originQuery = ['token'];
    expect(validateConfig(ok, { env: {} }).streams[0]?.originQuery).toEqual(['token']);
  });

  test('streams[].partHoldBack: auto by default, origin, or a duration from 1ms to 60s', () => {
    const stream = (partHoldBack?: unknown) => {
      const cfg = minimal();
      if (partHoldBack !== undefined) (cfg.streams[0] as Record<string, unknown>).partHoldBack = partHoldBack;
      return cfg;
    };
    expect(validateConfig(stream(), { env: {} }).streams[0]?.partHoldBack).toBe('auto');
    expect(validateConfig(stream('origin'), { env: {} }).streams[0]?.partHoldBack).toBe('origin');
    expect(validateConfig(stream('1.5s'), { env: {} }).streams[0]?.partHoldBack).toBe(1500);
    for (const bad of ['0s', '2m', 'soon', -1])
      expect(paths(() => validateConfig(stream(bad), { env: {} }))).toEqual(['streams.0.partHoldBack']);
  });

  test('unknown keys are rejected with their path', () => {
    expect(issuesOf(() => validateConfig({ ...minimal(), listn: {} }, { env: {} }))).toEqual([
      expect.objectContaining({ path: '', message: expect.stringContaining('listn') }),
    ]);
    const cfg = minimal();
    (cfg.cdns[1] as Record<string, unknown>).wieght = 2;
    expect(issuesOf(() => validateConfig(cfg, { env: {} }))).toEqual([
      expect.objectContaining({ path: 'cdns.1', message: expect.stringContaining('wieght') }),
    ]);
    expect(paths(() => validateConfig({ ...minimal(), cache: { ttl: 1 } }, { env: {} }))).toEqual(['cache']);
  });

  test('every issue is reported at once', () => {
    const cfg = { ...minimal(), secrets: ['short'], listen: { port: 70000 } };
    expect(paths(() => validateConfig(cfg, { env: {} })).sort()).toEqual(['listen.port', 'secrets.0']);
  });

  test("policy and signer problems join the schema's in the one report", () => {
    // Schema-valid: the policy's unknown CDN and the signer module that cannot load, both at once.
    const cfg = {
      ...minimal(),
      policy: { type: 'failover', order: ['b', 'zz'] },
      cdns: [
        { id: 'a', baseUrl: 'https://cdn-a.example.com/', auth: { module: './no-such-signer.js' } },
        { id: 'b', baseUrl: 'https://cdn-b.example.com/' },
      ],
    };
    expect(paths(() => validateConfig(cfg, { env: {} }))).toEqual(['policy.order.1', 'cdns.0.auth.module']);
    // A schema problem elsewhere: the policy's own check still reports beside it.
    expect(paths(() => validateConfig({ ...cfg, listen: { port: 70000 } }, { env: {} }))).toEqual([
      'listen.port',
      'policy.order.1',
    ]);
    // ...but not twice when the schema already faulted policy: itself.
    expect(paths(() => validateConfig({ ...cfg, policy: {} }, { env: {} }))).toEqual(['policy']);
  });

  test('config/ runs the resolvers it is given, every one, into one report', () => {
    const seen: string[] = [];
    const resolver = (name: string): ConfigResolver => ({
      resolve(config) {
        seen.push(`resolve ${name}`);
        return { config, issues: [{ path: name, message: `${name} says no` }] };
      },
      checkInvalid(_raw, { issues }) {
        seen.push(`check ${name} after ${issues.length}`);
        return [{ path: name, message: `${name} says no` }];
      },
    });
    expect(paths(() => validateConfigWith(minimal(), [resolver('x'), resolver('y')], { env: {} }))).toEqual([
      'x',
      'y',
    ]);
    expect(seen).toEqual(['resolve x', 'resolve y']);
    seen.length = 0;
    expect(
      paths(() =>
        validateConfigWith({ ...minimal(), secrets: [] }, [resolver('x'), resolver('y')], { env: {} }),
      ),
    ).toEqual(['secrets', 'x', 'y']);
    expect(seen).toEqual(['check x after 1', 'check y after 2']);
    // No resolvers: the schema alone, and nothing of policy: is judged.
    expect(validateConfigWith({ ...minimal(), policy: { type: 'nope' } }, [], { env: {} }).policy).toEqual({
      type: 'nope',
    });
  });

  test('missing sections', () => {
    expect(paths(() => validateConfig({}, { env: {} })).sort()).toEqual(['cdns', 'secrets', 'streams']);
    expect(paths(() => validateConfig(undefined, { env: {} })).sort()).toEqual([
      'cdns',
      'secrets',
      'streams',
    ]);
    expect(paths(() => validateConfig({ ...minimal(), cdns: [] }, { env: {} }))).toEqual(['cdns']);
  });

  test('duplicate ids', () => {
    const cfg = minimal();
    cfg.cdns.push({ id: 'a', baseUrl: 'https://cdn-c.example.com/' });
    cfg.streams.push({ id: 'live1', origin: 'https://o.example.com/x/' });
    const issues = issuesOf(() => validateConfig(cfg, { env: {} }));
    expect(issues.map((i) => i.path).sort()).toEqual(['cdns.2.id', 'streams.1.id']);
    expect(issues.every((i) => i.message.includes('duplicate id'))).toBe(true);
  });

  test.each([
    ['not a URL', 'cdn-a.example.com/'],
    ['ftp', 'ftp://cdn-a.example.com/'],
    ['no trailing slash', 'https://cdn-a.example.com/live'],
    ['query', 'https://cdn-a.example.com/?a=1'],
    ['fragment', 'https://cdn-a.example.com/#x'],
  ])('bad base URL: %s', (_name, url) => {
    const cfg = minimal();
    (cfg.cdns[0] as { baseUrl: string }).baseUrl = url;
    cfg.streams[0] = { id: 'live1', origin: url };
    expect([...new Set(paths(() => validateConfig(cfg, { env: {} })))].sort()).toEqual([
      'cdns.0.baseUrl',
      'streams.0.origin',
    ]);
  });

  test.each([...RESERVED_STREAM_IDS].filter((id) => /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id)))(
    'reserved stream id %j',
    (id) => {
      const cfg = minimal();
      cfg.streams[0] = { id, origin: 'https://o.example.com/' };
      expect(issuesOf(() => validateConfig(cfg, { env: {} }))).toEqual([
        { path: 'streams.0.id', message: expect.stringContaining('reserved') },
      ]);
    },
  );

  test.each(['', '-x', 'a b', 'a/b', 'x'.repeat(65), 'ünï'])('bad id %j', (id) => {
    const cfg = minimal();
    (cfg.cdns[0] as { id: string }).id = id;
    expect(paths(() => validateConfig(cfg, { env: {} }))).toContain('cdns.0.id');
  });

  test('pathTemplate must end in {path}', () => {
    const cfg = minimal();
    (cfg.cdns[0] as Record<string, unknown>).pathTemplate = '{path}/{stream}';
    expect(paths(() => validateConfig(cfg, { env: {} }))).toEqual(['cdns.0.pathTemplate']);
    (cfg.cdns[0] as Record<string, unknown>).pathTemplate = 'vod/{path}';
    expect(validateConfig(cfg, { env: {} }).cdns[0]?.pathTemplate).toBe('vod/{path}');
  });

  test('per-CDN health overrides hold only what is written (the global settings fill the rest)', () => {
    const cfg = validateConfig(
      {
        ...minimal(),
        health: { interval: '1s', timeout: '500ms', fall: 5 },
        cdns: [{ id: 'a', baseUrl: 'https://a.example.com/', health: { path: '/probe' } }],
      },
      { env: {} },
    );
    expect(cfg.cdns[0]?.health).toEqual({ path: '/probe' });
    expect({ ...cfg.health, ...cfg.cdns[0]?.health }).toEqual({
      path: '/probe',
      interval: 1000,
      timeout: 500,
      rise: 2,
      fall: 5,
      maxStatus: 400,
    });
    expect(
      paths(() =>
        validateConfig(
          { ...minimal(), cdns: [{ id: 'a', baseUrl: 'https://a.example.com/', health: { rise: 0 } }] },
          { env: {} },
        ),
      ),
    ).toEqual(['cdns.0.health.rise']);
    expect(
      paths(() =>
        validateConfig(
          { ...minimal(), cdns: [{ id: 'a', baseUrl: 'https://a.example.com/', health: { bogus: 1 } }] },
          { env: {} },
        ),
      ),
    ).toEqual(['cdns.0.health']);
  });

  test('keys via server needs a server', () => {
    const cfg = minimal();
    (cfg.streams[0] as Record<string, unknown>).keys = { via: 'server' };
    expect(paths(() => validateConfig(cfg, { env: {} }))).toEqual(['streams.0.keys.server']);
  });

  test('policy: unknown type, unknown options, failover order naming an unknown CDN', () => {
    expect(issuesOf(() => validateConfig({ ...minimal(), policy: { type: 'nope' } }, { env: {} }))).toEqual([
      { path: 'policy.type', message: expect.stringContaining('"nope"') },
    ]);
    expect(
      paths(() => validateConfig({ ...minimal(), policy: { type: 'weighted', bogus: 1 } }, { env: {} })),
    ).toEqual([expect.stringMatching(/^policy(\.bogus)?$/)]);
    const issues = issuesOf(() =>
      validateConfig({ ...minimal(), policy: { type: 'failover', order: ['b', 'zz'] } }, { env: {} }),
    );
    expect(issues).toEqual([{ path: 'policy.order.1', message: expect.stringContaining('"zz"') }]);
    expect(
      paths(() => validateConfig({ ...minimal(), policy: { type: 'failover', order: 'a' } }, { env: {} })),
    ).toEqual(['policy.order']);
    expect(
      validateConfig({ ...minimal(), policy: { type: 'failover', order: ['b'] } }, { env: {} }).policy,
    ).toEqual({
      type: 'failover',
      order: ['b'],
    });
  });
});

describe('environment substitution', () => {
  test('${VAR} and ${VAR:-default} in string values', () => {
    const cfg = validateConfig(
      {
        ...minimal(),
        secrets: ['${SECRET}'],
        streams: [{ id: 'live1', origin: '${ORIGIN:-https://fallback.example.com/}live1/' }],
      },
      { env: { SECRET } },
    );
    expect(cfg.secrets).toEqual([SECRET]);
    expect(cfg.streams[0]?.origin).toBe('https://fallback.example.com/live1/');
  });

  test('an empty variable counts as unset', () => {
    const issues: ConfigIssue[] = [];
    expect(substituteEnv({ a: '${X:-d}', b: '${X}' }, { X: '' }, issues)).toEqual({ a: 'd', b: '' });
    expect(issues).toEqual([{ path: 'b', message: expect.stringContaining('X') }]);
  });

  test('a missing variable is reported with its path', () => {
    const cfg = { ...minimal(), secrets: ['ok-secret-of-length-16', '${NOPE}'] };
    expect(issuesOf(() => validateConfig(cfg, { env: {} }))).toEqual([
      { path: 'secrets.1', message: 'environment variable NOPE is not set (used as ${NOPE})' },
    ]);
  });

  test('keys and non-strings are not substituted; values cannot inject structure', () => {
    const issues: ConfigIssue[] = [];
    const out = substituteEnv(
      { '${K}': 1, n: 2, t: true, z: null, s: 'x${V}y' },
      { K: 'k', V: 'a: [1]' },
      issues,
    );
    expect(out).toEqual({ '${K}': 1, n: 2, t: true, z: null, s: 'xa: [1]y' });
    expect(issues).toEqual([]);
    const cfg = parseConfig(
      'secrets: ["${S}"]\nstreams: [{ id: live1, origin: "https://o.example.com/" }]\ncdns: [{ id: a, baseUrl: "https://a.example.com/" }]\n',
      { env: { S: 'x\nlisten: {port: 1}\n0123456789' } },
    );
    expect(cfg.listen.port).toBe(8080);
  });
});

describe('parseConfig (YAML)', () => {
  test('YAML syntax errors are CONFIG_INVALID at the file level', () => {
    const issues = issuesOf(() => parseConfig('secrets: [unclosed\nstreams: {', { env: {} }));
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.path === '')).toBe(true);
  });

  test('duplicate keys are an error', () => {
    expect(
      issuesOf(() => parseConfig('log: {level: info}\nlog: {level: debug}\n', { env: {} }))[0]?.message,
    ).toMatch(/unique|duplicate/i);
  });

  test('JSON is YAML', () => {
    expect(parseConfig(JSON.stringify(minimal()), { env: {} }).cdns).toHaveLength(2);
  });

  test('the error message names the source and every path', () => {
    try {
      parseConfig('secrets: []\n', { env: {}, source: 'my.yaml' });
      throw new Error('expected a throw');
    } catch (err) {
      expect((err as Error).message).toMatch(/^invalid config my\.yaml \(3 problems\):\n/);
      expect((err as Error).message).toContain('  secrets: ');
      expect((err as Error).message).toContain('  streams: ');
    }
  });

  test('examples/config.yaml', () => {
    const cfg = parseConfig(readFileSync(join(EXAMPLES, 'config.yaml'), 'utf8'), {
      env: { SWITCHYARD_SECRET: SECRET },
    });
    expect(cfg.secrets).toEqual([SECRET]);
    expect(cfg.cdns.map((c) => [c.id, c.weight, c.tags])).toEqual([
      ['a', 50, { region: 'eu' }],
      ['b', 50, {}],
    ]);
    expect(cfg.cdns[1]?.health).toEqual({ path: '/live1/health' });
    expect(cfg.session.maxAge).toBe(86_400_000);
    expect(cfg.cache.vodTtl).toBe(300_000);
    expect(cfg.limits.parse).toEqual({
      workers: 'auto',
      offThreadBytes: 131_072,
      maxQueued: 16,
      timeout: 10_000,
      workerHeapBytes: 268_435_456,
    });
    expect(() => parseConfig(readFileSync(join(EXAMPLES, 'config.yaml'), 'utf8'), { env: {} })).toThrow(
      /SWITCHYARD_SECRET/,
    );
  });

  test('examples/demo.yaml', async () => {
    const cfg = await loadConfigFile(join(EXAMPLES, 'demo.yaml'), { env: {} });
    expect(cfg.secrets[0]).toBe('demo-only-secret-do-not-use-in-production');
    expect(cfg.streams.map((s) => s.id)).toEqual(
      expect.arrayContaining(['vod', 'live', 'llhls', 'fmp4', 'aes']),
    );
    expect(cfg.health.interval).toBe(1000);
    expect(cfg.health.timeout).toBe(500);
  });

  test('an unreadable file', async () => {
    await expect(loadConfigFile(join(EXAMPLES, 'does-not-exist.yaml'), { env: {} })).rejects.toThrow(
      /cannot read/,
    );
  });
});
