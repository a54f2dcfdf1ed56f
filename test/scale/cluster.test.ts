/**
 * listen.workers: the built CLI with two workers on one port, against the fixture origin and two probe
 * servers standing in for CDNs (they count health probes). Every check is by counts and order; waits
 * poll until a condition holds (bounded only by jest's timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, get, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startOrigin, type FixtureOrigin } from '../../fixtures/servers';

const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli.js');
const ADMIN = 'admin-token-0123456789abcdef';
const METRICS = 'metrics-token-0123456789abcdef';
const INTERVAL_MS = 100;

jest.setTimeout(120_000);

interface ProbeCdn {
  readonly id: string;
  readonly url: string;
  /** Arrival times of health probes, in order. */
  readonly probes: number[];
  status: number;
  close(): Promise<void>;
}

async function probeCdn(id: string): Promise<ProbeCdn> {
  const cdn = { id, url: '', probes: [] as number[], status: 200, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    if (req.url === '/probe') cdn.probes.push(performance.now());
    res.writeHead(req.url === '/probe' ? cdn.status : 200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cdn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  cdn.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return cdn;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a connection of its own, so the cluster hands it to any worker. */
function fresh(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { agent: false, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    // A connection handed to a worker the moment it is killed is lost with it (as a player's would be):
    // give up on it so the poll can try again. Not an assertion on speed.
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.end();
  });
}

/**
 * Polls until `probe` gives a value. The give-up bound only keeps a failed run from polling on after
 * jest's timeout; nothing is asserted about how long a wait takes.
 */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  let last: unknown;
  const giveUp = performance.now() + 110_000;
  for (let i = 0; ; i++) {
    if (performance.now() > giveUp) throw new Error(`gave up waiting for ${what} (${String(last)})`);
    const v = await probe().catch((err: unknown) => {
      last = err;
      return undefined;
    });
    if (v !== undefined) return v;
    if (i % 200 === 199)
      process.stderr.write(
        `still waiting for ${what} (${String(last)}); server output:\n${stdout.slice(-2000)}\n`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Holds when `n` consecutive requests on fresh connections all satisfy `ok`. */
async function consecutive(n: number, url: string, ok: (r: Reply) => boolean): Promise<boolean | undefined> {
  for (let i = 0; i < n; i++) if (!ok(await fresh(url))) return undefined;
  return true;
}

interface FleetState {
  fleet: { backend: string; instances: { id: string; pid: number }[] };
  cdns: { id: string; healthy: boolean; drained: boolean }[];
}

const adminState = async (base: string): Promise<FleetState> =>
  JSON.parse(
    (await fresh(`${base}admin/state`, { headers: { authorization: `Bearer ${ADMIN}` } })).body,
  ) as FleetState;

function metric(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

let origin: FixtureOrigin;
let a: ProbeCdn;
let b: ProbeCdn;
let proc: ChildProcess;
let base: string;
let configFile: string;
let stdout = '';

function config(streams: string[]): string {
  return JSON.stringify({
    listen: { host: '127.0.0.1', port: 0, workers: 2 },
    secrets: ['cluster-test-secret-0123456789abcdef'],
    streams: streams.map((id) => ({ id, origin: `${origin.url}vod/` })),
    cdns: [a, b].map((c) => ({ id: c.id, baseUrl: c.url })),
    health: { path: '/probe', interval: INTERVAL_MS, timeout: 1000, rise: 1, fall: 1 },
    admin: { token: ADMIN },
    metrics: { token: METRICS },
    log: { level: 'info' },
    origin: { allowPrivateAddresses: true },
  });
}

beforeAll(async () => {
  origin = await startOrigin({ host: '127.0.0.1', port: 0 });
  a = await probeCdn('a');
  b = await probeCdn('b');
  configFile = path.join(mkdtempSync(path.join(tmpdir(), 'switchyard-cluster-')), 'config.yaml');
  writeFileSync(configFile, config(['one']));
  proc = spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (stdout += d.toString()));
  base = await until('the listening line', () => {
    const line = stdout.split('\n').find((l) => l.includes('"event":"listening"'));
    return Promise.resolve(line === undefined ? undefined : (JSON.parse(line) as { url: string }).url);
  });
});

afterAll(async () => {
  if (proc.exitCode === null) {
    proc.kill('SIGKILL');
  }
  await Promise.all([origin.close(), a.close(), b.close()]);
});

test('two workers serve the port, each a member of the fleet, neither the primary', async () => {
  const state = await until('two workers in the fleet', async () => {
    const s = await adminState(base);
    return s.fleet.instances.length === 2 ? s : undefined;
  });
  expect(state.fleet.backend).toBe('cluster');
  const pids = state.fleet.instances.map((i) => i.pid);
  expect(new Set(pids).size).toBe(2);
  expect(pids).not.toContain(proc.pid);
  const r = await fresh(`${base}one/master.m3u8`);
  expect(r.status).toBe(200);
  expect(r.body).toContain('#EXT-X-STREAM-INF');
});

test('one set of health probes for the machine: no two probes of a CDN closer than half the interval', async () => {
  const from = a.probes.length;
  await until('a dozen probes', () => Promise.resolve(a.probes.length - from >= 12 ? true : undefined));
  const times = a.probes.slice(from);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  // Three probers (primary and two workers) at independent phases would land probes close together.
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTERVAL_MS / 2);
});

test('/metrics adds up every worker', async () => {
  const scrape = async () =>
    (await fresh(`${base}metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).body;
  const line = 'switchyard_requests_total{route="manifest",status="200"}';
  const before = metric(await scrape(), line);
  const n = 30;
  for (let i = 0; i < n; i++) expect((await fresh(`${base}one/master.m3u8`)).status).toBe(200);
  const after = await scrape();
  // One worker's own count would be about half (connections are handed round-robin).
  expect(metric(after, line) - before).toBe(n);
  expect(after).toContain('switchyard_cdn_healthy{cdn="a"} 1');
});

test("the primary's verdict reaches every worker", async () => {
  b.status = 503;
  await until('every worker sends new sessions to a', () =>
    consecutive(20, `${base}one/v0/index.m3u8`, (r) => r.headers['x-switchyard-cdn'] === 'a'),
  );
  b.status = 200;
  await until('b healthy again everywhere', async () => {
    for (let i = 0; i < 10; i++)
      if (!(await adminState(base)).cdns.find((c) => c.id === 'b')?.healthy) return undefined;
    return true;
  });
});

test('a drain made on one worker reaches all, and so does the undrain', async () => {
  const auth = { authorization: `Bearer ${ADMIN}` };
  expect((await fresh(`${base}admin/cdns/a/drain`, { method: 'POST', headers: auth })).status).toBe(200);
  await until('every worker sends new sessions to b', () =>
    consecutive(20, `${base}one/v0/index.m3u8`, (r) => r.headers['x-switchyard-cdn'] === 'b'),
  );
  expect((await fresh(`${base}admin/cdns/a/undrain`, { method: 'POST', headers: auth })).status).toBe(200);
  await until('a undrained everywhere', async () => {
    for (let i = 0; i < 10; i++)
      if ((await adminState(base)).cdns.find((c) => c.id === 'a')?.drained) return undefined;
    return true;
  });
});

test('a config change reaches every worker', async () => {
  expect((await fresh(`${base}two/master.m3u8`)).status).not.toBe(200);
  writeFileSync(configFile, config(['one', 'two']));
  await until('every worker serves the new stream', () =>
    consecutive(20, `${base}two/master.m3u8`, (r) => r.status === 200),
  );
});

test('a worker that dies is replaced', async () => {
  const before = (await adminState(base)).fleet.instances.map((i) => i.pid);
  const victim = before[0] as number;
  process.kill(victim, 'SIGKILL');
  const after = await until('a new worker in the fleet', async () => {
    const pids = (await adminState(base)).fleet.instances.map((i) => i.pid);
    return pids.length === 2 && !pids.includes(victim) ? pids : undefined;
  });
  expect(after).toContain(before[1]);
  expect(stdout).toContain('"event":"worker_exit"');
});

test('SIGTERM drains every worker: a request in flight completes, then all exit', async () => {
  const workers = (await adminState(base)).fleet.instances.map((i) => i.pid);
  origin.setFault({ kind: 'slow', delayMs: 1500 });
  // A manifest the cache has not seen, so the request waits on the slow origin.
  const inFlight = new Promise<number>((resolve, reject) => {
    get(`${base}one/v1/index.m3u8`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
  await until('the request reached the origin', () =>
    Promise.resolve(origin.requests.some((r) => r.path.endsWith('v1/index.m3u8')) ? true : undefined),
  );
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGTERM');
  expect(await inFlight).toBe(200);
  expect(await exited).toBe(0);
  origin.setFault(null);
  for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
});
