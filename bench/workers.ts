/**
 * `listen.workers`: throughput of the same Switchyard with 1 and with 2 workers (the built CLI, not
 * pinned), closed-loop wrk with the same session URLs, interleaved rounds. On a 2-core machine the load
 * generator shares the cores, so the ratio is a floor of what a dedicated machine shows.
 */
import { BENCH_STREAM } from './playlists';
import type { BenchSection, SectionResult } from './section';
import { startSwitchyard, type ServerProcess } from './lib/servers';
import { fmtSpread, round, spread } from './lib/stats';
import { runWrk } from './lib/wrk';

async function load(s: ServerProcess, paths: readonly string[], seconds: number) {
  return runWrk({ base: s.base, paths, connections: 64, threads: 2, seconds });
}

export const workersSection: BenchSection = {
  name: 'workers',
  async run(ctx): Promise<SectionResult> {
    const paths = ctx.tokens(1000).map((t) => `/s/${t}/${BENCH_STREAM}/media-100.m3u8`);
    const one = await startSwitchyard({ originBase: ctx.origin.base, workers: 1 });
    const two = await startSwitchyard({ originBase: ctx.origin.base, workers: 2 });
    const r1: { rps: number; p99: number }[] = [];
    const r2: { rps: number; p99: number }[] = [];
    try {
      await load(one, paths, 1);
      await load(two, paths, 1);
      for (let round = 0; round < ctx.rounds; round++) {
        const order = round % 2 === 0 ? ([one, two] as const) : ([two, one] as const);
        for (const s of order) {
          const r = await load(s, paths, ctx.seconds);
          if (r.errors > 0) throw new Error(`workers bench: ${r.errors} errors`);
          (s === one ? r1 : r2).push({ rps: r.rps, p99: r.p99Ms });
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
      ratio: spread(r2.map((r, i) => r.rps / (r1[i] as { rps: number }).rps)),
    };
    ctx.log(
      `workers: 1 → ${fmtSpread(result.workers1Rps, 0)} req/s (p99 ${fmtSpread(result.workers1P99Ms, 1)} ms), ` +
        `2 → ${fmtSpread(result.workers2Rps, 0)} req/s (p99 ${fmtSpread(result.workers2P99Ms, 1)} ms), ` +
        `ratio ${fmtSpread(result.ratio)} (goal ≥ 1.7)`,
    );
    return {
      json: result,
      markdown: [
        '### Workers',
        '',
        `Session reloads of a 100-segment playlist, wrk (2 threads, 64 connections, sharing the 2 cores with the server), ${ctx.rounds} interleaved rounds:`,
        '',
        '| listen.workers | req/s | p99 ms |',
        '|---|---:|---:|',
        `| 1 | ${fmtSpread(result.workers1Rps, 0)} | ${fmtSpread(result.workers1P99Ms, 1)} |`,
        `| 2 | ${fmtSpread(result.workers2Rps, 0)} | ${fmtSpread(result.workers2P99Ms, 1)} |`,
        '',
        `2 workers ÷ 1: **${round(result.ratio.median, 2)}×** (min–max ${round(result.ratio.min, 2)}–${round(result.ratio.max, 2)}).`,
        '',
      ].join('\n'),
    };
  },
};
