/**
 * `listen.workers`: throughput of the same Switchyard with 1 and with 2 workers (the built CLI, not
 * pinned), closed-loop wrk with the same session URLs, interleaved rounds. On a 2-core machine the load
 * generator shares the cores, so the raw ratio is a floor of what a dedicated machine shows. The CPU
 * accounting says why: Switchyard's own CPU per request with 1 and with 2 workers (does a worker cost
 * more per request than a lone process?) and the share of the machine the load generator took.
 */
import { BENCH_STREAM } from './playlists';
import type { BenchSection, SectionResult } from './section';
import { machineBusyUs, treeCpuUs } from './lib/proc';
import { startSwitchyard, type ServerProcess } from './lib/servers';
import { fmtSpread, round, spread } from './lib/stats';
import { runWrk } from './lib/wrk';

interface Round {
  readonly rps: number;
  readonly p99: number;
  /** Switchyard's CPU (every process of it) per answered request, µs. */
  readonly serverUs: number;
  /** The rest of the machine's busy CPU per request (the load generator, mostly), µs. */
  readonly otherUs: number;
}

async function load(s: ServerProcess, paths: readonly string[], seconds: number): Promise<Round> {
  const server0 = treeCpuUs(s.pid);
  const machine0 = machineBusyUs();
  const r = await runWrk({ base: s.base, paths, connections: 64, threads: 2, seconds });
  if (r.errors > 0) throw new Error(`workers bench: ${r.errors} errors`);
  const server = treeCpuUs(s.pid) - server0;
  const machine = machineBusyUs() - machine0;
  const n = Math.max(1, r.requests);
  return { rps: r.rps, p99: r.p99Ms, serverUs: server / n, otherUs: Math.max(0, machine - server) / n };
}

export const workersSection: BenchSection = {
  name: 'workers',
  async run(ctx): Promise<SectionResult> {
    const paths = ctx.tokens(1000).map((t) => `/s/${t}/${BENCH_STREAM}/media-100.m3u8`);
    const one = await startSwitchyard({ originBase: ctx.origin.base, workers: 1 });
    const two = await startSwitchyard({ originBase: ctx.origin.base, workers: 2 });
    const r1: Round[] = [];
    const r2: Round[] = [];
    try {
      await load(one, paths, 1);
      await load(two, paths, 1);
      for (let round = 0; round < ctx.rounds; round++) {
        const order = round % 2 === 0 ? ([one, two] as const) : ([two, one] as const);
        for (const s of order) {
          (s === one ? r1 : r2).push(await load(s, paths, ctx.seconds));
        }
      }
    } finally {
      await one.stop();
      await two.stop();
    }
    const result = {
      workers1Rps: spread(r1.map((r) => r.rps)),
      workers2Rps: spread(r2.map((r) => r.rps)),
      workers1P99Ms: spread(r1.map((r) => r.p99)),
      workers2P99Ms: spread(r2.map((r) => r.p99)),
      ratio: spread(r2.map((r, i) => r.rps / (r1[i] as Round).rps)),
      workers1ServerUs: spread(r1.map((r) => r.serverUs)),
      workers2ServerUs: spread(r2.map((r) => r.serverUs)),
      workers1OtherUs: spread(r1.map((r) => r.otherUs)),
      workers2OtherUs: spread(r2.map((r) => r.otherUs)),
      /** Requests per second of Switchyard CPU, 2 workers ÷ 1: how well the work itself scales. */
      perCpuRatio: spread(r2.map((r, i) => (r1[i] as Round).serverUs / r.serverUs)),
    };
    // What 2 workers would answer, over 1, with the load generator on a machine of its own: each
    // worker a core of its own at the cost per request measured here (the primary's included).
    const dedicated = 2 * result.perCpuRatio.median;
    ctx.log(
      `workers: 1 → ${fmtSpread(result.workers1Rps, 0)} req/s (p99 ${fmtSpread(result.workers1P99Ms, 1)} ms), ` +
        `2 → ${fmtSpread(result.workers2Rps, 0)} req/s (p99 ${fmtSpread(result.workers2P99Ms, 1)} ms), ` +
        `ratio ${fmtSpread(result.ratio)} (goal ≥ 1.7); Switchyard CPU per request 1 → ${fmtSpread(result.workers1ServerUs, 1)} µs, ` +
        `2 → ${fmtSpread(result.workers2ServerUs, 1)} µs; the rest of the machine per request 1 → ${fmtSpread(result.workers1OtherUs, 1)} µs, ` +
        `2 → ${fmtSpread(result.workers2OtherUs, 1)} µs`,
    );
    return {
      json: { ...result, dedicatedRatio: dedicated },
      markdown: [
        '### Workers',
        '',
        `Session reloads of a 100-segment playlist, wrk (2 threads, 64 connections, sharing the 2 cores with the server), ${ctx.rounds} interleaved rounds:`,
        '',
        '| listen.workers | req/s | p99 ms | Switchyard CPU µs / request | rest of the machine µs / request |',
        '|---|---:|---:|---:|---:|',
        `| 1 | ${fmtSpread(result.workers1Rps, 0)} | ${fmtSpread(result.workers1P99Ms, 1)} | ${fmtSpread(result.workers1ServerUs, 1)} | ${fmtSpread(result.workers1OtherUs, 1)} |`,
        `| 2 | ${fmtSpread(result.workers2Rps, 0)} | ${fmtSpread(result.workers2P99Ms, 1)} | ${fmtSpread(result.workers2ServerUs, 1)} | ${fmtSpread(result.workers2OtherUs, 1)} |`,
        '',
        `2 workers ÷ 1: **${round(result.ratio.median, 2)}×** (min–max ${round(result.ratio.min, 2)}–${round(result.ratio.max, 2)}) on this machine, where the load generator takes the rest of the machine's CPU from the same two cores.`,
        `Requests per Switchyard CPU-second, 2 workers ÷ 1: ${fmtSpread(result.perCpuRatio)} (1 = a worker costs what a lone process costs per request).`,
        `With the load generator on a machine of its own, 2 workers, each on a core at the CPU per request measured here, would answer **${round(dedicated, 2)}×** what 1 worker answers (2 × the line above).`,
        '',
      ].join('\n'),
    };
  },
};
