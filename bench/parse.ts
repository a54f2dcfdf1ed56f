/**
 * Big manifests off the event loop (`limits.parse`, issue 11): the same built Switchyard twice, one
 * parsing every manifest inline (`limits.parse.workers: 0`), one with its parse threads (`auto`), in
 * front of an origin that serves playlists at the segment cap (150,000 segments, no-cache, so every
 * request parses again). Interleaved rounds, one cap-sized parse each:
 * - the event loop's delay while it parses, from Switchyard's own histogram (prom-client samples it
 *   every 10 ms; the scrape before the round resets it): the longest, and the p99 the issue's goal
 *   is stated in (under ~100 ms), and the ratio inline ÷ pool of the longest, in the same run;
 * - the slowest answer to another viewer's small playlist, asked every 20 ms meanwhile;
 * then RSS of each process while BENCH_PARSE_N (8) distinct cap-sized parses are in flight at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { autoWorkers } from '../src/parse-pool/parsing';
import type { BenchSection, SectionResult } from './section';
import { processRssBytes } from './lib/proc';
import { metricValue, metricValues, startSwitchyard, type ServerProcess } from './lib/servers';
import { fmtSpread, round, spread } from './lib/stats';

const SEGMENTS = 150_000;
const SMALL =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n' +
  '#EXTINF:2.0,\nseg_10.ts\n#EXTINF:2.0,\nseg_11.ts\n#EXTINF:2.0,\nseg_12.ts\n';

function capSizedPlaylist(): string {
  const parts = ['#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n'];
  for (let i = 0; i < SEGMENTS; i++) parts.push(`#EXTINF:2.000,\nseg_${i}.ts\n`);
  parts.push('#EXT-X-ENDLIST\n');
  return parts.join('');
}

/** /big/<anything>.m3u8: the cap-sized playlist; /big/small.m3u8: a three-segment live one. */
async function startBigOrigin(): Promise<{ base: string; bytes: number; close(): Promise<void> }> {
  const big = Buffer.from(capSizedPlaylist());
  const small = Buffer.from(SMALL);
  const server: Server = createServer((req, res) => {
    const body = (req.url ?? '').startsWith('/big/small.m3u8') ? small : big;
    res.writeHead(200, {
      'content-type': 'application/vnd.apple.mpegurl',
      'content-length': body.length,
      'cache-control': 'no-cache',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    bytes: big.length,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const threads = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`;

async function fetchStatus(url: string): Promise<number> {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
}

interface Round {
  readonly lagMaxMs: number;
  readonly lagP99Ms: number;
  readonly smallMaxMs: number;
  readonly smallAnswers: number;
}

/** One cap-sized parse while a small playlist is asked for every 20 ms. */
async function round1(s: ServerProcess, n: number): Promise<Round> {
  await metricValue(s.base, 'nodejs_eventloop_lag_max_seconds'); // the scrape resets the histogram
  let done = false;
  const big = fetchStatus(`${s.base}/big/round-${n}.m3u8`).finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const t = performance.now();
    const status = await fetchStatus(`${s.base}/big/small.m3u8`);
    if (status !== 200) throw new Error(`parse bench: small playlist answered ${status}`);
    latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  const status = await big;
  if (status !== 200) throw new Error(`parse bench: cap-sized playlist answered ${status}`);
  const [lagMax = 0, lagP99 = 0] = await metricValues(s.base, [
    'nodejs_eventloop_lag_max_seconds',
    'nodejs_eventloop_lag_p99_seconds',
  ]);
  return {
    lagMaxMs: lagMax * 1000,
    lagP99Ms: lagP99 * 1000,
    smallMaxMs: Math.max(0, ...latencies),
    smallAnswers: latencies.length,
  };
}

interface RssReading {
  readonly beforeMb: number;
  readonly peakMb: number;
  /** Answers that were not 200 (inline: parses held the loop past other fetches' origin deadline, 504). */
  readonly failed: number;
  /** Those answers' statuses, e.g. "503, 504". */
  readonly failedStatuses: string;
}

/**
 * Peak RSS while `n` distinct cap-sized parses are in flight at once (sampled every 10 ms), and how
 * many of them failed: inline, each parse holds the loop while the others' origin fetches run out of
 * their deadline (504), which is part of what this measures, not a bench failure.
 */
async function rssInFlight(s: ServerProcess, n: number): Promise<RssReading> {
  const before = processRssBytes(s.pid);
  let peak = before;
  let pending = n;
  const all = Array.from({ length: n }, (_, i) =>
    fetchStatus(`${s.base}/big/rss-${i}.m3u8`).finally(() => pending--),
  );
  while (pending > 0) {
    peak = Math.max(peak, processRssBytes(s.pid));
    await new Promise((r) => setTimeout(r, 10));
  }
  const statuses = await Promise.all(all);
  return {
    beforeMb: round(before / 1048576, 1),
    peakMb: round(peak / 1048576, 1),
    failed: statuses.filter((st) => st !== 200).length,
    failedStatuses: statuses.filter((st) => st !== 200).join(', '),
  };
}

export const parseSection: BenchSection = {
  name: 'parse',
  async run(ctx): Promise<SectionResult> {
    const inFlight = Number(process.env.BENCH_PARSE_N ?? 8);
    const origin = await startBigOrigin();
    const config = (workers: number | 'auto') => ({
      streams: [{ id: 'big', origin: `${origin.base}big/` }],
      origin: { allowPrivateAddresses: true, maxBodyBytes: 16 * 1024 * 1024 },
      limits: { parse: { workers, maxQueued: Math.max(16, inFlight) } },
    });
    let inline: ServerProcess | undefined;
    let pool: ServerProcess | undefined;
    const rounds = { inline: [] as Round[], pool: [] as Round[] };
    let rss: { inline: RssReading; pool: RssReading };
    try {
      inline = await startSwitchyard({ originBase: ctx.origin.base, workers: 1, config: config(0) });
      pool = await startSwitchyard({ originBase: ctx.origin.base, workers: 1, config: config('auto') });
      // Warm-up: code paths compiled, the pool's thread started.
      await round1(inline, -1);
      await round1(pool, -1);
      for (let r = 0; r < ctx.rounds; r++) {
        const order = r % 2 === 0 ? ([inline, pool] as const) : ([pool, inline] as const);
        for (const s of order) {
          const result = await round1(s, r);
          (s === inline ? rounds.inline : rounds.pool).push(result);
          ctx.log(
            `parse ${s === inline ? 'inline' : 'pool  '} round ${r}: loop held ${round(result.lagMaxMs, 1)} ms at most ` +
              `(p99 ${round(result.lagP99Ms, 1)} ms), ` +
              `slowest small playlist ${round(result.smallMaxMs, 1)} ms (${result.smallAnswers} answered meanwhile)`,
          );
        }
      }
      rss = { inline: await rssInFlight(inline, inFlight), pool: await rssInFlight(pool, inFlight) };
    } finally {
      await inline?.stop();
      await pool?.stop();
      await origin.close();
    }
    const lagInline = spread(rounds.inline.map((r) => r.lagMaxMs));
    const lagPool = spread(rounds.pool.map((r) => r.lagMaxMs));
    const p99Inline = spread(rounds.inline.map((r) => r.lagP99Ms));
    const p99Pool = spread(rounds.pool.map((r) => r.lagP99Ms));
    const smallInline = spread(rounds.inline.map((r) => r.smallMaxMs));
    const smallPool = spread(rounds.pool.map((r) => r.smallMaxMs));
    const ratio = round(lagInline.median / Math.max(lagPool.median, 0.001), 1);
    const result = {
      segments: SEGMENTS,
      playlistBytes: origin.bytes,
      poolWorkers: autoWorkers(),
      lagMaxInlineMs: lagInline,
      lagMaxPoolMs: lagPool,
      lagP99InlineMs: p99Inline,
      lagP99PoolMs: p99Pool,
      lagRatio: ratio,
      smallMaxInlineMs: smallInline,
      smallMaxPoolMs: smallPool,
      inFlight,
      rssInline: rss.inline,
      rssPool: rss.pool,
    };
    ctx.log(
      `parse: event loop held ${fmtSpread(lagInline, 1)} ms inline vs ${fmtSpread(lagPool, 1)} ms with the pool ` +
        `(${ratio}x), p99 ${fmtSpread(p99Inline, 1)} vs ${fmtSpread(p99Pool, 1)} ms; RSS with ${inFlight} cap-sized parses in flight: inline ${rss.inline.beforeMb} → ${rss.inline.peakMb} MB, ` +
        `pool ${rss.pool.beforeMb} → ${rss.pool.peakMb} MB; answers other than 200: inline ${rss.inline.failed} [${rss.inline.failedStatuses}], pool ${rss.pool.failed} [${rss.pool.failedStatuses}]`,
    );
    return {
      json: result,
      markdown: [
        `### Big manifests off the event loop (${SEGMENTS.toLocaleString('en')} segments, ${round(origin.bytes / 1048576, 1)} MB, ${ctx.rounds} rounds)`,
        '',
        `| | inline (\`limits.parse.workers: 0\`) | parse pool (\`auto\`: ${threads(autoWorkers())}) |`,
        '|---|---:|---:|',
        `| event loop's longest delay while it parses, ms | ${fmtSpread(lagInline, 1)} | ${fmtSpread(lagPool, 1)} |`,
        `| event loop's p99 delay while it parses (goal: under ~100 ms), ms | ${fmtSpread(p99Inline, 1)} | ${fmtSpread(p99Pool, 1)} |`,
        `| slowest answer to another viewer's small playlist meanwhile, ms | ${fmtSpread(smallInline, 1)} | ${fmtSpread(smallPool, 1)} |`,
        `| RSS before → peak with ${inFlight} cap-sized parses in flight, MB | ${rss.inline.beforeMb} → ${rss.inline.peakMb} | ${rss.pool.beforeMb} → ${rss.pool.peakMb} |`,
        `| of those ${inFlight}, answers other than 200 | ${rss.inline.failed} ${rss.inline.failedStatuses ? `(${rss.inline.failedStatuses})` : ''} | ${rss.pool.failed} ${rss.pool.failedStatuses ? `(${rss.pool.failedStatuses})` : ''} |`,
        '',
        `The pool holds the loop **${ratio}x** less (medians, same run).`,
        '',
      ].join('\n'),
    };
  },
};
