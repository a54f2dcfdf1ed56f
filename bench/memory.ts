/**
 * Memory: RSS and V8 heap of a Switchyard process after 1k, 100k and 200k distinct sessions (a full GC
 * before each reading; the 200k point tells a bounded cache, flat after 100k, from a leak), and the
 * share of time spent in GC under load over 100k live sessions (Switchyard's own
 * nodejs_gc_duration_seconds against its CPU time).
 */
import autocannon from 'autocannon';
import { BENCH_STREAM } from './playlists';
import type { BenchContext, BenchSection, SectionResult } from './section';
import { treeCpuUs } from './lib/proc';
import { metricValue, startSwitchyardForMemory } from './lib/servers';
import { round } from './lib/stats';
import { runWrk } from './lib/wrk';

export interface MemoryResult {
  readonly rss1kMb: number;
  readonly rss100kMb: number;
  readonly rss200kMb: number;
  /** The target's figure: RSS growth from 1k to 100k distinct sessions. */
  readonly growth100kMb: number;
  readonly heap1kMb: number;
  readonly heap100kMb: number;
  readonly heap200kMb: number;
  /** GC pause time ÷ process CPU time, and ÷ wall time, while 100k sessions reload. */
  readonly gcShareOfCpu: number;
  readonly gcShareOfWall: number;
  readonly loadRps: number;
}

const mb = (b: number): number => round(b / 1048576, 1);

export const memorySection: BenchSection = {
  name: 'memory',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const tokens = ctx.tokens(200_000);
    const paths = tokens.map((t) => `/s/${t}/${BENCH_STREAM}/media-100.m3u8`);
    const sy = await startSwitchyardForMemory({ originBase: ctx.origin.base, cpus: ctx.serverCpus });
    try {
      const drive = async (from: number, to: number): Promise<void> => {
        let i = from;
        const r = await autocannon({
          url: sy.base,
          connections: ctx.connections,
          amount: to - from,
          requests: [
            {
              setupRequest: (req) => {
                req.path = paths[i++] as string;
                return req;
              },
            },
          ],
        });
        if (r.non2xx + r.errors > 0) throw new Error(`memory bench: ${r.non2xx + r.errors} failed requests`);
      };
      await drive(0, 1000);
      const m1 = await sy.memory();
      await drive(1000, 100_000);
      const m100 = await sy.memory();

      // GC under load: 100k live sessions reloading.
      const live = paths.slice(0, 100_000);
      const gc0 = await metricValue(sy.base, 'nodejs_gc_duration_seconds_sum');
      const cpu0 = treeCpuUs(sy.pid);
      const r = await runWrk({
        base: sy.base,
        paths: live,
        connections: ctx.connections,
        seconds: ctx.seconds * 2,
        cpus: ctx.loaderCpus,
      });
      const cpuS = (treeCpuUs(sy.pid) - cpu0) / 1e6;
      const gcS = (await metricValue(sy.base, 'nodejs_gc_duration_seconds_sum')) - gc0;

      await drive(100_000, 200_000);
      const m200 = await sy.memory();
      const result: MemoryResult = {
        rss1kMb: mb(m1.rss),
        rss100kMb: mb(m100.rss),
        rss200kMb: mb(m200.rss),
        growth100kMb: mb(m100.rss - m1.rss),
        heap1kMb: mb(m1.heapUsed),
        heap100kMb: mb(m100.heapUsed),
        heap200kMb: mb(m200.heapUsed),
        gcShareOfCpu: round(gcS / cpuS, 4),
        gcShareOfWall: round(gcS / r.seconds, 4),
        loadRps: Math.round(r.rps),
      };
      ctx.log(
        `memory: RSS 1k ${result.rss1kMb} MB, 100k ${result.rss100kMb} MB (growth ${result.growth100kMb} MB, goal < 50), ` +
          `200k ${result.rss200kMb} MB; heap ${result.heap1kMb} / ${result.heap100kMb} / ${result.heap200kMb} MB; ` +
          `GC ${round(result.gcShareOfCpu * 100, 1)} % of CPU (goal < 3 %) at ${result.loadRps} req/s over 100k sessions`,
      );
      return {
        json: result,
        markdown: [
          '### Memory and GC',
          '',
          `- RSS after 1k distinct sessions ${result.rss1kMb} MB, after 100k ${result.rss100kMb} MB: **${result.growth100kMb} MB per 100k live sessions** (goal < 50 MB); after 200k ${result.rss200kMb} MB. V8 heap used ${result.heap1kMb} / ${result.heap100kMb} / ${result.heap200kMb} MB (full GC before each reading).`,
          `- GC under load (100k sessions reloading, ${result.loadRps} req/s): **${round(result.gcShareOfCpu * 100, 1)} % of the process's CPU time** (goal < 3 %), ${round(result.gcShareOfWall * 100, 1)} % of wall time.`,
          '',
        ].join('\n'),
      };
    } finally {
      await sy.stop();
    }
  },
};
