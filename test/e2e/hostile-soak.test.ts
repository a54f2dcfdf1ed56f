/**
 * Hostile soak (issue 11, "Done when"): the load harness plays live sessions through Switchyard while
 * a hostile origin (slow answers, bodies cut mid-transfer, gzip that stalls, manifests built to be
 * expensive) and abusive clients (pipelining floods that never read, slowloris headers, throwaway
 * query strings, crafted CMCD) are mixed in. Zero crashes (no uncaught error, the process answers),
 * zero unanswered manifest requests (every honest one succeeds, every hostile one gets an HTTP answer),
 * and the heap stays under its ceiling. Bounded loops, counts and ordering: no wall-clock bound.
 */
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { runLoadtest } from '../../src/loadtest/run';
import { startStack, type Stack } from '../helpers/stack';
import {
  baseUrlFanOutMpd,
  deepMpd,
  longPlaylist,
  manyAttributesMpd,
  noTargetDurationPlaylist,
} from '../hardening/hostile-manifests';
import { startHostileOrigin, type HostileOrigin } from '../hardening/hostile-origin';
import { metricValue } from '../hardening/support';

const SECONDS = Number(process.env.HOSTILE_SOAK_SECONDS ?? 20);
const SESSIONS = Number(process.env.HOSTILE_SOAK_SESSIONS ?? 60);
/** Heap growth allowed over the run (the ceiling is the heap before it plus this). */
const HEAP_CEILING_GROWTH = 384 * 1024 * 1024;

let stack: Stack;
let hostile: HostileOrigin;

beforeAll(async () => {
  hostile = await startHostileOrigin({
    'fan-out.mpd': baseUrlFanOutMpd(16),
    'attributes.mpd': manyAttributesMpd(30_000),
    'deep.mpd': deepMpd(20_000),
    'huge.m3u8': longPlaylist(200_000),
    'no-target.m3u8': noTargetDurationPlaylist(50_000),
    'vod.m3u8': longPlaylist(500),
  });
  stack = await startStack({
    streams: ['live'],
    extra: ({ origin }) => ({
      streams: [
        { id: 'live', origin: `${origin}live/` },
        { id: 'h', origin: `${hostile.url}h/` },
      ],
      origin: { bodyTimeout: 1500, headersTimeout: 1500, maxBodyBytes: 4 * 1024 * 1024 },
      cache: { maxStale: '30s', errorRetry: 200 },
      limits: { maxPipelined: 8, headersTimeout: 2000, idleTimeout: 3000 },
    }),
  });
}, 60_000);

afterAll(async () => {
  await stack.close();
  await hostile.close();
});

interface Tally {
  sent: number;
  answered: number;
  statuses: Map<number, number>;
  unanswered: string[];
}

/** GETs through Switchyard until `stop()`; each must end with an HTTP status, whatever it is. */
async function hostileClient(paths: readonly string[], stop: () => boolean, tally: Tally, max: number) {
  for (let i = 0; i < max && !stop(); i++) {
    const path = paths[i % paths.length] as string;
    tally.sent++;
    try {
      const res = await fetch(`${stack.url}${path}`, { headers: { 'user-agent': 'hostile' } });
      await res.arrayBuffer();
      tally.answered++;
      tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
    } catch (err) {
      tally.unanswered.push(`${path}: ${(err as Error).message}`);
    }
  }
}

/** Opens connections that pipeline 100 requests and never read them; Switchyard must cut each. */
async function pipeliningFlood(stop: () => boolean, max: number): Promise<number> {
  const u = new URL(stack.url);
  let opened = 0;
  for (let i = 0; i < max && !stop(); i++) {
    opened++;
    const cut = stack.server.runtime.metrics.cutCounts;
    const cutsBefore = cut.pipelining + cut.unread + cut.idle;
    await new Promise<void>((resolve) => {
      const socket = connect(Number(u.port), u.hostname);
      socket.pause();
      socket.on('error', () => undefined);
      socket.once('close', () => resolve());
      socket.once('connect', () =>
        socket.write(`GET /h/doc/vod.m3u8?cb=${i} HTTP/1.1\r\nHost: s\r\n\r\n`.repeat(100)),
      );
      // A paused socket never sees the server's close: once Switchyard counted the cut, read on.
      const poll = setInterval(() => {
        if (cut.pipelining + cut.unread + cut.idle > cutsBefore) {
          clearInterval(poll);
          socket.resume();
        }
      }, 20);
      socket.once('close', () => clearInterval(poll));
    });
  }
  return opened;
}

/** Slowloris: a header line every 200 ms until Switchyard closes the socket (headersTimeout). */
async function slowloris(stop: () => boolean, max: number): Promise<number> {
  const u = new URL(stack.url);
  let closed = 0;
  for (let i = 0; i < max && !stop(); i++) {
    await new Promise<void>((resolve) => {
      const socket = connect(Number(u.port), u.hostname);
      let open = true;
      socket.on('error', () => undefined);
      socket.once('close', () => {
        open = false;
        closed++;
        resolve();
      });
      socket.once('connect', () => {
        socket.write('GET /healthz HTTP/1.1\r\nHost: s\r\n');
        let n = 0;
        const drip = () => {
          if (!open) return;
          // Bounded: 100 lines (20 s) at most, then the client gives up itself.
          if (n++ > 100) return void socket.destroy();
          socket.write(`X-${n}: 1\r\n`);
          setTimeout(drip, 200);
        };
        drip();
      });
    });
  }
  return closed;
}

test(
  `hostile soak: ${SESSIONS} live sessions for ${SECONDS} s with a hostile origin and abusive clients`,
  async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 100);
    let done = false;
    const stop = () => done;
    const tally: Tally = { sent: 0, answered: 0, statuses: new Map(), unanswered: [] };
    const hostilePaths = [
      'h/doc/fan-out.mpd',
      'h/doc/attributes.mpd',
      'h/doc/deep.mpd',
      'h/doc/huge.m3u8',
      'h/doc/no-target.m3u8',
      'h/slow/800/vod.m3u8',
      'h/cut/vod.m3u8',
      'h/stall-gzip/vod.m3u8',
    ];
    const throwaway = Array.from({ length: 50 }, (_, i) => `live/v0/index.m3u8?cb=${i}&x=${'y'.repeat(i)}`);
    const cmcd = Array.from(
      { length: 10 },
      (_, i) => `live/v0/index.m3u8?CMCD=${encodeURIComponent(`bs,br=${i},mtp=1,sid="${'s'.repeat(100)}"`)}`,
    );
    const abusers = Promise.all([
      hostileClient(hostilePaths, stop, tally, 400),
      hostileClient([...hostilePaths].reverse(), stop, tally, 400),
      hostileClient(throwaway, stop, tally, 2000),
      hostileClient(cmcd, stop, tally, 2000),
      pipeliningFlood(stop, 200),
      slowloris(stop, 20),
    ]);

    const out = new PassThrough();
    out.resume();
    const report = await runLoadtest(
      {
        urls: [stack.url],
        streams: ['live'],
        sessions: SESSIONS,
        rampS: Math.min(3, SECONDS / 6),
        durationS: SECONDS,
        protocol: 'hls',
        variant: 'random',
        segments: 'head',
        faults: [],
        expectations: [],
        cdns: stack.cdns.map((c) => ({ id: c.id, url: c.url })),
        originUrl: stack.origin.url,
      },
      { out, progress: false },
    );
    done = true;
    const [, , , , flooded, slow] = await abusers;
    clearInterval(sampler);

    // Zero unanswered manifest requests: every honest one succeeded...
    const manifestErrors = Object.entries(report.errors.byKind).filter(([k]) => !k.startsWith('segment:'));
    expect({ errors: report.manifests.errors, kinds: Object.fromEntries(manifestErrors) }).toEqual({
      errors: 0,
      kinds: {},
    });
    expect(report.sessions.started).toBeGreaterThanOrEqual(SESSIONS);
    expect(report.manifests.requests).toBeGreaterThan(SESSIONS);
    // ... and every hostile one got an HTTP answer (a 502/504 for the hostile origin's documents).
    expect(tally.unanswered).toEqual([]);
    expect(tally.answered).toBe(tally.sent);
    const statuses = Object.fromEntries(tally.statuses);
    console.log(
      `hostile soak: ${report.manifests.requests} honest manifest requests, ${tally.sent} hostile requests ` +
        `(statuses ${JSON.stringify(statuses)}), ${flooded} pipelining floods, ${slow} slowloris sockets, ` +
        `heap ${Math.round(heapBefore / 2 ** 20)} -> peak ${Math.round(peakHeap / 2 ** 20)} MiB`,
    );
    expect(Object.keys(statuses).every((s) => ['200', '502', '504'].includes(s))).toBe(true);
    expect(tally.statuses.get(502) ?? 0).toBeGreaterThan(0);

    // The abusive connections were cut, each by its bound (a flood whose socket was never cut would
    // have kept its client waiting for ever).
    const runtime = stack.server.runtime;
    const cut = runtime.metrics.cutCounts;
    expect(flooded).toBeGreaterThan(0);
    expect(cut.pipelining + cut.unread + cut.idle).toBeGreaterThanOrEqual(flooded);
    expect(cut.pipelining).toBeGreaterThan(0);
    expect(slow).toBeGreaterThan(0);

    // Zero crashes: nothing escaped a handler, and the process answers.
    const metrics = await runtime.metrics.registry.metrics();
    expect(metricValue(metrics, 'switchyard_uncaught_errors_total')).toBe(0);
    expect(metricValue(metrics, 'switchyard_requests_total', { route: 'manifest', status: '500' })).toBe(0);
    expect((await fetch(`${stack.url}healthz`)).status).toBe(200);
    // Memory under its ceiling.
    expect(peakHeap - heapBefore).toBeLessThan(HEAP_CEILING_GROWTH);
  },
  (SECONDS + 90) * 1000,
);
