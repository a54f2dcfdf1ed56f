/**
 * The player matrix (issue 13 §1, issue 10 §§1-3): hls.js, shaka-player and dash.js in one headless
 * Chromium (parallel pages) play every fixture stream, first straight from the fixture origin (a
 * fixture is right when all of them play it), then through Switchyard in each delivery mode (HLS also
 * in rewrite mode with `failover: manifest`). Each cell gets its own origin, two fixture CDNs and
 * Switchyard, so the CDN logs are that cell's evidence:
 *
 * - seconds played: to the end on VOD, LIVE_SECONDS on live; no fatal player error;
 * - every segment from a fixture CDN: none from the origin (the origin sees only CDN pull-throughs), none
 *   from Switchyard except redirect mode (where Switchyard answers 302 to a CDN); every distinct segment
 *   of a complete play is in the CDNs' logs, all answered 200/206;
 * - live: the CDN the session is on is taken down (or, in the drain cells, drained) mid-play: playback
 *   goes on, later segments come from the other CDN, and what the cut cost is counted, never timed:
 *   live segments lost (asked of the dead CDN, never answered with media by any CDN), rebuffers after
 *   the cut (the media element's `waiting`), media skipped by the playhead. Each live cell states what
 *   its player gets in its mode (`expectationFor`, with the reason from the player's code) and is
 *   held to it.
 *
 * The matrix is printed as a table at the end (the README's tables come from it).
 */
import {
  TEST_DOMAIN,
  describePlay,
  launchPlayers,
  type PlayerKind,
  type PlayOptions,
  type PlayResult,
  type Players,
} from '../helpers/browser';
import { twoKindScheduler } from '../helpers/concurrency';
import { startStack, type Stack } from '../helpers/stack';
import { DEFAULT_STEERING_STARTUP_TTL } from '../../src/config/schema';
import { onFreePort, startOrigin, type FixtureOrigin, type RequestLogEntry } from '../../fixtures/servers';
import {
  EXTRA_ORIGIN_STREAMS,
  LIVE_CUT_S,
  LIVE_SECONDS,
  MATRIX_STREAMS,
  VOD_RATE,
  deliveriesFor,
  isSegmentPath,
  liveSegmentPlace,
  playersFor,
  type Delivery,
  type MatrixStream,
} from './streams';

/**
 * Pages (and so cells, each with its own servers) playing at once in the one browser. Live cells play
 * in real time and mostly wait; VOD cells and the origin checks are short and want the CPU. Both kinds
 * run side by side from the start (at most LIVE_PARALLEL live cells while short ones wait), so the
 * short cells use the CPU the live ones leave. What a cell claims is counted (segments, rebuffers), so
 * a busy machine makes it slower, not different.
 */
const PARALLEL = 6;
const LIVE_PARALLEL = 4;

/**
 * Health probing of each cell's Switchyard. A fixture CDN that is down drops connections at once, so
 * the probe fails at once whatever its timeout; a long timeout keeps a busy machine from marking a
 * healthy CDN down.
 */
const HEALTH = { interval: 250, timeout: 2000, rise: 1, fall: 1 };

type Fault = 'down' | 'drain';

interface Cell {
  stream: MatrixStream;
  player: PlayerKind;
  delivery: Delivery;
  /** Live cells: what happens to the session's CDN at LIVE_CUT_S. */
  fault?: Fault;
}

interface CellOutcome {
  cell: Cell;
  play: PlayResult | null;
  /** Broken expectations, empty when the cell is green. */
  problems: string[];
  /**
   * Live: where the cut's outcome missed the cell's expectation (seconds played, a move to the other
   * CDN, segments lost without a fallback). These depend on the machine as much as on the player: on
   * the shared two-core machine (load 15-37) a starved page stalls, seeks over holes or falls behind
   * whatever the CDNs do, so they are printed in the table and gate only with MATRIX_STRICT=1 (a
   * quiet machine). Fatal errors and everything that must hold whatever the cut does always gate.
   */
  misses: string[];
  /** Where the cell's wall time went, ms (printed, never judged): its servers, the play, in all. */
  timing?: { stackMs: number; totalMs: number };
  segmentsByCdn: Record<string, number>;
  /** The CDN cut (live), what was fetched from the other one after, what was lost. */
  cut?: { from: string; to: string; segmentsAfter: number; lost: string[]; attempts: number };
  detail: string;
}

const cellName = (c: Cell): string =>
  `${c.stream.label} | ${c.player} | ${c.delivery.label}${c.fault === 'drain' ? ' | drain' : ''}`;

const ok = (r: RequestLogEntry): boolean => r.status === 200 || r.status === 206;
const key = (r: RequestLogEntry): string => `${r.path}|${r.range ?? ''}`;

function playOptions(s: MatrixStream): PlayOptions {
  // VOD to the end: the last quarter second may never show as played (the element stops on the last frame).
  return s.live
    ? { seconds: LIVE_SECONDS, lowLatency: s.lowLatency ?? false }
    : { playbackRate: VOD_RATE, seconds: (s.durationS ?? 0) - 0.25 };
}

/** What every complete play must show, wherever it played from. */
function checkPlay(s: MatrixStream, r: PlayResult, problems: string[]): void {
  if (r.fatalErrors.length > 0) problems.push(`fatal: ${r.fatalErrors.slice(0, 3).join('; ')}`);
  if (s.live) {
    if (r.secondsPlayed < LIVE_SECONDS)
      problems.push(`played ${r.secondsPlayed} s of live (< ${LIVE_SECONDS})`);
  } else {
    const want = (s.durationS ?? 0) - 0.5;
    // To the end: the media element ended, or played (nearly) all of it without ending (dash.js).
    if (!r.ended && r.secondsPlayed < want)
      problems.push(`played ${r.secondsPlayed} s of a ${s.durationS} s VOD, not ended`);
  }
}

// ---------------------------------------------------------------------------------------------------
// What each player gets in each mode when its CDN dies (issue 10 §2), from the player's code.

interface Expectation {
  /**
   * Live segments the player may lose after the cut without falling back for them: failed by the
   * dead CDN, never served by any CDN, never asked of the other one, while the player went on.
   */
  lost: number;
  /**
   * Whether the player must play on: no fatal error, LIVE_SECONDS played, later segments from the
   * other CDN. False only where the mode gives the player nothing to fall back on.
   */
  playsOn: boolean;
  /**
   * Where playsOn is false, whose limit it is: the player's (a defect in its code, named in `why`)
   * or the mode's (nothing to fall back on by design). The table and the cell's line say which,
   * never a plain "ok".
   */
  limit?: 'player defect' | 'no fallback in this mode';
  why: string;
}

/*
 * What each player does at a dropped connection (its own code): hls.js never retries a status-0
 * error while online, it switches level, redundant stream or pathway (error-controller.ts); shaka
 * retries once (retryParameters.maxAttempts 2, on the next URI when there are several: DASH BaseURLs),
 * then disables the variant for maxDisabledTime and takes another, and for live retries streaming
 * (defaultStreamingFailureCallback_); dash.js retries 3 times 1 s apart (streaming.retryAttempts /
 * retryIntervals MediaSegment), then blacklists the BaseURL's serviceLocation and loads the same
 * segment from the next BaseURL (HTTPLoader, FragmentController, StreamProcessor). How many times
 * each asked the dead CDN for one request is printed ("tries on dead"); it is the player's choice.
 */
function expectationFor(c: Cell): Expectation {
  const s = c.stream;
  if (c.fault === 'drain')
    return {
      lost: 0,
      playsOn: true,
      why:
        c.delivery.mode === 'steering'
          ? 'the steering manifest moves the player; the drained CDN still serves'
          : 'a drained CDN still serves what it listed',
    };
  const { mode, failover } = c.delivery;
  const fallbacks = failover === 'manifest' || (failover === undefined && s.format === 'dash');
  if (mode === 'steering' && c.player === 'shaka' && s.format === 'hls')
    return {
      // At most what it fails during one TTL (2 s) plus the probes' detection, 1 s segments.
      lost: 3,
      playsOn: true,
      why:
        'shaka moves an HLS pathway only at its next steering reload (TTL 2 s): what it failed on the ' +
        'dead pathway before then it may jump over',
    };
  if (mode === 'steering')
    return { lost: 0, playsOn: true, why: 'every pathway is in the manifest: the player moves on errors' };
  if (fallbacks)
    return { lost: 0, playsOn: true, why: 'the manifest lists the other CDN: the player moves on errors' };
  if (mode === 'redirect')
    return {
      lost: 0,
      playsOn: true,
      why: 'every segment asks Switchyard, which sends a retry to the next healthy CDN',
    };
  // HLS rewrite, failover none: the segments already listed stay on the dead CDN (RFC 8216 §6.2.1),
  // and the player has nothing else to ask: hls.js gives up (fragLoadError) when every level failed.
  return {
    lost: 6,
    playsOn: false,
    limit: 'no fallback in this mode',
    why: 'no fallback: the segments listed on the dead CDN are lost and hls.js may stop (use failover: manifest)',
  };
}

/** A live cell's known limit (expectationFor), which it prints instead of a plain "ok". */
const limitOf = (c: Cell): Expectation['limit'] => (c.stream.live ? expectationFor(c).limit : undefined);

let players: Players;

/** Live cells are the long jobs: a free slot takes one while fewer than LIVE_PARALLEL play. */
const schedule = twoKindScheduler(PARALLEL, LIVE_PARALLEL);

/** MATRIX_ONLY=<regex> runs only the cells (and origin checks) whose name matches, while working on one. */
const only = process.env.MATRIX_ONLY ? new RegExp(process.env.MATRIX_ONLY) : null;

// ---------------------------------------------------------------------------------------------------
// 1. Every fixture stream plays straight from the origin, in every player of its format.

const ORIGIN_LIVE_SECONDS = 4;
const originCells = [...MATRIX_STREAMS, ...EXTRA_ORIGIN_STREAMS]
  .flatMap((stream) => playersFor(stream).map((player) => ({ stream, player })))
  .filter((c) => only === null || only.test(`${c.stream.label} | ${c.player}`));
const originName = (c: (typeof originCells)[number]): string =>
  `${c.stream.id}/${c.stream.entry} ${c.player}`;

// 2. Through Switchyard: every stream x its players x its deliveries; live cells also drained.

const cells: Cell[] = MATRIX_STREAMS.flatMap((stream) =>
  playersFor(stream).flatMap((player) =>
    deliveriesFor(stream).flatMap((delivery): Cell[] => {
      if (!stream.live) return [{ stream, player, delivery }];
      const down: Cell = { stream, player, delivery, fault: 'down' };
      // A drain must cost nothing. Rewrite: the player that enforces RFC 8216 §6.2.1 on the listed
      // segments. Steering: a drained CDN still serves, so a move can only come from the steering
      // manifest's new PATHWAY-PRIORITY (issue 13 §2: a pathway change moves segment requests).
      const drain = (player === 'hlsjs' && delivery.label === 'rewrite') || delivery.mode === 'steering';
      return drain ? [down, { stream, player, delivery, fault: 'drain' }] : [down];
    }),
  ),
).filter((c) => only === null || only.test(cellName(c)));

let origin: FixtureOrigin | undefined;
const originResults = new Map<string, Promise<PlayResult>>();
const outcomes = new Map<string, Promise<CellOutcome>>();

beforeAll(async () => {
  players = await launchPlayers({ maxPages: PARALLEL });
  const o = await startOrigin();
  origin = o;
  const originPlay = (c: (typeof originCells)[number]): void => {
    const opts = c.stream.live
      ? { seconds: ORIGIN_LIVE_SECONDS, lowLatency: c.stream.lowLatency ?? false }
      : playOptions(c.stream);
    const url = `${o.url}${c.stream.id}/${c.stream.entry}`;
    originResults.set(
      originName(c),
      schedule(c.stream.live, async () => {
        const started = Date.now();
        const r = await players.play(url, c.player, opts);
        process.stderr.write(`matrix: origin ${originName(c)}: ${timingOf(r, Date.now() - started)}\n`);
        return r;
      }),
    );
  };
  // Live cells first in their queue (the longest), origin checks before the VOD cells in theirs.
  for (const c of cells.filter((x) => x.stream.live))
    outcomes.set(
      cellName(c),
      schedule(true, () => runCell(c)),
    );
  for (const c of originCells) originPlay(c);
  for (const c of cells.filter((x) => !x.stream.live))
    outcomes.set(
      cellName(c),
      schedule(false, () => runCell(c)),
    );
  // Unobserved rejections would crash jest; each test reads its own result.
  for (const p of originResults.values()) p.catch(() => undefined);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(originResults.values());
  const all = await Promise.all(outcomes.values());
  if (all.length > 0) console.log(matrixTable(all));
  await origin?.close();
  await players?.close();
}, 900_000);

describe('fixtures play straight from the origin', () => {
  // MATRIX_ONLY may leave none (test.each refuses an empty table).
  if (originCells.length === 0) return;
  test.each(originCells.map((c) => [originName(c), c] as const))(
    '%s',
    async (name, c) => {
      const r = await (originResults.get(name) as Promise<PlayResult>);
      const problems: string[] = [];
      if (r.fatalErrors.length > 0) problems.push(`fatal: ${r.fatalErrors.join('; ')}`);
      const want = c.stream.live ? ORIGIN_LIVE_SECONDS : (c.stream.durationS ?? 0) - 0.5;
      // VOD: ended, or played (nearly) all of it (dash.js may not fire 'ended' on these short streams).
      if (c.stream.live ? r.secondsPlayed < want : !r.ended && r.secondsPlayed < want)
        problems.push(`played ${r.secondsPlayed} s (want ${want})`);
      if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${describePlay(r)}`);
    },
    900_000,
  );
});

/**
 * Three hosts, as in production: Switchyard as `switchyard.test` (127.0.0.1 in the browser, see
 * launchPlayers), CDN a as 127.0.0.1 and CDN b as localhost (both also reached by Switchyard's probes).
 * shaka bans a location that failed by its host name: with Switchyard and a CDN on one host, a dead
 * CDN banned Switchyard's steering-pathway playlists too, and shaka never left the dead pathway.
 */
const onLocalhost = (url: string): string => url.replace('//127.0.0.1:', '//localhost:');
const publicUrlOf = (port: number): string => `http://switchyard.${TEST_DOMAIN}:${port}/`;

/** A play's wall time for the per-cell lines: in all, getting a page, until playing, playing. */
function timingOf(r: PlayResult | null, totalMs: number, stackMs?: number): string {
  const s = (ms: number | null | undefined): string =>
    ms === null || ms === undefined ? '-' : (ms / 1000).toFixed(1);
  const parts = [`${s(totalMs)} s`];
  if (stackMs !== undefined) parts.push(`stack ${s(stackMs)}`);
  if (r)
    parts.push(`page ${s(r.timing.pageMs)}`, `start ${s(r.timing.startMs)}`, `play ${s(r.timing.playMs)}`);
  return parts.join(', ');
}

async function runCell(cell: Cell): Promise<CellOutcome> {
  const started = Date.now();
  let stackMs = 0;
  const { stream: s, player, delivery } = cell;
  const problems: string[] = [];
  const misses: string[] = [];
  let stack: Stack | undefined;
  let play: PlayResult | null = null;
  const outcome: CellOutcome = { cell, play, problems, misses, segmentsByCdn: {}, detail: '' };
  try {
    // publicUrl must name Switchyard's port before it listens.
    stack = await onFreePort((port) =>
      startStack({
        streams: [s.id],
        health: HEALTH,
        extra: ({ origin: originUrl, cdns }) => ({
          // CDNs on hosts of their own (see onLocalhost).
          cdns: cdns.map((c, i) => ({ id: c.id, baseUrl: i === 1 ? onLocalhost(c.url) : c.url, weight: 1 })),
          streams: [
            {
              id: s.id,
              origin: `${originUrl}${s.id}/`,
              mode: delivery.mode,
              ...(delivery.failover ? { failover: delivery.failover } : {}),
              steering: { ttl: '2s' },
            },
          ],
          // Players on another origin: absolute URLs in manifests, as a production config would have
          // (dash.js resolves a root-relative ContentSteering URL against the page, not the MPD).
          listen: { host: '127.0.0.1', port },
          publicUrl: publicUrlOf(port),
        }),
      }),
    );
    stackMs = Date.now() - started;
    const st = stack;
    const sy = st.config.publicUrl as string;
    const cdnOf = (url: string): string | undefined =>
      st.cdns.find((c) => new URL(url).port === new URL(c.url).port)?.id;
    let cutAt = 0;
    let from = '';
    const opts = playOptions(s);
    // Working on a cell: MATRIX_DEBUG=1 logs what shaka does (player-page watchShaka) and prints the
    // CDNs' logs around the cut; MATRIX_SHAKA_LL='{"streaming":{...}}' sets shaka's LL-mode keys.
    if (process.env.MATRIX_DEBUG) opts.debug = true;
    if (process.env.MATRIX_SHAKA_LL)
      opts.shakaLowLatency = JSON.parse(process.env.MATRIX_SHAKA_LL) as Record<string, unknown>;
    if (s.live) {
      opts.midPlay = {
        atSeconds: LIVE_CUT_S,
        action: () => {
          // The CDN of the session: the one that served its latest segment.
          const latest = st.cdns
            .map((c) => ({
              id: c.id,
              at: Math.max(0, ...c.requests.filter((r) => ok(r) && isSegmentPath(r.path)).map((r) => r.at)),
            }))
            .sort((a, b) => b.at - a.at)[0];
          from = latest?.id ?? '';
          cutAt = Date.now();
          if (!from) return;
          if (cell.fault === 'drain') st.server.runtime.monitor.setDrained(from, true);
          else st.cdn(from).setMode({ kind: 'down' });
        },
      };
    }
    play = await players.play(`${sy}${s.id}/${s.entry}`, player, opts);
    outcome.play = play;
    // What playing on means is gated where the mode gives the player a fallback (expectationFor).
    const playsOn = !s.live || expectationFor(cell).playsOn;
    if (s.live) {
      // Fatal errors are the player's own verdict: gated. Seconds played depend on the machine too.
      const played: string[] = [];
      checkPlay(s, play, played);
      for (const p of played) (p.startsWith('fatal') && playsOn ? problems : misses).push(p);
    } else checkPlay(s, play, problems);
    if (player === 'hlsjs') {
      // No playlist hls.js read changed the URI of a segment it had listed (RFC 8216 §6.2.1).
      const mismatch = play.errors.find((e) => /sequence mismatch|levelParsingError/i.test(e));
      if (mismatch) problems.push(`hls.js: ${mismatch}`);
    }

    // Where the page fetched its segments from (the browser's own view, redirects included).
    const pageSegs = play.requests.filter((q) => isSegmentPath(new URL(q.url).pathname));
    // Keys load from the origin (keys.via defaults to origin); manifests and segments never do.
    const fromOrigin = play.requests.filter(
      (q) => q.url.startsWith(st.origin.url) && !/\.(bin|key)$/.test(new URL(q.url).pathname),
    );
    if (fromOrigin.length > 0) problems.push(`the page requested the origin: ${fromOrigin[0]?.url}`);
    const viaSwitchyard = pageSegs.filter((q) => q.url.startsWith(sy));
    if (delivery.mode === 'redirect') {
      // 0: a request the player aborted (a level switch, the end of the run).
      const notRedirects = viaSwitchyard.filter((q) => q.status !== 302 && q.status !== 0);
      if (notRedirects.length > 0)
        problems.push(`Switchyard answered a segment ${notRedirects[0]?.status}, not 302`);
    } else if (viaSwitchyard.length > 0)
      problems.push(`${viaSwitchyard.length} segments requested from Switchyard`);
    const elsewhere = pageSegs.filter((q) => !q.url.startsWith(sy) && cdnOf(q.url) === undefined);
    if (elsewhere.length > 0)
      problems.push(`segments from neither a CDN nor Switchyard: ${elsewhere[0]?.url}`);

    // The CDNs' logs: every segment there, answered 200/206 (a CDN taken down drops its requests).
    const segs = (id: string): RequestLogEntry[] => st.cdn(id).requests.filter((r) => isSegmentPath(r.path));
    for (const c of st.cdns) outcome.segmentsByCdn[c.id] = new Set(segs(c.id).filter(ok).map(key)).size;
    const distinct = new Set(st.cdns.flatMap((c) => segs(c.id).filter(ok).map(key))).size;
    // A complete play fetches them all; a live player whose mode leaves it nothing to fall back on
    // may stop at the cut, after however many it had buffered by then (fewer on a busy machine).
    if (distinct < s.minSegments)
      (playsOn ? problems : misses).push(
        `${distinct} distinct segments in the CDN logs (< ${s.minSegments})`,
      );
    const failed = st.cdns.flatMap((c) =>
      // Status 0: dropped by the CDN taken down, or aborted by the player (a level switch, the end).
      segs(c.id).filter((r) => r.status !== 0 && !ok(r)),
    );
    if (failed.length > 0) problems.push(`CDN answered ${failed[0]?.status} for ${failed[0]?.path}`);
    // The origin saw only the CDNs' pull-throughs, never a player's segment request.
    const direct = st.origin.requests.filter((r) => isSegmentPath(r.path) && r.via === undefined);
    if (direct.length > 0) problems.push(`${direct.length} segment requests reached the origin directly`);

    if (s.live) {
      const to = st.cdns.find((c) => c.id !== from)?.id ?? '';
      const after = segs(to).filter((r) => ok(r) && r.at > cutAt);
      // Lost: a live segment the dead CDN failed after the cut that no CDN ever answered with media (in
      // any rendition or byte range) while the player went on past it: a later segment of the same
      // kind was served after the failure. (One the run ended before the player asked again is not
      // lost.) A drained CDN fails nothing (any error of it is a problem above).
      const placed = st.cdns.flatMap((c) =>
        c.requests.filter(ok).flatMap((r) => {
          const at = liveSegmentPlace(r.path);
          return at ? [{ ...at, t: r.at }] : [];
        }),
      );
      const failedOnFrom =
        from && cell.fault === 'down'
          ? st.cdn(from).requests.filter((r) => r.at >= cutAt && isSegmentPath(r.path) && r.status === 0)
          : [];
      // Skipped by failover: lost, and never even asked of the other CDN (the player did not fall
      // back for it). A starved page may give up on a segment it did ask the other CDN for (an abort,
      // a jump over the hole): lost, printed, but the fallback was taken.
      const askedOfTo = to
        ? st.cdn(to).requests.flatMap((r) => {
            const at = liveSegmentPlace(r.path);
            return at && r.at >= cutAt ? [`${at.type}-${at.n}`] : [];
          })
        : [];
      const lostSet = new Set<string>();
      const skippedSet = new Set<string>();
      for (const r of failedOnFrom) {
        const at = liveSegmentPlace(r.path);
        if (!at) continue;
        const served = placed.some((x) => x.type === at.type && x.n === at.n);
        const passed = placed.some((x) => x.type === at.type && x.n > at.n && x.t > r.at);
        if (served || !passed) continue;
        lostSet.add(`${at.type}-${at.n}`);
        if (!askedOfTo.includes(`${at.type}-${at.n}`)) skippedSet.add(`${at.type}-${at.n}`);
      }
      const lost = [...lostSet];
      const notFallenBack = [...skippedSet];
      // How often the player asked the dead CDN for one and the same thing (path and range) before it
      // went elsewhere: its own retry logic, a count whatever the machine's speed.
      const tries = new Map<string, number>();
      for (const r of failedOnFrom) tries.set(key(r), (tries.get(key(r)) ?? 0) + 1);
      const attempts = Math.max(0, ...tries.values());
      outcome.cut = { from, to, segmentsAfter: new Set(after.map(key)).size, lost, attempts };
      if (process.env.MATRIX_DEBUG)
        process.stderr.write(
          `${cellName(cell)} CDN logs (ms after the cut):\n` +
            st.cdns
              .flatMap((c) =>
                c.requests
                  .filter((r) => r.at >= cutAt - 3000)
                  .map((r) => ({
                    t: r.at - cutAt,
                    line: `${c.id} ${r.status} ${r.path}${r.query ? '?' + r.query : ''} ${r.range ?? ''}`,
                  })),
              )
              .sort((x, y) => x.t - y.t)
              .map((x) => `  ${x.t} ${x.line}`)
              .join('\n') +
            '\n',
        );
      if (!from) misses.push('no CDN was serving when the cut came');
      if (delivery.mode === 'steering' && play.actionAt !== null) {
        // A steering player learns of a move only from its steering reloads (TTL 2 s here): it must
        // still be polling after the cut. shaka stops for good when a reload comes before playback
        // has started; the first answer's TTL (streams[].steering.startupTtl) covers a start-up that
        // short. A page that took longer to start (a starved machine) is printed, not gated.
        const cutAtPage = play.actionAt;
        const polls = play.requests.filter((q) => /steering\.json$/.test(new URL(q.url).pathname));
        if (!polls.some((q) => q.at > cutAtPage)) {
          const first = polls[0]?.at ?? 0;
          const startUp = (play.timing.startMs ?? Number.POSITIVE_INFINITY) - first;
          (startUp < DEFAULT_STEERING_STARTUP_TTL ? problems : misses).push(
            `no steering request after the cut (${polls.length} in all, the last ${polls.at(-1)?.at ?? '-'} ms ` +
              `after start, the cut at ${cutAtPage} ms, playback ${startUp} ms after the first answer)`,
          );
        }
      }
      if (from) {
        const want = expectationFor(cell);
        if (want.playsOn && outcome.cut.segmentsAfter < 2)
          misses.push(
            `${outcome.cut.segmentsAfter} segments from CDN ${to} after ${from} went ${cell.fault}`,
          );
        if (notFallenBack.length > want.lost)
          misses.push(
            `lost ${notFallenBack.length} segments without asking ${to} (${notFallenBack.slice(0, 4).join(' ')}), expected <= ${want.lost}`,
          );
      }
    }
  } catch (err) {
    problems.push(`error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await stack?.close().catch(() => undefined);
  }
  outcome.detail = play ? describePlay(play) : '';
  if (play && process.env.MATRIX_DEBUG) {
    const base = play.actionAt ?? 0;
    process.stderr.write(
      `${cellName(cell)} requests (ms after the cut):\n${play.requests.map((q) => `  ${q.at - base} ${q.status} ${q.url}`).join('\n')}\n` +
        `${cellName(cell)} console:\n${play.console.filter((l) => l.includes('sy ')).join('\n')}\n` +
        `${cellName(cell)} lost: ${outcome.cut?.lost.join(' ') ?? ''}\n`,
    );
  }
  // One line per cell as it finishes (jest prints console output only when the file ends).
  if (process.env.MATRIX_STRICT) problems.push(...misses.splice(0));
  const said = [...problems, ...misses.map((m) => `miss: ${m}`)];
  const limit = limitOf(cell);
  outcome.timing = { stackMs, totalMs: Date.now() - started };
  process.stderr.write(
    `matrix: ${cellName(cell)}: ${said.length === 0 ? (limit ? limit.toUpperCase() : 'ok') : said.join('; ')}${limit && said.length > 0 ? ` [${limit}]` : ''} (${timingOf(play, outcome.timing.totalMs, stackMs)})\n`,
  );
  return outcome;
}

describe('player matrix through Switchyard', () => {
  for (const c of cells) {
    const name = cellName(c);
    const why = c.stream.live ? ` [${expectationFor(c).why}]` : '';
    test(`${name}${why}`, async () => {
      const o = await (outcomes.get(name) as Promise<CellOutcome>);
      if (o.problems.length > 0) throw new Error(`${o.problems.join('\n')}\n${o.detail}`);
    }, 900_000);
  }
});

/**
 * A cell's result column. Green only where the player did what a viewer needs; a cell whose mode or
 * player cannot (expectationFor's `limit`) says so in capitals, whatever happened, so a known defect
 * never reads as "ok".
 */
function resultOf(o: CellOutcome): string {
  const limit = limitOf(o.cell);
  const stopped = o.play && o.play.fatalErrors.length > 0 ? `, stopped (${o.play.fatalErrors[0] ?? ''})` : '';
  const text =
    o.problems.length > 0
      ? `FAIL ${o.problems[0] ?? ''}`
      : limit
        ? `${limit.toUpperCase()}${stopped}${o.misses.length > 0 ? `, ${o.misses[0] ?? ''}` : ''}`
        : o.misses.length > 0
          ? `ok, MISS ${o.misses[0] ?? ''}`
          : 'ok';
  return text.slice(0, 100);
}

function matrixTable(all: readonly CellOutcome[]): string {
  const rows = all.map((o) => {
    const p = o.play;
    const live = o.cell.stream.live;
    return [
      o.cell.stream.label,
      o.cell.player,
      o.cell.delivery.label,
      o.cell.fault ?? '',
      p ? p.secondsPlayed.toFixed(1) : '-',
      live && p && o.cut ? String(o.cut.lost.length) : '',
      live && p ? String(p.rebuffersAfterAction) : '',
      live && p ? p.skippedAfterActionS.toFixed(1) : '',
      p ? String(live ? p.stallAfterActionMs : p.stallMs) : '-',
      Object.entries(o.segmentsByCdn)
        .map(([id, n]) => `${id}:${n}`)
        .join(' '),
      live && o.cut ? String(o.cut.attempts) : '',
      o.cut ? `${o.cut.from}->${o.cut.to} (${o.cut.segmentsAfter})` : '',
      resultOf(o),
    ];
  });
  const head = [
    'stream',
    'player',
    'delivery',
    'cut',
    'played s',
    'lost',
    'rebuffers',
    'skipped s',
    'stall ms',
    'segments by CDN',
    'tries on dead',
    'CDN cut (segments after)',
    'result',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ');
  return [
    'player matrix (live: lost, rebuffers, skipped media, stall after the cut, the most tries of one request on the dead CDN; VOD: stall in the whole play)',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map(line),
  ].join('\n');
}
