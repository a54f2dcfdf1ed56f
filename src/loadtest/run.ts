/**
 * `switchyard loadtest`: simulated players against Switchyard (an embedded stack, or --url), a fault
 * schedule applied to the fixture CDNs over their control API, a progress line a second, and a
 * report at the end. Bounded: it stops by itself after --duration.
 */
import { setMaxListeners } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { faultTimeline, fixtureEndpoint, fixtureMode, LoadtestUsageError, type Fault } from './faults';
import {
  EMBEDDED_STREAMS,
  startEmbeddedStack,
  type EmbeddedDelivery,
  type EmbeddedHealth,
  type EmbeddedStack,
} from './embedded';
import type { VariantChoice } from './hls';
import type { CmcdMode } from './cmcd';
import { createHttpClient, hostAllowList } from './http';
import { renderHtml } from './html';
import { playSession, sleep, type Entry, type PlayerContext, type Protocol } from './player';
import { Recorder, summarize } from './recorder';
import { buildReport, shares, type Expectation, type LoadtestReport } from './report';

export interface LoadtestOptions {
  /** Switchyard instances (a base URL, or a manifest URL); empty: start the embedded stack. */
  readonly urls: readonly string[];
  /** Stream paths under each base URL: an id ("live" = live/master.m3u8) or a path. */
  readonly streams: readonly string[];
  readonly sessions: number;
  readonly rampS: number;
  readonly durationS: number;
  readonly protocol: Protocol | 'mix';
  readonly variant: VariantChoice;
  readonly segments: 'get' | 'head';
  /** CMCD v2 from the players: off (default), on playlist requests (query), or event reports. */
  readonly cmcd?: CmcdMode;
  readonly faults: readonly Fault[];
  readonly expectations: readonly Expectation[];
  /** Fixture CDNs of an external run (id → base URL): names segment hosts and takes faults. */
  readonly cdns: readonly { readonly id: string; readonly url: string }[];
  /** Fixture origin of an external run: its request log gives the origin fetches. */
  readonly originUrl?: string;
  readonly reportFile?: string;
  readonly htmlFile?: string;
  /** Embedded stack only. */
  readonly health?: EmbeddedHealth;
  /** Embedded stack only: the streams' delivery mode and in-manifest failover (streams[].mode, .failover). */
  readonly delivery?: EmbeddedDelivery;
}

export interface LoadtestIo {
  /** Progress lines and the summary. */
  readonly out: NodeJS.WritableStream;
  readonly progress?: boolean;
  readonly random?: () => number;
}

export const DEFAULT_STREAMS = ['live', 'llhls', 'dash-live'] as const;

export function entryPath(stream: string): string {
  if (/\.(m3u8|mpd)(\?|$)/.test(stream)) return stream.replace(/^\//, '');
  // The fixture streams' entry manifests: DASH folders hold manifest.mpd, HLS ones master.m3u8.
  return stream.startsWith('dash') ? `${stream}/manifest.mpd` : `${stream}/master.m3u8`;
}

export function protocolOf(url: string): Protocol {
  return /\.mpd(\?|$)/i.test(new URL(url).pathname) ? 'dash' : 'hls';
}

/** Instances × streams, filtered by protocol. */
export function buildEntries(
  bases: readonly string[],
  streams: readonly string[],
  protocol: Protocol | 'mix',
): Entry[] {
  const entries: Entry[] = [];
  bases.forEach((base, instance) => {
    const path = new URL(base).pathname;
    const urls = /\.(m3u8|mpd)$/i.test(path)
      ? [base]
      : streams.map((s) => new URL(entryPath(s), base.endsWith('/') ? base : base + '/').href);
    for (const url of urls) {
      const p = protocolOf(url);
      if (protocol === 'mix' || protocol === p) entries.push({ instance, url, protocol: p });
    }
  });
  if (entries.length === 0) {
    throw new LoadtestUsageError(
      protocol === 'dash'
        ? `no DASH stream to play among ${streams.join(', ')}; add --stream dash-live (or a path to an .mpd)`
        : `no ${protocol} stream to play among ${streams.join(', ')}`,
    );
  }
  return entries;
}

/** Maps a segment URL to the CDN it belongs to: by base URL, else its host. */
export function cdnResolver(cdns: readonly { id: string; url: string }[]): (url: string) => string {
  const byOrigin = new Map(cdns.map((c) => [new URL(c.url).origin, c.id]));
  return (url) => {
    try {
      const u = new URL(url);
      return byOrigin.get(u.origin) ?? u.host;
    } catch {
      return 'invalid-url';
    }
  };
}

async function postJson(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
}

/** Playlist fetches in the fixture origin's log (segments come from CDNs pulling through). */
async function originPlaylistFetches(originUrl: string): Promise<number> {
  const res = await fetch(new URL('__fixture/log', originUrl), { signal: AbortSignal.timeout(5000) });
  const log = (await res.json()) as { path: string }[];
  return log.filter((e) => /\.(m3u8|mpd)$/.test(e.path)).length;
}

function progressLine(r: Recorder, cdnIds: readonly string[], targetSessions: number): string {
  const sec = Math.floor(r.elapsed() / 1000);
  const b = r.seconds[sec - 1];
  if (!b) return '';
  const lat = summarize(b.latency);
  const split = shares(b.segmentsByCdn, cdnIds);
  const cdn = cdnIds.map((id) => `${id} ${Math.round((split[id] ?? 0) * 100)}%`).join(' ');
  return (
    `${String(sec).padStart(4)}s  sessions ${r.active}/${targetSessions}  manifests ${b.manifests}/s  ` +
    `p50 ${lat.p50.toFixed(1)} ms  p99 ${lat.p99.toFixed(1)} ms  errors ${b.manifestErrors + b.segmentErrors}  cdn ${cdn}\n`
  );
}

export async function runLoadtest(options: LoadtestOptions, io: LoadtestIo): Promise<LoadtestReport> {
  if (options.urls.length === 0 && options.cdns.length > 0) {
    throw new LoadtestUsageError('--cdn names the fixture CDNs of an external run: use it with --url');
  }
  if (options.urls.length > 0 && options.delivery !== undefined) {
    throw new LoadtestUsageError(
      "--mode and --failover configure the embedded stack: with --url, the instance's config decides",
    );
  }
  let stack: EmbeddedStack | undefined;
  if (options.urls.length === 0) {
    for (const s of options.streams) {
      if (!/\.(m3u8|mpd)/.test(s) && !(EMBEDDED_STREAMS as readonly string[]).includes(s)) {
        throw new LoadtestUsageError(
          `--stream "${s}": the embedded stack has ${EMBEDDED_STREAMS.join(', ')}`,
        );
      }
    }
    stack = await startEmbeddedStack({ health: options.health, delivery: options.delivery });
  }
  try {
    return await run(options, io, stack);
  } finally {
    await stack?.close();
  }
}

async function run(
  options: LoadtestOptions,
  io: LoadtestIo,
  stack: EmbeddedStack | undefined,
): Promise<LoadtestReport> {
  const bases = stack ? [stack.proxyUrl] : options.urls;
  const cdns = stack ? stack.cdns : options.cdns;
  const originUrl = stack ? stack.originUrl : options.originUrl;
  const entries = buildEntries(
    bases,
    options.streams.length ? options.streams : DEFAULT_STREAMS,
    options.protocol,
  );
  const cdnIds = cdns.map((c) => c.id);
  for (const f of options.faults) {
    if (!cdnIds.includes(f.cdn)) {
      throw new LoadtestUsageError(
        `--fault "${f.spec}": no fixture CDN "${f.cdn}" (known: ${cdnIds.join(', ') || 'none; name them with --cdn id=URL'})`,
      );
    }
  }
  const http = createHttpClient(
    hostAllowList([...bases, ...cdns.map((c) => c.url), ...(originUrl ? [originUrl] : [])]),
  );
  const controlUrl = (id: string, endpoint = '__fixture/mode'): string =>
    new URL(endpoint, cdns.find((c) => c.id === id)?.url).href;

  // Every CDN starts up, and counts start from an empty log.
  for (const c of cdns) {
    await postJson(controlUrl(c.id), { kind: 'up' });
    await postJson(controlUrl(c.id, '__fixture/cmsd'), { duress: false });
  }
  const originBefore = originUrl ? await originPlaylistFetches(originUrl) : null;

  const startedAt = Date.now();
  const now = Date.now;
  const recorder = new Recorder(startedAt, bases, now);
  const stopper = new AbortController();
  // Every player waits on the one stop signal.
  setMaxListeners(0, stopper.signal);
  const durationMs = options.durationS * 1000;
  const random = io.random ?? Math.random;
  const ctx: PlayerContext = {
    http,
    recorder,
    cdnOf: cdnResolver(cdns),
    segmentMethod: options.segments === 'head' ? 'HEAD' : 'GET',
    variant: options.variant,
    ...(options.cmcd === undefined ? {} : { cmcd: options.cmcd }),
    stop: stopper.signal,
    random,
    now,
  };

  // Faults, on the run's clock.
  const applied = options.faults.map((fault) => ({
    fault,
    appliedAtMs: NaN,
    endedAtMs: null as number | null,
  }));
  const timers: NodeJS.Timeout[] = [];
  const faultWork: Promise<void>[] = [];
  for (const step of faultTimeline(options.faults)) {
    if (step.atMs >= durationMs) continue;
    timers.push(
      setTimeout(() => {
        // The fault counts from when it was asked for: evacuation is never flattered.
        const sentAt = recorder.elapsed();
        faultWork.push(
          postJson(controlUrl(step.cdn, fixtureEndpoint(step.action)), fixtureMode(step.action)).then(
            () => {
              const a = applied[step.fault];
              if (!a) return;
              if (step.ends) a.endedAtMs = sentAt;
              else a.appliedAtMs = sentAt;
              if (io.progress !== false)
                io.out.write(
                  `${String(Math.floor(recorder.elapsed() / 1000)).padStart(4)}s  fault: ${step.ends ? 'end of ' : ''}${a.fault.spec}\n`,
                );
            },
            (err: unknown) => {
              io.out.write(`fault "${step.cdn}" could not be applied: ${(err as Error).message}\n`);
            },
          ),
        );
      }, step.atMs),
    );
  }

  const progress =
    io.progress === false
      ? undefined
      : setInterval(() => io.out.write(progressLine(recorder, cdnIds, options.sessions)), 1000);

  // Sessions: slot i starts at ramp × i / N and plays session after session until the stop.
  const slots: Promise<void>[] = [];
  let sessionNo = 0;
  for (let i = 0; i < options.sessions; i++) {
    const entry = entries[i % entries.length] as Entry;
    const startIn = options.sessions <= 1 ? 0 : (options.rampS * 1000 * i) / options.sessions;
    slots.push(
      (async () => {
        await sleep(startIn, stopper.signal);
        while (!stopper.signal.aborted) {
          await playSession(ctx, entry, sessionNo++);
          await sleep(100, stopper.signal);
        }
      })(),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  stopper.abort();
  for (const t of timers) clearTimeout(t);
  // In-flight segment requests finish (bounded by their timeout); everything else stops at once.
  await Promise.all(slots);
  if (progress) clearInterval(progress);
  await Promise.allSettled(faultWork);
  const elapsed = recorder.elapsed();
  for (const c of cdns) {
    await postJson(controlUrl(c.id), { kind: 'up' }).catch(() => undefined);
    await postJson(controlUrl(c.id, '__fixture/cmsd'), { duress: false }).catch(() => undefined);
  }
  const originAfter = originUrl ? await originPlaylistFetches(originUrl).catch(() => null) : null;
  await http.close();

  const report = buildReport({
    recorder,
    startedAt,
    durationMs: elapsed,
    targetSessions: options.sessions,
    settings: {
      target: stack ? 'embedded' : bases,
      streams: [...new Set(entries.map((e) => e.url))],
      sessions: options.sessions,
      rampS: options.rampS,
      durationS: options.durationS,
      protocol: options.protocol,
      variant: options.variant,
      segments: options.segments,
      faults: options.faults.map((f) => f.spec),
    },
    faults: applied.filter((a) => Number.isFinite(a.appliedAtMs)),
    originFetches: originBefore === null || originAfter === null ? null : originAfter - originBefore,
    cdnIds,
    health: stack ? { intervalMs: stack.health.intervalMs, fall: stack.health.fall } : null,
    expectations: options.expectations,
  });
  if (options.reportFile) await writeFile(options.reportFile, JSON.stringify(report, null, 2) + '\n');
  if (options.htmlFile) await writeFile(options.htmlFile, renderHtml(report));
  return report;
}
