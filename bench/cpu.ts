/**
 * CPU per answered request, Switchyard against the floor (bare node:http answering the very bytes
 * Switchyard answered), on the same core, driven the same way (wrk, the same URL shape from a fixed
 * list), in interleaved rounds. CPU time is the kernel's (utime + stime of the server process tree),
 * so it counts everything the process does: parsing, the socket write, GC, timers.
 */
import path from 'node:path';
import { BENCH_STEERING_STREAM, BENCH_STREAM } from './playlists';
import type { BenchContext, BenchSection, SectionResult } from './section';
import { treeCpuUs } from './lib/proc';
import { startFloorServing, startReference, startSwitchyard, type ServerProcess } from './lib/servers';
import { fmtSpread, round, spread, type Spread } from './lib/stats';
import { runWrk } from './lib/wrk';

/** Distinct sessions a reload scenario cycles through. */
const SESSIONS = 1000;

export interface Scenario {
  readonly name: string;
  readonly label: string;
  /** The request paths, cycled by wrk. */
  paths(ctx: BenchContext): readonly string[];
  /** Floor CPU ÷ Switchyard CPU the issue asks for, if any. */
  readonly goal?: number;
  /** Also measure the naive hand-written proxy. */
  readonly naive?: boolean;
}

const reload = (ctx: BenchContext, file: string, stream = BENCH_STREAM) =>
  ctx.tokens(SESSIONS, stream).map((t) => `/s/${t}/${stream}/${file}`);

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'hls-reload-100',
    label: 'HLS session reload, 100-segment live playlist',
    paths: (ctx) => reload(ctx, 'media-100.m3u8'),
    goal: 0.65,
    naive: true,
  },
  {
    name: 'hls-new-100',
    label: 'HLS new session (no token), same playlist',
    paths: () => [`/${BENCH_STREAM}/media-100.m3u8`],
    goal: 0.55,
  },
  {
    name: 'hls-reload-1000',
    label: 'HLS session reload, 1,000 segments',
    paths: (ctx) => reload(ctx, 'media-1000.m3u8'),
    goal: 0.55,
  },
  {
    name: 'hls-master-new',
    label: 'HLS master, new session (8 variants)',
    paths: () => [`/${BENCH_STREAM}/master-8.m3u8`],
  },
  {
    name: 'dash-new',
    label: 'dynamic DASH MPD, new session',
    paths: () => [`/${BENCH_STREAM}/live.mpd`],
    goal: 0.55,
  },
  {
    name: 'dash-reload',
    label: 'dynamic DASH MPD, session refresh',
    paths: (ctx) => reload(ctx, 'live.mpd'),
  },
  {
    name: 'steering-json',
    label: 'HLS steering manifest (steering mode)',
    paths: (ctx) => ctx.tokens(SESSIONS, BENCH_STEERING_STREAM).map((t) => `/s/${t}/steering.json`),
  },
];

interface Reading {
  readonly cpuUsPerRequest: number;
  readonly rps: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly errors: number;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly label: string;
  readonly bytes: number;
  readonly goal: number | undefined;
  readonly floorCpuUs: Spread;
  readonly switchyardCpuUs: Spread;
  readonly naiveCpuUs: Spread | undefined;
  /** Per round: floor CPU ÷ Switchyard CPU. */
  readonly ratio: Spread;
  readonly switchyardRps: Spread;
  readonly switchyardP99Ms: Spread;
  readonly errors: number;
}

/** CPU per request of one server under one closed-loop run. */
export async function measure(
  ctx: BenchContext,
  server: ServerProcess,
  paths: readonly string[],
  seconds: number,
): Promise<Reading> {
  const before = treeCpuUs(server.pid);
  const r = await runWrk({
    base: server.base,
    paths,
    connections: ctx.connections,
    seconds,
    cpus: ctx.loaderCpus,
  });
  const used = treeCpuUs(server.pid) - before;
  const ok = r.requests - r.errors;
  return {
    cpuUsPerRequest: ok > 0 ? used / ok : Infinity,
    rps: r.rps,
    p99Ms: r.p99Ms,
    requests: r.requests,
    errors: r.errors,
  };
}

export function cpuSection(options: { scenarios?: readonly Scenario[] } = {}): BenchSection {
  return {
    name: 'cpu',
    async run(ctx): Promise<SectionResult> {
      const only = process.env.BENCH_SCENARIOS?.split(',');
      const scenarios = (options.scenarios ?? SCENARIOS).filter((s) => !only || only.includes(s.name));
      const profiling = process.env.BENCH_CPU_PROF === '1';
      const sy = await startSwitchyard({
        originBase: ctx.origin.base,
        cpus: ctx.serverCpus,
        nodeArgs: profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir()}`] : [],
      });
      const naive = scenarios.some((s) => s.naive)
        ? await startReference('naive', '', ctx.serverCpus)
        : undefined;
      const results: ScenarioResult[] = [];
      try {
        for (const s of scenarios) results.push(await runScenario(ctx, s, sy, naive));
      } finally {
        await sy.stop();
        await naive?.stop();
      }
      return { json: results, markdown: markdown(ctx, results) };
    },
  };
}

export function profileDir(): string {
  return path.join(__dirname, '..', '..', 'bench', 'results', 'profile');
}

async function runScenario(
  ctx: BenchContext,
  s: Scenario,
  sy: ServerProcess,
  naive: ServerProcess | undefined,
): Promise<ScenarioResult> {
  const paths = s.paths(ctx);
  const { floor, text } = await startFloorServing(sy, paths[0] as string, s.name, ctx.serverCpus);
  const f: Reading[] = [];
  const y: Reading[] = [];
  const n: Reading[] = [];
  try {
    // Warm both (JIT, caches, connections) before any reading counts.
    await measure(ctx, floor, paths, 1);
    await measure(ctx, sy, paths, 1);
    if (s.naive && naive) await measure(ctx, naive, paths, 1);
    for (let round = 0; round < ctx.rounds; round++) {
      // Alternate who goes first, so a drift in machine load does not favour one.
      if (round % 2 === 0) {
        f.push(await measure(ctx, floor, paths, ctx.seconds));
        y.push(await measure(ctx, sy, paths, ctx.seconds));
      } else {
        y.push(await measure(ctx, sy, paths, ctx.seconds));
        f.push(await measure(ctx, floor, paths, ctx.seconds));
      }
      if (s.naive && naive && round < 2) n.push(await measure(ctx, naive, paths, ctx.seconds));
    }
  } finally {
    await floor.stop();
  }
  const result: ScenarioResult = {
    scenario: s.name,
    label: s.label,
    bytes: Buffer.byteLength(text),
    goal: s.goal,
    floorCpuUs: spread(f.map((r) => r.cpuUsPerRequest)),
    switchyardCpuUs: spread(y.map((r) => r.cpuUsPerRequest)),
    naiveCpuUs: n.length > 0 ? spread(n.map((r) => r.cpuUsPerRequest)) : undefined,
    ratio: spread(f.map((r, i) => r.cpuUsPerRequest / (y[i] as Reading).cpuUsPerRequest)),
    switchyardRps: spread(y.map((r) => r.rps)),
    switchyardP99Ms: spread(y.map((r) => r.p99Ms)),
    errors: [...f, ...y].reduce((a, r) => a + r.errors, 0),
  };
  ctx.log(
    `${s.name.padEnd(15)} floor ${fmtSpread(result.floorCpuUs, 1)} µs · switchyard ${fmtSpread(result.switchyardCpuUs, 1)} µs · ` +
      `÷ floor ${fmtSpread(result.ratio)}${s.goal === undefined ? '' : ` (goal ≥ ${s.goal})`}` +
      (result.naiveCpuUs ? ` · naive ${fmtSpread(result.naiveCpuUs, 0)} µs` : '') +
      ` · ${round(result.switchyardRps.median, 0)} req/s p99 ${round(result.switchyardP99Ms.median, 1)} ms` +
      (result.errors > 0 ? ` · ERRORS ${result.errors}` : ''),
  );
  return result;
}

function markdown(ctx: BenchContext, rows: readonly ScenarioResult[]): string {
  const L = [
    `### CPU per request`,
    '',
    `Server process CPU time (utime + stime from /proc) over answered requests; wrk, ${ctx.connections} keep-alive connections, ` +
      `${ctx.rounds} interleaved rounds of ${ctx.seconds} s, median (min–max)` +
      (ctx.serverCpus === undefined
        ? '.'
        : `; server on CPU ${ctx.serverCpus}, wrk on CPU ${ctx.loaderCpus}.`) +
      ' "÷ floor" is the floor\'s CPU per request divided by Switchyard\'s (1 = free; higher is better).',
    '',
    '| request | bytes | floor µs | Switchyard µs | ÷ floor | goal | Switchyard req/s | p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    L.push(
      `| ${r.label} | ${r.bytes} | ${fmtSpread(r.floorCpuUs, 1)} | ${fmtSpread(r.switchyardCpuUs, 1)} | ${fmtSpread(r.ratio)} | ${r.goal === undefined ? '' : '≥ ' + r.goal} | ${round(r.switchyardRps.median, 0)} | ${round(r.switchyardP99Ms.median, 1)} |`,
    );
  }
  const naive = rows.find((r) => r.naiveCpuUs);
  if (naive?.naiveCpuUs)
    L.push(
      '',
      `A naive hand-written proxy (express + hls-parser, parse and stringify per request) costs ${fmtSpread(naive.naiveCpuUs, 0)} µs for "${naive.label}".`,
    );
  return L.join('\n') + '\n';
}
