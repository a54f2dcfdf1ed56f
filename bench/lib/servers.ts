/**
 * Server processes under test, started the way operators start them, each reported by pid so the bench
 * can read its CPU time from /proc:
 * - Switchyard: `node dist/src/cli.js serve --config <file>` (the built CLI, cluster workers and all);
 * - the floor and the naive reference: `node dist/bench/servers.js <kind>` (see bench/servers.ts).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { BENCH_SECRET, BENCH_STEERING_STREAM, BENCH_STREAM } from '../playlists';
import { freePort } from '../../fixtures/servers';
import { processTree } from './proc';

/** The metrics token of every bench Switchyard (loopback only). */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** http://127.0.0.1:<port> (no trailing slash, as wrk wants it) */
  readonly base: string;
  stop(): Promise<void>;
}

const ROOT = path.join(__dirname, '..', '..', '..');

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready`);
    try {
      const res = await request(url);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${name} did not answer ${url} within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pins a process and its threads (and the workers it forks later) to a CPU list. */
export function pin(pid: number, cpus: string): void {
  for (const p of processTree(pid))
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
}

function stopper(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill(signal);
    });
}

export interface SwitchyardOptions {
  readonly originBase: string;
  /** listen.workers (absent: the config default). */
  readonly workers?: number | 'auto';
  readonly logLevel?: string;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly cpus?: string;
  /** Merged into the config (top-level keys replace). */
  readonly config?: Record<string, unknown>;
}

/** The bench's Switchyard config: a rewrite stream and a steering stream on one origin, two healthy CDNs. */
export function benchConfig(o: SwitchyardOptions, port: number): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port, ...(o.workers === undefined ? {} : { workers: o.workers }) },
    secrets: [BENCH_SECRET],
    streams: [
      { id: BENCH_STREAM, origin: `${o.originBase}${BENCH_STREAM}/` },
      { id: BENCH_STEERING_STREAM, origin: `${o.originBase}${BENCH_STEERING_STREAM}/`, mode: 'steering' },
    ],
    cdns: [
      { id: 'a', baseUrl: `${o.originBase}cdn-a/`, weight: 1 },
      { id: 'b', baseUrl: `${o.originBase}cdn-b/`, weight: 1 },
    ],
    health: { path: '/', interval: '5s', timeout: '1s', rise: 1, fall: 3 },
    log: { level: o.logLevel ?? 'warn' },
    origin: { allowPrivateAddresses: true },
    metrics: { token: BENCH_METRICS_TOKEN },
    ...o.config,
  };
}

export async function startSwitchyard(o: SwitchyardOptions): Promise<ServerProcess & { configFile: string }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-bench-'));
  const configFile = path.join(dir, 'config.yaml');
  // JSON is YAML.
  writeFileSync(configFile, JSON.stringify(benchConfig(o, port), null, 2));
  const child = spawn(
    process.execPath,
    [
      ...(o.nodeArgs ?? []),
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      path.join(ROOT, 'dist', 'src', 'cli.js'),
      'serve',
      '--config',
      configFile,
    ],
    {
      stdio: [
        'ignore',
        process.env.BENCH_SERVER_STDOUT ? openSync(process.env.BENCH_SERVER_STDOUT, 'a') : 'ignore',
        'inherit',
      ],
      cwd: ROOT,
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, child, 'switchyard');
  if (o.cpus !== undefined) pin(child.pid as number, o.cpus);
  return { name: 'switchyard', pid: child.pid as number, base, configFile, stop: stopper(child) };
}

/** The floor (bare node:http answering the bytes in `bodyFile`) or the naive reference. */
export async function startReference(
  kind: 'floor' | 'naive',
  arg: string,
  cpus?: string,
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'servers.js'), kind, String(port), arg], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/ready`, child, kind);
  if (cpus !== undefined) pin(child.pid as number, cpus);
  return { name: kind, pid: child.pid as number, base, stop: stopper(child) };
}

/**
 * The floor answering every path with exactly the bytes `server` answers for `p` (which must be a
 * 200), on `cpus`; with those bytes. `name` keeps each caller's body file apart.
 */
export async function startFloorServing(
  server: ServerProcess,
  p: string,
  name: string,
  cpus?: string,
): Promise<{ floor: ServerProcess; text: string }> {
  const res = await request(server.base + p);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`switchyard answered ${res.statusCode} for ${p}: ${text}`);
  // The floor sends the DASH content type for a .mpd file, HLS's for anything else.
  const file = path.join(
    tmpdir(),
    `switchyard-bench-${process.pid}-${name}${p.endsWith('.mpd') ? '.mpd' : '.body'}`,
  );
  writeFileSync(file, text);
  return { floor: await startReference('floor', file, cpus), text };
}

/** One Prometheus sample from the Switchyard's /metrics (summed over label sets). */
export async function metricValue(base: string, name: string): Promise<number> {
  return (await metricValues(base, [name]))[0] ?? 0;
}

/**
 * Several values from ONE scrape (a scrape resets prom-client's event-loop histogram, so the max and
 * the p99 of one interval must come from the same answer): each the sum over that name's label sets.
 */
export async function metricValues(base: string, names: readonly string[]): Promise<number[]> {
  const res = await request(`${base}/metrics`, {
    headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` },
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  const sums = names.map(() => 0);
  for (const line of text.split('\n')) {
    names.forEach((name, i) => {
      if (line.startsWith(name + ' ') || line.startsWith(name + '{'))
        sums[i] = (sums[i] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    });
  }
  return sums;
}

/**
 * Switchyard in a forked process (createSwitchyard, not the CLI) that answers a full-GC memory reading
 * over IPC: what RSS per session is measured on.
 */
export async function startSwitchyardForMemory(
  o: SwitchyardOptions,
): Promise<ServerProcess & { memory(): Promise<{ rss: number; heapUsed: number }> }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-bench-'));
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, JSON.stringify(benchConfig(o, port), null, 2));
  const child = fork(path.join(__dirname, '..', 'servers.js'), ['switchyard', String(port), configFile], {
    execArgv: ['--expose-gc', ...(o.nodeArgs ?? [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, child, 'switchyard');
  if (o.cpus !== undefined) pin(child.pid as number, o.cpus);
  return {
    name: 'switchyard',
    pid: child.pid as number,
    base,
    stop: stopper(child),
    memory: () =>
      new Promise((resolve) => {
        child.once('message', (m: { rss: number; heapUsed: number }) => resolve(m));
        child.send({ gc: true });
      }),
  };
}
