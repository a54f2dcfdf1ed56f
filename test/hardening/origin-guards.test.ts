/**
 * Not an open proxy (private addresses refused on the address actually connected), the per-origin
 * circuit breaker and concurrency limit, and /metrics counters moving with what happened.
 */
import { validateConfig } from '../../src/configure';
import { isPrivateAddress } from '../../src/origin/address';
import { CircuitBreaker } from '../../src/origin/breaker';
import { OriginClient } from '../../src/origin/client';
import { createSwitchyard } from '../../src/server/server';
import { get, startStack, waitFor, type Stack } from '../helpers/stack';
import { startFaultOrigin, type FaultOrigin } from './fault-origin';
import { capturingLogger, metricValue } from './support';

describe('isPrivateAddress', () => {
  test.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    'not-an-ip',
  ])('%s is refused', (a) => expect(isPrivateAddress(a)).toBe(true));
  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '192.169.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
  ])('%s is public', (a) => expect(isPrivateAddress(a)).toBe(false));
});

describe('CircuitBreaker', () => {
  test('opens after N consecutive failures, lets one probe through after the cool-down, closes on success', () => {
    let now = 0;
    const states: string[] = [];
    const b = new CircuitBreaker({
      failures: 3,
      coolDownMs: 1000,
      now: () => now,
      onChange: (s) => states.push(s),
    });
    b.failure();
    b.failure();
    b.success(); // consecutive, not total
    b.failure();
    b.failure();
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.current).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.retryInMs()).toBe(1000);
    now = 1000;
    expect(b.tryAcquire()).toBe(true); // the probe
    expect(b.current).toBe('half-open');
    expect(b.tryAcquire()).toBe(false); // one probe at a time
    b.failure();
    expect(b.current).toBe('open');
    now = 2500;
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.current).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  test('checks its options eagerly', () => {
    expect(() => new CircuitBreaker({ failures: 0, coolDownMs: 1 })).toThrow(/expected failures/);
  });
});

describe('private addresses', () => {
  let raw: FaultOrigin;
  beforeAll(async () => {
    raw = await startFaultOrigin();
  });
  afterAll(() => raw.close());

  test('refused by default, on the connected address (a hostname resolving to loopback too)', async () => {
    const port = new URL(raw.url).port;
    for (const base of [raw.url, `http://localhost:${port}/`]) {
      const client = new OriginClient({
        connectTimeout: 500,
        headersTimeout: 500,
        bodyTimeout: 500,
        maxBodyBytes: 65536,
        maxRedirects: 0,
        allowedOrigins: [base],
      });
      await expect(client.fetch(`${base}f/ok.m3u8`)).rejects.toMatchObject({
        code: 'ORIGIN_NOT_ALLOWED',
        message: expect.stringMatching(/private, loopback or link-local/),
      });
      await client.close();
    }
    expect(raw.hits.get('/f/ok.m3u8') ?? 0).toBe(0);
  });

  test('a server whose config does not allow them answers 502 ORIGIN_NOT_ALLOWED and logs it', async () => {
    const logs = capturingLogger();
    const config = validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        secrets: ['private-test-secret-0123456789'],
        streams: [{ id: 'f', origin: `${raw.url}f/` }],
        cdns: [{ id: 'a', baseUrl: 'http://127.0.0.1:9/' }],
        health: { interval: '1h' },
      },
      { env: {} },
    );
    const server = createSwitchyard(config, { logger: logs.logger, defaultMetrics: false });
    const url = await server.listen();
    try {
      const res = await get(`${url}f/ok.m3u8`);
      expect(res.status).toBe(502);
      expect(JSON.parse(res.body).error.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(logs.entries().some((l) => l.event === 'origin_error' && l.code === 'ORIGIN_NOT_ALLOWED')).toBe(
        true,
      );
    } finally {
      await server.close();
    }
  });

  test('allowed with origin.allowPrivateAddresses', async () => {
    const client = new OriginClient({
      connectTimeout: 500,
      headersTimeout: 500,
      bodyTimeout: 500,
      maxBodyBytes: 65536,
      maxRedirects: 0,
      allowedOrigins: [raw.url],
      allowPrivateAddresses: true,
    });
    expect((await client.fetch(`${raw.url}f/ok.m3u8`)).status).toBe(200);
    await client.close();
  });
});

describe('per-origin concurrency limit', () => {
  test('at most maxConcurrent fetches in flight per origin; the rest wait their turn', async () => {
    let inFlight = 0;
    let peak = 0;
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('#EXTM3U\n');
      }, 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const client = new OriginClient({
      connectTimeout: 1000,
      headersTimeout: 2000,
      bodyTimeout: 2000,
      maxBodyBytes: 65536,
      maxRedirects: 0,
      allowedOrigins: [base],
      allowPrivateAddresses: true,
      maxConcurrent: 3,
    });
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => client.fetch(`${base}p${i}.m3u8`)));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(peak).toBe(3);
    await client.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('circuit breaker and /metrics on the admin listener', () => {
  let stack: Stack;
  let raw: FaultOrigin;
  const logs = capturingLogger();
  let adminUrl: string;

  beforeAll(async () => {
    raw = await startFaultOrigin();
    stack = await startStack({
      logger: logs.logger,
      streams: ['live'],
      extra: ({ origin }) => ({
        streams: [
          { id: 'f', origin: `${raw.url}f/` },
          { id: 'live', origin: `${origin}live/` },
        ],
        origin: { breaker: { failures: 3, coolDown: 800 }, headersTimeout: 500 },
        cache: { errorRetry: 50 },
        admin: { token: 'admin-token-0123456789abcdef', listen: { host: '127.0.0.1', port: 0 } },
      }),
    });
    adminUrl = stack.server.adminUrl() as string;
  });
  afterAll(async () => {
    await stack.close();
    await raw.close();
  });

  const metrics = async () => {
    const res = await fetch(`${adminUrl}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  test('/metrics is on the admin listener only (open there), not on the player listener', async () => {
    expect((await get(`${stack.url}metrics`)).status).toBe(404);
    const text = await metrics();
    expect(text).toContain('switchyard_requests_total');
    expect(text).toContain('\nprocess_cpu_user_seconds_total ');
  });

  test('counters move: requests by route and status, cache hit/miss/coalesced, origin errors', async () => {
    const before = await metrics();
    const master = await get(`${stack.url}live/master.m3u8`);
    expect(master.status).toBe(200);
    const variant = master.body.split('\n').find((l) => l.startsWith('/s/')) as string;
    const url = new URL(variant, stack.url).href;
    await Promise.all(Array.from({ length: 8 }, () => get(url)));
    await get(url);
    await get(`${stack.url}f/404.m3u8`);
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('switchyard_requests_total', { route: 'manifest', status: '200' })).toBe(10);
    expect(delta('switchyard_requests_total', { route: 'manifest', status: '404' })).toBe(1);
    expect(delta('switchyard_manifest_cache_total', { outcome: 'miss' })).toBeGreaterThanOrEqual(1);
    expect(
      delta('switchyard_manifest_cache_total', { outcome: 'hit' }) +
        delta('switchyard_manifest_cache_total', { outcome: 'coalesced' }),
    ).toBeGreaterThanOrEqual(7);
    expect(delta('switchyard_origin_fetches_total', { result: 'ORIGIN_NOT_FOUND' })).toBe(1);
    expect(delta('switchyard_selections_total', {})).toBeGreaterThanOrEqual(9);
    expect(delta('switchyard_request_duration_seconds_count', { route: 'manifest' })).toBe(11);
  });

  test('switches and drains: switches counted, CDN gauges follow', async () => {
    const before = await metrics();
    const master = await get(`${stack.url}live/master.m3u8`);
    const url = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, stack.url).href;
    const first = (await get(url)).headers.get('x-switchyard-cdn') as string;
    const auth = { authorization: 'Bearer admin-token-0123456789abcdef' };
    expect(
      (await fetch(`${adminUrl}admin/cdns/${first}/drain`, { method: 'POST', headers: auth })).status,
    ).toBe(200);
    try {
      const moved = await get(url);
      expect(moved.headers.get('x-switchyard-cdn')).not.toBe(first);
      const after = await metrics();
      expect(
        metricValue(after, 'switchyard_switches_total', { from: first }) -
          metricValue(before, 'switchyard_switches_total', { from: first }),
      ).toBeGreaterThanOrEqual(1);
      expect(metricValue(after, 'switchyard_cdn_healthy', { cdn: first })).toBe(0);
      const line = logs.entries().find((l) => l.event === 'cdn_switch');
      expect(line).toMatchObject({ stream: 'live', from: first });
      expect(typeof line?.session).toBe('string');
    } finally {
      await fetch(`${adminUrl}admin/cdns/${first}/undrain`, { method: 'POST', headers: auth });
    }
  });

  test('config reloads are counted (ok and failed)', async () => {
    const before = await metrics();
    stack.server.runtime.reload(stack.server.runtime.state.config);
    stack.server.runtime.reloadFailed(new Error('bad yaml'));
    const after = await metrics();
    for (const result of ['ok', 'failed'])
      expect(
        metricValue(after, 'switchyard_config_reloads_total', { result }) -
          metricValue(before, 'switchyard_config_reloads_total', { result }),
      ).toBe(1);
  });

  test('breaker: opens after 3 failures, fails fast without touching the origin, half-open probe closes it', async () => {
    raw.flakyStatus = 503;
    const host = new URL(raw.url).host;
    for (let i = 0; i < 3; i++) {
      const res = await get(`${stack.url}f/flaky/p${i}.m3u8`);
      expect(res.status).toBe(502);
      expect(JSON.parse(res.body).error.code).toBe('ORIGIN_STATUS');
    }
    const hits = () =>
      [...raw.hits].filter(([p]) => p.startsWith('/f/flaky/')).reduce((a, [, n]) => a + n, 0);
    expect(hits()).toBe(3);
    const open = await get(`${stack.url}f/flaky/p9.m3u8`);
    expect(open.status).toBe(502);
    const err = JSON.parse(open.body).error;
    expect(err.code).toBe('ORIGIN_UNREACHABLE');
    expect(err.message).toMatch(/circuit open/);
    expect(hits()).toBe(3);
    let text = await metrics();
    expect(metricValue(text, 'switchyard_origin_circuit', { origin: host, state: 'open' })).toBe(1);
    expect(
      metricValue(text, 'switchyard_origin_fetches_total', { origin: host, result: 'circuit_open' }),
    ).toBe(1);
    expect(logs.entries().some((l) => l.event === 'origin_circuit' && l.state === 'open')).toBe(true);
    const status = await fetch(`${adminUrl}admin/status`, {
      headers: { authorization: 'Bearer admin-token-0123456789abcdef' },
    }).then((r) => r.json() as Promise<{ origins: { origin: string; state: string }[] }>);
    expect(status.origins).toContainEqual({ origin: host, state: 'open' });

    raw.flakyStatus = 200;
    await waitFor(async () => (await get(`${stack.url}f/flaky/p10.m3u8`)).status === 200, 3000, 100);
    text = await metrics();
    expect(metricValue(text, 'switchyard_origin_circuit', { origin: host, state: 'closed' })).toBe(1);
    // Other origins never noticed.
    expect((await get(`${stack.url}live/master.m3u8`)).status).toBe(200);
  });

  test('breaker open: the cached copy is still served stale, with Warning', async () => {
    raw.down = false;
    const host = new URL(raw.url).host;
    const url = `${stack.url}f/live.m3u8`;
    expect((await get(url)).status).toBe(200);
    raw.down = true;
    try {
      const before = metricValue(await metrics(), 'switchyard_origin_fetches_total', {
        origin: host,
        result: 'circuit_open',
      });
      // Each expired lookup retries the origin (errorRetry 50 ms) until 3 failures open the circuit.
      await waitFor(
        async () => {
          const res = await get(url);
          expect(res.status).toBe(200);
          return (
            res.headers.get('warning') !== null && stack.server.runtime.originCircuits()[0]?.state === 'open'
          );
        },
        5000,
        100,
      );
      await new Promise((r) => setTimeout(r, 100));
      const res = await get(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('warning')).toMatch(/^110 /);
      const after = metricValue(await metrics(), 'switchyard_origin_fetches_total', {
        origin: host,
        result: 'circuit_open',
      });
      expect(after).toBeGreaterThan(before);
    } finally {
      raw.down = false;
    }
  });

  test("breaker: one URL's 5xx, however often, does not open the circuit for the origin", async () => {
    // The circuit the tests above opened closes first.
    await waitFor(async () => (await get(`${stack.url}f/ok.m3u8`)).status === 200, 5000, 100);
    raw.flakyStatus = 500;
    try {
      for (let i = 0; i < 10; i++) {
        const res = await get(`${stack.url}f/flaky/one-broken.m3u8?i=${i}`);
        expect(JSON.parse(res.body).error.code).toBe('ORIGIN_STATUS');
      }
      expect(stack.server.runtime.originCircuits().every((c) => c.state === 'closed')).toBe(true);
      expect(raw.hits.get('/f/flaky/one-broken.m3u8')).toBe(10);
    } finally {
      raw.flakyStatus = 200;
    }
    // Another playlist on the same origin is fetched and served.
    expect((await get(`${stack.url}f/ok.m3u8`)).status).toBe(200);
  });
});
