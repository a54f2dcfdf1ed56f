/**
 * The load generator: Debian's `wrk` (C, epoll), driven by a Lua script that cycles through a fixed
 * list of request paths prepared before the clock starts, so building a request costs the loader the
 * same for every server under test. Optional pacing (a random delay before each request on a
 * connection) turns it into a paced viewer simulation.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SCRIPT = String.raw`
local reqs = {}
local n = 0
local i = 0
local mean = 0
init = function(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    n = n + 1
    reqs[n] = wrk.format("GET", line)
  end
  f:close()
  -- Each thread starts at its own place in the list.
  i = (tonumber(args[2]) or 0) % n
  mean = tonumber(args[3]) or 0
  math.randomseed(os.time() + (tonumber(args[2]) or 0))
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
delay = function()
  if mean <= 0 then return 0 end
  -- Uniform jitter of +-50% around the mean interval.
  return math.floor(mean * (0.5 + math.random()) + 0.5)
end
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;

export interface WrkOptions {
  /** e.g. http://127.0.0.1:8080 */
  readonly base: string;
  /** Request paths, cycled in order. */
  readonly paths: readonly string[];
  readonly connections: number;
  readonly seconds: number;
  readonly threads?: number;
  /** Mean delay before each request on a connection, ms (paced load); 0 or absent: closed loop. */
  readonly meanDelayMs?: number;
  /** CPU list for taskset (e.g. "1"): the loader stays off the server's core. */
  readonly cpus?: string;
  /** wrk's own timeout per request (default 2 s). */
  readonly timeoutS?: number;
}

export interface WrkResult {
  /** Responses received (any status). */
  readonly requests: number;
  /** Responses that were not 2xx/3xx, plus socket errors and timeouts. */
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly bytesPerResponse: number;
  /** Latency percentiles in milliseconds. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

let scriptFile: string | undefined;
let wrkChecked = false;

function ensureWrk(): void {
  if (wrkChecked) return;
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk --version exits 1 after printing; only a missing binary is an error.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('the bench needs wrk (Debian: apt-get install wrk)');
  }
  wrkChecked = true;
}

function script(): string {
  if (scriptFile === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-wrk-'));
    scriptFile = path.join(dir, 'paths.lua');
    writeFileSync(scriptFile, SCRIPT);
  }
  return scriptFile;
}

let pathsSeq = 0;
const pathsFiles = new Map<readonly string[], string>();

/** The paths as a file wrk's Lua reads (written once per list). */
function pathsFile(paths: readonly string[]): string {
  let file = pathsFiles.get(paths);
  if (file === undefined) {
    file = path.join(path.dirname(script()), `paths-${++pathsSeq}.txt`);
    writeFileSync(file, paths.join('\n') + '\n');
    pathsFiles.set(paths, file);
  }
  return file;
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  ensureWrk();
  const threads = o.threads ?? 1;
  const args = [
    '-t',
    String(threads),
    '-c',
    String(Math.max(o.connections, threads)),
    '-d',
    `${o.seconds}s`,
    '--timeout',
    `${o.timeoutS ?? 2}s`,
    '-s',
    script(),
    o.base,
    '--',
    pathsFile(o.paths),
    String(Math.floor(Math.random() * o.paths.length)),
    String(o.meanDelayMs ?? 0),
  ];
  const [cmd, argv] = o.cpus === undefined ? ['wrk', args] : ['taskset', ['-c', o.cpus, 'wrk', ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (line === undefined) {
        reject(new Error(`wrk exited with ${code}: ${err || out}`));
        return;
      }
      const r = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
      const n = r.requests ?? 0;
      const seconds = (r.durationUs ?? 1) / 1e6;
      resolve({
        requests: n,
        errors: (r.status ?? 0) + (r.connect ?? 0) + (r.read ?? 0) + (r.write ?? 0) + (r.timeout ?? 0),
        seconds,
        rps: n / seconds,
        bytesPerResponse: n === 0 ? 0 : Math.round((r.bytes ?? 0) / n),
        p50Ms: (r.p50 ?? 0) / 1000,
        p90Ms: (r.p90 ?? 0) / 1000,
        p99Ms: (r.p99 ?? 0) / 1000,
        maxMs: (r.max ?? 0) / 1000,
        meanMs: (r.mean ?? 0) / 1000,
      });
    });
  });
}
