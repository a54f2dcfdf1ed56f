/**
 * `npm run bench`: Switchyard's hot path against a floor and a naive reference, in one run, on this
 * machine, against the same manifests. Prints figures and never fails on speed. Results go to
 * bench/results/latest.json (and .md). BENCH_CPU_PROF=1 also writes a CPU profile of the Switchyard
 * process (bench/results/profile/) and prints where its time goes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSwitchyard, parseHls, TokenSigner, validateConfig } from '../src/index';
import { encodeTemplate, renderBytes } from '../src/manifest/template';
import { BENCH_MANIFESTS, BENCH_SECRET, BENCH_STREAM, mediaPlaylist } from './playlists';
import { summarizeProfile } from './profile';

const CONNECTIONS = 32;
const WARMUP_S = 1;
const MEASURE_S = Number(process.env.BENCH_SECONDS ?? 5);
const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results');

interface Child {
  readonly proc: ChildProcess;
  readonly port: number;
}

function startChild(kind: string, arg = '', execArgv: string[] = []): Promise<Child> {
  const proc = fork(path.join(__dirname, 'servers.js'), [kind, arg], { execArgv, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    proc.once('message', (m: { port: number }) => resolve({ proc, port: m.port }));
  });
}

function stopChild(c: Child): Promise<void> {
  return new Promise((resolve) => {
    c.proc.removeAllListeners('exit');
    c.proc.once('exit', () => resolve());
    c.proc.send({ exit: true });
  });
}

function memoryOf(c: Child): Promise<{ rss: number; heapUsed: number }> {
  return new Promise((resolve) => {
    c.proc.once('message', (m: { rss: number; heapUsed: number }) => resolve(m));
    c.proc.send({ rss: true });
  });
}

/** Distinct session tokens, minted before the clock starts so minting costs the loader nothing. */
function mintTokens(n: number): string[] {
  const signer = new TokenSigner([BENCH_SECRET], 24 * 3_600_000);
  const now = Date.now();
  return Array.from({ length: n }, () => signer.mint(BENCH_STREAM, now).token);
}

interface Load {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly errors: number;
  readonly bytesPerResponse: number;
}

async function load(port: number, file: string, tokens: readonly string[], seconds: number): Promise<Load> {
  let i = 0;
  const run = (duration: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      pipelining: 1,
      duration,
      requests: [
        {
          setupRequest: (req) => {
            req.path = `/s/${tokens[i++ % tokens.length] as string}/${BENCH_STREAM}/${file}`;
            return req;
          },
        },
      ],
    });
  await run(WARMUP_S);
  const r = await run(seconds);
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.non2xx + r.timeouts,
    bytesPerResponse: r.requests.total ? Math.round((r.throughput.total ?? 0) / r.requests.total) : 0,
  };
}

async function fetchBody(port: number, file: string, token: string): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/s/${token}/${BENCH_STREAM}/${file}`);
  if (res.statusCode !== 200)
    throw new Error(`switchyard answered ${res.statusCode}: ${await res.body.text()}`);
  return res.body.text();
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** In-process: one template join per iteration, as the hot path does it for a session. */
function renderMicro(): { name: string; segments: number; medianUs: number; p99Us: number }[] {
  const origin = 'http://origin.test/bench/';
  return BENCH_MANIFESTS.map((m) => {
    const { template } = parseHls(m.text, origin + m.file, origin);
    const encoded = encodeTemplate(template);
    const sessionPrefix = '/s/' + 'x'.repeat(120) + '/bench/';
    const cdnPrefix = 'http://127.0.0.1:9/cdn-a/bench/';
    // As the hot path does it per request: the session's prefixes as bytes, then the join.
    const join = () =>
      renderBytes(encoded, {
        playlist: Buffer.from(sessionPrefix),
        media: Buffer.from(cdnPrefix),
        key: Buffer.from(origin),
      });
    const iterations = m.text.length > 50_000 ? 3000 : 20_000;
    let sink = 0;
    for (let i = 0; i < iterations / 4; i++) sink += join().length;
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t = process.hrtime.bigint();
      sink += join().length;
      samples.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    if (sink === 0) throw new Error('unreachable');
    samples.sort((a, b) => a - b);
    return {
      name: m.name,
      segments: template.slots.length,
      medianUs: Math.round(quantile(samples, 0.5) * 10) / 10,
      p99Us: Math.round(quantile(samples, 0.99) * 10) / 10,
    };
  });
}

/** In-process: rounds of 1,000 concurrent sessions, one TTL apart; counts the origin's hits per round. */
async function originFetches(): Promise<{ sessions: number; ttlMs: number; fetchesPerRound: number[] }> {
  let hits = 0;
  const text = mediaPlaylist(100);
  const origin = createServer((req, res) => {
    if (req.url?.endsWith('.m3u8')) hits++;
    // A slow origin widens the window in which requests pile up on one fetch.
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'max-age=2' });
      res.end(text);
    }, 20);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      secrets: [BENCH_SECRET],
      streams: [{ id: BENCH_STREAM, origin: `${base}${BENCH_STREAM}/` }],
      cdns: [{ id: 'a', baseUrl: `${base}cdn-a/` }],
      health: { path: '/', interval: 10_000, timeout: 1000 },
      log: { level: 'silent' },
      origin: { allowPrivateAddresses: true },
    },
    { env: {} },
  );
  const server = createSwitchyard(config, { logger: pino({ level: 'silent' }) });
  const url = await server.listen();
  const agent = new Agent({ connections: 1000 });
  const sessions = 1000;
  const ttlMs = 3000;
  const fetchesPerRound: number[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      const tokens = mintTokens(sessions);
      const before = hits;
      const statuses = await Promise.all(
        tokens.map(async (t) => {
          const res = await request(`${url}s/${t}/${BENCH_STREAM}/live.m3u8`, { dispatcher: agent });
          await res.body.dump();
          return res.statusCode;
        }),
      );
      if (statuses.some((s) => s !== 200)) throw new Error('origin-fetch bench: a session failed');
      fetchesPerRound.push(hits - before);
      if (round < 2) await new Promise((r) => setTimeout(r, ttlMs + 200));
    }
  } finally {
    await agent.close();
    await server.close();
    origin.close();
  }
  return { sessions, ttlMs, fetchesPerRound };
}

interface Memory {
  readonly rss1kMb: number;
  readonly rss100kMb: number;
  readonly rss200kMb: number;
  /** The target's figure: RSS growth from 1k to 100k distinct sessions. */
  readonly growthMb: number;
  readonly heap1kMb: number;
  readonly heap100kMb: number;
  readonly heap200kMb: number;
}

/**
 * RSS (and V8 heap) of a Switchyard process after 1k, 100k and 200k distinct sessions, full GC before
 * each reading. The 200k point tells a bounded per-instance cache (flat after 100k) from a leak.
 */
async function memory(tokens: readonly string[]): Promise<Memory> {
  const child = await startChild('switchyard', '', ['--expose-gc']);
  try {
    const drive = async (from: number, to: number): Promise<void> => {
      let i = from;
      await autocannon({
        url: `http://127.0.0.1:${child.port}`,
        connections: CONNECTIONS,
        amount: to - from,
        requests: [
          {
            setupRequest: (req) => {
              req.path = `/s/${tokens[i++] as string}/${BENCH_STREAM}/media-100.m3u8`;
              return req;
            },
          },
        ],
      });
    };
    const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;
    await drive(0, 1000);
    const m1 = await memoryOf(child);
    await drive(1000, 100_000);
    const m100 = await memoryOf(child);
    await drive(100_000, 200_000);
    const m200 = await memoryOf(child);
    return {
      rss1kMb: mb(m1.rss),
      rss100kMb: mb(m100.rss),
      rss200kMb: mb(m200.rss),
      growthMb: mb(m100.rss - m1.rss),
      heap1kMb: mb(m1.heapUsed),
      heap100kMb: mb(m100.heapUsed),
      heap200kMb: mb(m200.heapUsed),
    };
  } finally {
    await stopChild(child);
  }
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}

async function main(): Promise<void> {
  const started = Date.now();
  const log = (s: string): void => void process.stdout.write(s + '\n');
  log(
    `Switchyard bench: ${cpus().length} CPU(s), node ${process.version}, autocannon ${CONNECTIONS} connections, ${MEASURE_S} s per run`,
  );
  const tokens = mintTokens(200_000);
  const profileDir = path.join(RESULTS, 'profile');
  const profiling = process.env.BENCH_CPU_PROF === '1';
  if (profiling) mkdirSync(profileDir, { recursive: true });
  const sy = await startChild(
    'switchyard',
    '',
    profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  );
  const naive = await startChild('naive');
  const throughput: Record<string, unknown>[] = [];
  try {
    const only = process.env.BENCH_ONLY;
    for (const m of BENCH_MANIFESTS.filter((x) => only === undefined || x.name === only)) {
      const body = await fetchBody(sy.port, m.file, tokens[0] as string);
      const bodyFile = path.join(tmpdir(), `switchyard-bench-${process.pid}-${m.name}`);
      writeFileSync(bodyFile, body);
      const floor = await startChild('floor', bodyFile);
      try {
        const f = await load(floor.port, m.file, tokens, MEASURE_S);
        const s = await load(sy.port, m.file, tokens, MEASURE_S);
        const n = await load(naive.port, m.file, tokens, MEASURE_S);
        const row = {
          manifest: m.name,
          bytes: Buffer.byteLength(body),
          floor: f,
          switchyard: s,
          naive: n,
          switchyardVsFloor: ratio(s.rps, f.rps),
          switchyardVsNaive: ratio(s.rps, n.rps),
        };
        throughput.push(row);
        log(
          `${m.name.padEnd(11)} floor ${f.rps} req/s · switchyard ${s.rps} req/s (p50 ${s.p50} ms, p99 ${s.p99} ms) · naive ${n.rps} req/s · ` +
            `switchyard/floor ${row.switchyardVsFloor} · switchyard/naive ${row.switchyardVsNaive}` +
            (s.errors + f.errors + n.errors > 0 ? ` · errors ${f.errors}/${s.errors}/${n.errors}` : ''),
        );
      } finally {
        await stopChild(floor);
      }
    }
  } finally {
    await stopChild(sy);
    await stopChild(naive);
  }

  const renders = renderMicro();
  for (const r of renders)
    log(`render ${r.name.padEnd(11)} median ${r.medianUs} µs, p99 ${r.p99Us} µs (${r.segments} slots)`);
  const origin = await originFetches();
  log(
    `origin fetches under ${origin.sessions} concurrent sessions, per TTL window: ${origin.fetchesPerRound.join(', ')}`,
  );
  const mem = await memory(tokens);
  log(
    `RSS after 1k sessions ${mem.rss1kMb} MB, after 100k ${mem.rss100kMb} MB (growth ${mem.growthMb} MB), after 200k ${mem.rss200kMb} MB; ` +
      `V8 heap used ${mem.heap1kMb} / ${mem.heap100kMb} / ${mem.heap200kMb} MB`,
  );

  const results = {
    version: 1,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? '',
      node: process.version,
      platform: process.platform,
    },
    settings: { connections: CONNECTIONS, pipelining: 1, warmupS: WARMUP_S, measureS: MEASURE_S },
    throughput,
    render: renders,
    originFetches: origin,
    memory: mem,
    elapsedS: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const md = markdown(results.throughput as unknown as Row[], renders, origin, mem, results.machine);
  writeFileSync(path.join(RESULTS, 'latest.md'), md);
  log('\n' + md);
  if (profiling) {
    const files = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    const newest = files.at(-1);
    if (newest) log(summarizeProfile(path.join(profileDir, newest)));
  }
}

interface Row {
  manifest: string;
  bytes: number;
  floor: Load;
  switchyard: Load;
  naive: Load;
  switchyardVsFloor: number;
  switchyardVsNaive: number;
}

function markdown(
  rows: readonly Row[],
  renders: ReturnType<typeof renderMicro>,
  origin: Awaited<ReturnType<typeof originFetches>>,
  mem: Memory,
  machine: { cpus: number; cpu: string; node: string },
): string {
  const L = [
    `Measured by \`npm run bench\` (${machine.cpus} × ${machine.cpu}, node ${machine.node}; autocannon, ${CONNECTIONS} connections, ${MEASURE_S} s per run, a new session token per request).`,
    '',
    '| manifest | bytes | floor req/s | Switchyard req/s | p50 / p99 ms | naive req/s | Switchyard / floor | Switchyard / naive | render median µs |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const render = renders.find((x) => x.name === r.manifest);
    L.push(
      `| ${r.manifest} | ${r.bytes} | ${r.floor.rps} | ${r.switchyard.rps} | ${r.switchyard.p50} / ${r.switchyard.p99} | ${r.naive.rps} | ${r.switchyardVsFloor} | ${r.switchyardVsNaive} | ${render?.medianUs ?? ''} |`,
    );
  }
  L.push('');
  L.push(
    `- Origin fetches per TTL window under ${origin.sessions} concurrent sessions: ${origin.fetchesPerRound.join(', ')}.`,
  );
  L.push(
    `- RSS after 1k distinct sessions ${mem.rss1kMb} MB, after 100k ${mem.rss100kMb} MB (growth ${mem.growthMb} MB), after 200k ${mem.rss200kMb} MB; V8 heap used ${mem.heap1kMb} / ${mem.heap100kMb} / ${mem.heap200kMb} MB.`,
  );
  return L.join('\n') + '\n';
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
