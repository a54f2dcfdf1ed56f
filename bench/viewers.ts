/**
 * Viewers per core: N simulated players, each reloading its own session's media playlist every 2 s on
 * average (±50 % jitter per request), spread over keep-alive connections as a load balancer would
 * hold them; optionally a second (audio) playlist per viewer. N grows until p99 passes 50 ms, a request
 * fails, or the server no longer keeps up with the offered rate. Switchyard is pinned to one core
 * and wrk to the other. The same ramp against the floor (bare node:http answering the same bytes) says
 * how many viewers a core can hold at all on this machine, so the two are read together. In steering
 * mode a viewer asks Switchyard only for its steering manifest, once per TTL.
 */
import { profileDir } from './cpu';
import { BENCH_STEERING_STREAM, BENCH_STREAM } from './playlists';
import type { BenchContext, BenchSection, SectionResult } from './section';
import { treeCpuUs } from './lib/proc';
import { startFloorServing, startSwitchyard, type ServerProcess } from './lib/servers';
import { round } from './lib/stats';
import { runWrk } from './lib/wrk';

const RELOAD_MS = 2000;
/** The bench config's steering TTL (the config default). */
const STEERING_TTL_MS = 10_000;
const P99_LIMIT_MS = 50;
/** Seconds of each step's load run before the measured run: two reloads of every viewer and more. */
const WARM_UP_S = 5;
const STEPS = [
  2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 25_000, 35_000, 50_000, 75_000, 100_000, 125_000,
  150_000, 200_000,
];

export interface ViewerStep {
  readonly viewers: number;
  readonly offeredRps: number;
  readonly achievedRps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** Share of the server's core it used (CPU time ÷ wall time). */
  readonly coreBusy: number;
  /** The server's CPU time per answered request, µs. */
  readonly cpuUsPerRequest: number;
  readonly ok: boolean;
}

function startServer(ctx: BenchContext): Promise<ServerProcess> {
  return startSwitchyard({
    originBase: ctx.origin.base,
    cpus: ctx.serverCpus,
    nodeArgs: process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir()}`] : [],
  });
}

/** The floor, answering every path with the bytes Switchyard answers a session's reload with. */
async function startFloor(ctx: BenchContext): Promise<ServerProcess> {
  const sy = await startServer(ctx);
  try {
    const reload = `/s/${ctx.tokens(1)[0] as string}/${BENCH_STREAM}/media-100.m3u8`;
    return (await startFloorServing(sy, reload, 'viewers', ctx.serverCpus)).floor;
  } finally {
    await sy.stop();
  }
}

/** What a viewer asks, and how often. */
interface ViewerKind {
  /** Log prefix. */
  readonly label: string;
  /** Mean interval between one viewer's requests (±50 % jitter). */
  readonly intervalMs: number;
  readonly steps: readonly number[];
  /** Each viewer's request paths (in their session), one request per path per interval. */
  paths(ctx: BenchContext, viewers: number): string[];
  /** The bare node:http floor instead of Switchyard (answering the first path's bytes). */
  readonly floor?: boolean;
}

const playlist = (t: string, file: string) => `/s/${t}/${BENCH_STREAM}/${file}`;

const MUXED: ViewerKind = {
  label: 'viewers',
  intervalMs: RELOAD_MS,
  steps: STEPS,
  paths: (ctx, n) => ctx.tokens(n).map((t) => playlist(t, 'media-100.m3u8')),
};
const FLOOR: ViewerKind = { ...MUXED, label: 'floor viewers', floor: true };
const WITH_AUDIO: ViewerKind = {
  ...MUXED,
  label: 'viewers+audio',
  paths: (ctx, n) =>
    ctx.tokens(n).flatMap((t) => [playlist(t, 'media-100.m3u8'), playlist(t, 'audio-100.m3u8')]),
};
/** Steering mode: the CDNs serve the playlists; Switchyard answers one steering request per TTL. */
const STEERING: ViewerKind = {
  label: 'steering viewers',
  intervalMs: STEERING_TTL_MS,
  steps: STEPS.map((n) => n * (STEERING_TTL_MS / RELOAD_MS)),
  paths: (ctx, n) => ctx.tokens(n, BENCH_STEERING_STREAM).map((t) => `/s/${t}/steering.json`),
};

async function ramp(ctx: BenchContext, kind: ViewerKind): Promise<ViewerStep[]> {
  const sy = kind.floor ? await startFloor(ctx) : await startServer(ctx);
  const label = kind.label;
  const steps: ViewerStep[] = [];
  try {
    for (const viewers of kind.steps) {
      const paths = kind.paths(ctx, viewers);
      const offeredRps = (paths.length * 1000) / kind.intervalMs;
      const connections = Math.min(2000, Math.max(50, Math.round(viewers / 50)));
      const meanDelayMs = (connections * 1000) / offeredRps;
      // Long enough for every viewer to ask several times (steering: at least once).
      const seconds = Math.max(ctx.seconds * 2, Math.min(3 * kind.intervalMs, 10_000) / 1000 + 2);
      const run = (s: number) =>
        runWrk({
          base: sy.base,
          paths,
          connections,
          seconds: s,
          meanDelayMs,
          cpus: ctx.loaderCpus,
          timeoutS: 5,
        });
      // The same load first, not counted: the code is compiled (a cold process spends its first
      // seconds in the JIT) and, at 2 s reloads, every viewer's session is open: a warm server.
      await run(WARM_UP_S);
      const cpu0 = treeCpuUs(sy.pid);
      const r = await run(seconds);
      const cpuUs = treeCpuUs(sy.pid) - cpu0;
      const coreBusy = cpuUs / 1e6 / r.seconds;
      const step: ViewerStep = {
        viewers,
        offeredRps: Math.round(offeredRps),
        achievedRps: Math.round(r.rps),
        p50Ms: round(r.p50Ms, 1),
        p99Ms: round(r.p99Ms, 1),
        errors: r.errors,
        coreBusy: round(coreBusy, 2),
        cpuUsPerRequest: round(cpuUs / Math.max(1, r.requests - r.errors), 1),
        // Each connection waits its delay, then sends and waits for the answer: at best it asks
        // 1 / (delay + latency) times a second, a little under the offered rate even for the floor. A
        // server that falls behind answers less than that (a shortfall in rate is a failure too), and
        // never less than 90 % of the offered rate.
        ok:
          r.p99Ms <= P99_LIMIT_MS &&
          r.errors === 0 &&
          r.rps >= 0.95 * ((connections * 1000) / (meanDelayMs + r.meanMs)) &&
          r.rps >= 0.9 * offeredRps,
      };
      steps.push(step);
      ctx.log(
        `${label} ${viewers}: offered ${step.offeredRps} req/s, answered ${step.achievedRps} req/s, ` +
          `p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, errors ${step.errors}, core ${Math.round(coreBusy * 100)} % busy, ` +
          `${step.cpuUsPerRequest} µs CPU per request${step.ok ? '' : ' — over the limit'}`,
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
    // BENCH_VIEWERS=steering,... runs only those ramps (while working on one).
    const only = process.env.BENCH_VIEWERS?.split(',');
    const run = (k: ViewerKind, name: string) => (only && !only.includes(name) ? [] : ramp(ctx, k));
    const floor = await run(FLOOR, 'floor');
    const video = await run(MUXED, 'muxed');
    const withAudio = await run(WITH_AUDIO, 'audio');
    const steering = await run(STEERING, 'steering');
    // A ramp's row: its last passing step (or "< its first step") and the first step over the limit;
    // a ramp BENCH_VIEWERS left out says so instead of reading as one that failed at once.
    const row = (label: string, steps: readonly ViewerStep[], kind: ViewerKind) => {
      if (steps.length === 0) return `| ${label} | not run |  |  |  |  |  |`;
      const s = [...steps].reverse().find((x) => x.ok);
      const next = s ? steps[steps.indexOf(s) + 1] : steps[0];
      return `| ${label} | ${s ? s.viewers : '< ' + String(kind.steps[0])} | ${s?.achievedRps ?? ''} | ${s?.p99Ms ?? ''} | ${s ? Math.round(s.coreBusy * 100) + ' %' : ''} | ${s?.cpuUsPerRequest ?? ''} | ${next && !next.ok ? `${next.viewers}: p99 ${next.p99Ms} ms, ${next.achievedRps}/${next.offeredRps} req/s, errors ${next.errors}` : 'not reached'} |`;
    };
    // CPU per request at each step both servers passed through: how the cost of a request grows as
    // the rate falls (each request wakes an idle loop on its own), for the floor as for Switchyard.
    const costs = video
      .map((s) => ({ s, f: floor.find((x) => x.viewers === s.viewers) }))
      .filter((x): x is { s: ViewerStep; f: ViewerStep } => x.f !== undefined)
      .map(
        ({ s, f: fl }) =>
          `| ${s.viewers} | ${s.offeredRps} | ${fl.cpuUsPerRequest} | ${s.cpuUsPerRequest} | ${round(fl.cpuUsPerRequest / s.cpuUsPerRequest, 2)} |`,
      );
    return {
      json: { floor, video, withAudio, steering },
      markdown: [
        '### Viewers per core',
        '',
        `Each viewer reloads its own session's 100-segment playlist every ${RELOAD_MS / 1000} s (±50 % jitter; in steering mode it asks for its steering manifest once per TTL instead, the CDNs serving the playlists), the server on one core, wrk on the other; each step runs ${WARM_UP_S} s of the same load before its measured run (a warm server: the code compiled and, at 2 s reloads, every session open); the largest N with p99 ≤ ${P99_LIMIT_MS} ms, no errors, and at least 95 % of the rate its paced connections can ask (1 / (delay + mean latency) each) and 90 % of the offered rate answered:`,
        '',
        '| server, playlists per viewer | viewers | req/s | p99 ms | core busy | CPU µs / request | first step over the limit |',
        '|---|---:|---:|---:|---:|---:|---|',
        row('floor (bare node:http, same bytes), 1', floor, FLOOR),
        row('Switchyard, 1 (muxed)', video, MUXED),
        row('Switchyard, 2 (video + audio)', withAudio, WITH_AUDIO),
        row(
          `Switchyard steering mode: 1 steering request per ${STEERING_TTL_MS / 1000} s (TTL)`,
          steering,
          STEERING,
        ),
        '',
        'CPU per request at each step (1 playlist per viewer):',
        '',
        '| viewers | offered req/s | floor µs | Switchyard µs | ÷ floor |',
        '|---:|---:|---:|---:|---:|',
        ...costs,
        '',
      ].join('\n'),
    };
  },
};
