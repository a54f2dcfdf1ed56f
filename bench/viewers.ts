/**
 * Viewers per core: N simulated players, each reloading its own session's media playlist every 2 s on
 * average (±50 % jitter per request), spread over keep-alive connections as a load balancer would
 * hold them; optionally a second (audio) playlist per viewer. N grows until p99 passes 50 ms, a request
 * fails, or the server no longer keeps up with the offered rate. Switchyard is pinned to one core
 * and wrk to the other.
 */
import { profileDir } from './cpu';
import { BENCH_STREAM } from './playlists';
import type { BenchContext, BenchSection, SectionResult } from './section';
import { treeCpuUs } from './lib/proc';
import { startSwitchyard } from './lib/servers';
import { round } from './lib/stats';
import { runWrk } from './lib/wrk';

const RELOAD_MS = 2000;
const P99_LIMIT_MS = 50;
const STEPS = [2_500, 5_000, 7_500, 10_000, 25_000, 50_000, 75_000, 100_000, 125_000, 150_000, 200_000];

export interface ViewerStep {
  readonly viewers: number;
  readonly offeredRps: number;
  readonly achievedRps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** Share of the server's core it used (CPU time ÷ wall time). */
  readonly coreBusy: number;
  readonly ok: boolean;
}

async function ramp(ctx: BenchContext, audio: boolean): Promise<ViewerStep[]> {
  const sy = await startSwitchyard({
    originBase: ctx.origin.base,
    cpus: ctx.serverCpus,
    nodeArgs: process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir()}`] : [],
  });
  const steps: ViewerStep[] = [];
  try {
    for (const viewers of STEPS) {
      const tokens = ctx.tokens(viewers);
      const paths = tokens.flatMap((t) =>
        audio
          ? [`/s/${t}/${BENCH_STREAM}/media-100.m3u8`, `/s/${t}/${BENCH_STREAM}/audio-100.m3u8`]
          : [`/s/${t}/${BENCH_STREAM}/media-100.m3u8`],
      );
      const offeredRps = (paths.length * 1000) / RELOAD_MS;
      const connections = Math.min(2000, Math.max(50, Math.round(viewers / 50)));
      const meanDelayMs = (connections * 1000) / offeredRps;
      // Long enough for every viewer to reload several times.
      const seconds = Math.max(ctx.seconds * 2, 3 * (RELOAD_MS / 1000) + 4);
      const cpu0 = treeCpuUs(sy.pid);
      const r = await runWrk({
        base: sy.base,
        paths,
        connections,
        seconds,
        meanDelayMs,
        cpus: ctx.loaderCpus,
        timeoutS: 5,
      });
      const coreBusy = (treeCpuUs(sy.pid) - cpu0) / 1e6 / r.seconds;
      const step: ViewerStep = {
        viewers,
        offeredRps: Math.round(offeredRps),
        achievedRps: Math.round(r.rps),
        p50Ms: round(r.p50Ms, 1),
        p99Ms: round(r.p99Ms, 1),
        errors: r.errors,
        coreBusy: round(coreBusy, 2),
        // The offered rate counts from when each request was sent: a server that falls behind
        // delays the next request of the connection, so a shortfall in rate is a failure too.
        ok: r.p99Ms <= P99_LIMIT_MS && r.errors === 0 && r.rps >= 0.95 * offeredRps,
      };
      steps.push(step);
      ctx.log(
        `viewers${audio ? '+audio' : ''} ${viewers}: offered ${step.offeredRps} req/s, answered ${step.achievedRps} req/s, ` +
          `p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, errors ${step.errors}, core ${Math.round(coreBusy * 100)} % busy${step.ok ? '' : ' — over the limit'}`,
      );
      if (!step.ok) break;
    }
  } finally {
    await sy.stop();
  }
  return steps;
}

export const viewersSection: BenchSection = {
  name: 'viewers',
  async run(ctx): Promise<SectionResult> {
    const video = await ramp(ctx, false);
    const withAudio = await ramp(ctx, true);
    const best = (steps: readonly ViewerStep[]) => [...steps].reverse().find((s) => s.ok);
    const v = best(video);
    const a = best(withAudio);
    const row = (label: string, s: ViewerStep | undefined, next: ViewerStep | undefined) =>
      `| ${label} | ${s ? s.viewers : '< ' + STEPS[0]} | ${s?.achievedRps ?? ''} | ${s?.p99Ms ?? ''} | ${s ? Math.round(s.coreBusy * 100) + ' %' : ''} | ${next && !next.ok ? `${next.viewers}: p99 ${next.p99Ms} ms, ${next.achievedRps}/${next.offeredRps} req/s, errors ${next.errors}` : 'not reached'} |`;
    const after = (steps: readonly ViewerStep[], s: ViewerStep | undefined) =>
      s ? steps[steps.indexOf(s) + 1] : steps[0];
    return {
      json: { video, withAudio },
      markdown: [
        '### Viewers per core',
        '',
        `Each viewer reloads its own session's 100-segment playlist every ${RELOAD_MS / 1000} s (±50 % jitter), Switchyard on one core, wrk on the other; the largest N with p99 ≤ ${P99_LIMIT_MS} ms, no errors and the offered rate kept:`,
        '',
        '| playlists per viewer | viewers | req/s | p99 ms | core busy | first step over the limit |',
        '|---|---:|---:|---:|---:|---|',
        row('1 (muxed)', v, after(video, v)),
        row('2 (video + audio)', a, after(withAudio, a)),
        '',
      ].join('\n'),
    };
  },
};
