/**
 * ffmpeg (Debian's 5.1) as a player of the matrix (issue 13 §1): a few cheap cells beside the browser
 * players' (matrix.test.ts), from the same fixture streams (./streams), each with its own origin,
 * two fixture CDNs and Switchyard, so the CDN logs are that cell's evidence:
 *
 * - HLS VOD (TS + alternate audio), HLS live and DASH static `$Number$`, in rewrite and redirect mode;
 * - ffmpeg DECODES the first video and audio stream (not a stream copy): frames decoded from its own
 *   final statistics (a complete VOD is every frame; live the seconds it was asked to read), and not
 *   one line at error level (demuxer, HTTP or decoder);
 * - what it fetched: every segment URL it opened is on a fixture CDN (rewrite) or Switchyard's
 *   redirect route (redirect), none on the origin; the CDNs' logs hold the segments, all 200/206,
 *   and the origin saw only the CDNs' pull-throughs;
 * - HLS live: the session's CDN is drained mid-stream (out of selection, still serving what it
 *   listed): the later segments come from the other CDN, in order (every segment from the drained
 *   CDN is earlier in the stream than every one from the other), and nothing is lost.
 *
 * ffmpeg has no DASH live cell: its 5.1 DASH demuxer reads a dynamic MPD faster than real time (a
 * 404 loop; see /work/shared/MEDIA-TOOLS.md), and it plays one pathway without steering, so no
 * steering cell either (the browser players cover both).
 */
import { limiter } from '../helpers/browser';
import { decodeWithFfmpeg, type FfmpegDecode } from '../helpers/ffmpeg';
import { startStack, waitFor, type Stack } from '../helpers/stack';
import type { RequestLogEntry } from '../../fixtures/servers';
import { MATRIX_STREAMS, isSegmentPath, liveSegmentPlace, type MatrixStream } from './streams';

/** Input seconds a live cell reads (1 s segments: about 8 segments, the drain after the first few). */
const LIVE_READ_S = 8;
/** Segments ffmpeg must have fetched from the session's CDN before it is drained. */
const DRAIN_AFTER_SEGMENTS = 2;
/** The fixtures are 10 frames per second. */
const FPS = 10;
const HEALTH = { interval: 250, timeout: 2000, rise: 1, fall: 1 };

type Mode = 'rewrite' | 'redirect';
interface Cell {
  stream: MatrixStream;
  mode: Mode;
}

const streamOf = (id: string): MatrixStream => {
  const s = MATRIX_STREAMS.find((x) => x.id === id);
  if (!s) throw new Error(`no matrix stream ${id}`);
  return s;
};
const cells: Cell[] = ['vod', 'live', 'dash'].flatMap((id) =>
  (['rewrite', 'redirect'] as const).map((mode) => ({ stream: streamOf(id), mode })),
);
const cellName = (c: Cell): string => `${c.stream.label} | ffmpeg | ${c.mode}`;

interface Outcome {
  cell: Cell;
  run: FfmpegDecode | null;
  problems: string[];
  segmentsByCdn: Record<string, number>;
  drain?: { from: string; to: string; fromLast: number; toFirst: number; after: number };
}

const ok = (r: RequestLogEntry): boolean => r.status === 200 || r.status === 206;
/** An ffmpeg log line without what differs between runs: object addresses, hosts and ports, progress. */
const normalized = (line: string): string =>
  line
    .replace(/@ 0x[0-9a-f]+/g, '@')
    .replace(/https?:\/\/[^/\s']+\//g, 'URL/')
    .replace(/\[info\] frame=.*?(?=\[|$)/g, '')
    .trim();

async function runCell(cell: Cell): Promise<Outcome> {
  const { stream: s, mode } = cell;
  const problems: string[] = [];
  const outcome: Outcome = { cell, run: null, problems, segmentsByCdn: {} };
  let stack: Stack | undefined;
  try {
    stack = await startStack({
      streams: [s.id],
      health: HEALTH,
      extra: ({ origin }) => ({ streams: [{ id: s.id, origin: `${origin}${s.id}/`, mode }] }),
    });
    const st = stack;
    const segs = (id: string): RequestLogEntry[] => st.cdn(id).requests.filter((r) => isSegmentPath(r.path));
    // ffmpeg's own reading of the stream straight from the origin: what it logs and asks there
    // (its DASH demuxer reads one segment past a static MPD's end and logs the 404 as an error) is
    // ffmpeg's, not Switchyard's. VOD only: a live play is not repeatable.
    const baseline = new Set<string>();
    const beyondEnd = new Set<string>();
    if (!s.live) {
      const direct = await decodeWithFfmpeg(`${st.origin.url}${s.id}/${s.entry}`, { timeoutMs: 60_000 });
      for (const e of direct.errors) baseline.add(normalized(e));
      for (const r of st.origin.requests) if (r.status === 404) beyondEnd.add(r.path);
      st.origin.requests.length = 0;
    }
    const playing = decodeWithFfmpeg(`${st.url}${s.id}/${s.entry}`, {
      ...(s.live ? { seconds: LIVE_READ_S } : {}),
      timeoutMs: 60_000,
    });
    if (s.live) {
      // The session's CDN: the one ffmpeg has fetched its first segments from.
      await waitFor(
        () => st.cdns.some((c) => segs(c.id).filter(ok).length >= DRAIN_AFTER_SEGMENTS),
        30_000,
        50,
      );
      const from = st.cdns.find((c) => segs(c.id).filter(ok).length >= DRAIN_AFTER_SEGMENTS)?.id ?? '';
      const to = st.cdns.find((c) => c.id !== from)?.id ?? '';
      st.server.runtime.monitor.setDrained(from, true);
      const run = await playing;
      outcome.run = run;
      // Order in the stream, not in time: every segment from the drained CDN comes before every
      // one from the other (one move, no way back), and segments did move.
      // Per rendition (ffmpeg probes the other variant's first segment when it opens the master).
      const numbers = (id: string, dir?: string): number[] =>
        segs(id)
          .filter((r) => ok(r) && (dir === undefined || r.path.startsWith(dir)))
          .flatMap((r) => {
            const at = liveSegmentPlace(r.path);
            return at ? [at.n] : [];
          });
      const dirs = [
        ...new Set(
          st.cdns.flatMap((c) => segs(c.id).map((r) => r.path.slice(0, r.path.lastIndexOf('/') + 1))),
        ),
      ];
      const fromN = numbers(from);
      const toN = numbers(to);
      outcome.drain = {
        from,
        to,
        fromLast: Math.max(...fromN),
        toFirst: Math.min(...toN),
        after: new Set(toN).size,
      };
      if (toN.length < 2) problems.push(`${toN.length} segments from ${to} after ${from} was drained`);
      for (const dir of dirs) {
        const f = numbers(from, dir);
        const t = numbers(to, dir);
        if (f.length > 0 && t.length > 0 && Math.max(...f) >= Math.min(...t))
          problems.push(
            `${dir}: segments went back to the drained CDN: ${from} ${f.join(',')}; ${to} ${t.join(',')}`,
          );
      }
      const want = LIVE_READ_S * FPS - 2;
      if (run.decoded.video < want)
        problems.push(`decoded ${run.decoded.video} video frames of ${LIVE_READ_S} s live (< ${want})`);
    } else {
      const run = await playing;
      outcome.run = run;
      const want = (s.durationS ?? 0) * FPS;
      if (run.decoded.video !== want)
        problems.push(`decoded ${run.decoded.video} video frames of a ${s.durationS} s VOD (want ${want})`);
    }
    const run = outcome.run as FfmpegDecode;
    if (run.killed) problems.push('ffmpeg did not finish (killed at its deadline)');
    if (run.code !== 0) problems.push(`ffmpeg exited ${run.code}`);
    if (run.decoded.audio === 0) problems.push('no audio frame decoded');
    const errors = run.errors.filter((e) => !baseline.has(normalized(e)));
    if (errors.length > 0) problems.push(`ffmpeg errors: ${errors.slice(0, 3).join(' / ')}`);

    // What ffmpeg opened: manifests from Switchyard, segments from a CDN or Switchyard's redirects.
    const cdnOf = (u: string): string | undefined => st.cdns.find((c) => u.startsWith(c.url))?.id;
    const segUrls = run.opened.filter((u) => isSegmentPath(new URL(u).pathname));
    if (segUrls.length === 0) problems.push('ffmpeg opened no segment');
    if (run.opened.some((u) => u.startsWith(st.origin.url)))
      problems.push(`ffmpeg opened the origin: ${run.opened.find((u) => u.startsWith(st.origin.url))}`);
    const misplaced = segUrls.filter((u) =>
      mode === 'redirect' ? !u.startsWith(`${st.url}s/`) : cdnOf(u) === undefined,
    );
    if (misplaced.length > 0)
      problems.push(
        `${misplaced.length} segments opened ${mode === 'redirect' ? 'not via Switchyard' : 'not on a CDN'}: ${misplaced[0]}`,
      );

    // The CDNs' logs: the segments, all answered 200/206; the origin only behind the CDNs.
    for (const c of st.cdns)
      outcome.segmentsByCdn[c.id] = new Set(
        segs(c.id)
          .filter(ok)
          .map((r) => r.path + (r.range ?? '')),
      ).size;
    const distinct = Object.values(outcome.segmentsByCdn).reduce((a, b) => a + b, 0);
    // One variant and one audio stream: half of what a browser player reading both variants needs.
    const wantSegments = s.live ? LIVE_READ_S / 2 : Math.ceil(s.minSegments / 2);
    if (distinct < wantSegments)
      problems.push(`${distinct} distinct segments in the CDN logs (< ${wantSegments})`);
    const failed = st.cdns.flatMap((c) =>
      segs(c.id).filter((r) => r.status !== 0 && !ok(r) && !(r.status === 404 && beyondEnd.has(r.path))),
    );
    if (failed.length > 0) problems.push(`CDN answered ${failed[0]?.status} for ${failed[0]?.path}`);
    const direct = st.origin.requests.filter((r) => isSegmentPath(r.path) && r.via === undefined);
    if (direct.length > 0) problems.push(`${direct.length} segment requests reached the origin directly`);
  } catch (err) {
    problems.push(`error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await stack?.close().catch(() => undefined);
  }
  process.stderr.write(`matrix: ${cellName(cell)}: ${problems.length === 0 ? 'ok' : problems.join('; ')}\n`);
  return outcome;
}

const outcomes = new Map<string, Promise<Outcome>>();

beforeAll(() => {
  // Live cells first (they take real time), two at a time: ffmpeg decodes, the servers are idle.
  const limit = limiter(2);
  for (const c of [...cells.filter((x) => x.stream.live), ...cells.filter((x) => !x.stream.live)])
    outcomes.set(
      cellName(c),
      limit(() => runCell(c)),
    );
});

afterAll(async () => {
  const all = await Promise.all(outcomes.values());
  console.log(table(all));
}, 300_000);

describe('ffmpeg through Switchyard', () => {
  for (const c of cells) {
    const name = cellName(c);
    test(
      name,
      async () => {
        const o = await (outcomes.get(name) as Promise<Outcome>);
        if (o.problems.length > 0)
          throw new Error(
            `${o.problems.join('\n')}\n${(o.run?.stderr ?? '').split('\n').slice(-40).join('\n')}`,
          );
      },
      300_000,
    );
  }
});

function table(all: readonly Outcome[]): string {
  const head = [
    'stream',
    'player',
    'delivery',
    'frames v/a',
    'segments by CDN',
    'drain (segments after)',
    'result',
  ];
  const rows = all.map((o) => [
    o.cell.stream.label,
    'ffmpeg',
    o.cell.mode,
    o.run ? `${o.run.decoded.video}/${o.run.decoded.audio}` : '-',
    Object.entries(o.segmentsByCdn)
      .map(([id, n]) => `${id}:${n}`)
      .join(' '),
    o.drain ? `${o.drain.from}->${o.drain.to} (${o.drain.after})` : '',
    o.problems.length > 0 ? `FAIL ${o.problems[0] ?? ''}`.slice(0, 100) : 'ok',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ');
  return [
    'ffmpeg cells of the player matrix (frames decoded; live: the session CDN drained mid-stream)',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map(line),
  ].join('\n');
}
