import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { limiter } from './concurrency';
import { PLAYER_SCRIPTS, playerPage } from './player-page';

export { limiter } from './concurrency';

/** Executable names a Chromium goes by (Debian: chromium; Ubuntu snaps: chromium-browser; Chrome). */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/**
 * Where the Chromium the browser tests launch is: `CHROMIUM_PATH` when set, else the first of the
 * usual names on PATH (Debian's `chromium`, installed by .ci/run). Not found: a path that says so,
 * which launch() reports in its error (the tests fail, they never skip).
 */
export function findChromium(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export const CHROMIUM: string =
  findChromium() ??
  `chromium-not-found (install Debian's chromium or set CHROMIUM_PATH; PATH has none of ${CHROMIUM_NAMES.join(', ')})`;

/**
 * Flags for headless Chromium on these machines: no background connections (the network is closed
 * and refused connections pile up), no sandbox (root), no GPU.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * In the browser, every name under this domain (reserved for testing, RFC 2606) is 127.0.0.1:
 * `http://switchyard.test:PORT/` reaches a server listening on 127.0.0.1:PORT.
 */
export const TEST_DOMAIN = 'test';

/** The browser players of the matrix, from npm: hls.js 1.x, shaka-player 4.x, dash.js 5.x. */
export type PlayerKind = keyof typeof PLAYER_SCRIPTS;
export const PLAYER_KINDS: readonly PlayerKind[] = ['hlsjs', 'shaka', 'dashjs'];

const PLAYER_FILES: Record<PlayerKind, string> = {
  hlsjs: require.resolve('hls.js/dist/hls.min.js'),
  shaka: require.resolve('shaka-player/dist/shaka-player.compiled.js'),
  // The package's exports give CommonJS the UMD build, the one a <script> tag can load.
  dashjs: require.resolve('dashjs'),
};

export interface PlayOptions {
  /**
   * Stop once this many seconds of media have played (live). Without it, play until the media element
   * ends (VOD).
   */
  seconds?: number;
  /** hls.js `lowLatencyMode`, shaka `streaming.lowLatencyMode`, a short dash.js live delay. */
  lowLatency?: boolean;
  /** media element playback rate once playing (VOD cells play faster than real time). */
  playbackRate?: number;
  /**
   * Once `atSeconds` of media have played, run `action` (e.g. take a CDN down); the page's stall time
   * from then on is reported separately (`stallAfterActionMs`).
   */
  midPlay?: { atSeconds: number; action: () => void | Promise<void> };
  /**
   * Give up after this much real time without any progress of playback (ms, default 30 s): a hung player
   * ends the run with what it played, it never wedges the test. Not a speed bound.
   */
  noProgressMs?: number;
  /**
   * The player's own settings on top of the page's: hls.js config fields, dash.js updateSettings()
   * (e.g. `{ streaming: { cmcd: { enabled: true } } }`), shaka configure(). Plain JSON.
   */
  config?: Record<string, unknown>;
  /**
   * shaka: `player.configurationForLowLatency(...)`, the keys its low-latency mode sets at load()
   * over configure() (streaming.maxDisabledTime, retryParameters, segmentPrefetchLimit). Plain JSON.
   */
  shakaLowLatency?: Record<string, unknown>;
  /**
   * shaka: log seeks, rebuffers, variant changes, errors and every 500 ms the playhead, seek range
   * and buffered ranges to the page console (PlayResult.console, lines starting "sy ").
   */
  debug?: boolean;
}

/** One request the page made, as the browser's network stack saw it (redirects are separate entries). */
export interface PageRequest {
  url: string;
  /** HTTP status, or 0 when the request failed without a response. */
  status: number;
  /** ms since the player was started. */
  at: number;
}

export interface PlayResult {
  player: PlayerKind;
  url: string;
  /** Seconds of media the element actually played (seeks and jumps over gaps do not count). */
  secondsPlayed: number;
  ended: boolean;
  /** Errors the player gave up on (hls.js `fatal`, shaka CRITICAL, dash.js ERROR, media element error). */
  fatalErrors: string[];
  /** Errors the player reported and recovered from. */
  errors: string[];
  /** Time playback stood still after it had started (ms, measured in the page). */
  stallMs: number;
  longestStallMs: number;
  /** Stall time after the mid-play action (0 when there was none). */
  stallAfterActionMs: number;
  /**
   * Rebuffers: times the media element stopped for want of data (`waiting` while playing, not seeking)
   * after playback had started; and those after the mid-play action. Counts, not durations.
   */
  rebuffers: number;
  rebuffersAfterAction: number;
  /** Media seconds the playhead jumped over (gap or live-edge jumps) after the mid-play action. */
  skippedAfterActionS: number;
  /** ms after start when the mid-play action ran, or null. */
  actionAt: number | null;
  /** Every request of the page after it loaded (manifests, segments, keys, redirects). */
  requests: PageRequest[];
  /** Why the run stopped: 'ended', 'seconds', 'fatal' or 'no-progress'. */
  stoppedBy: 'ended' | 'seconds' | 'fatal' | 'no-progress';
  /** The page's console and page errors (for failure messages). */
  console: string[];
  /**
   * Where the run's wall time went (ms, for the matrix's per-cell lines; judged only where a player's
   * own defect depends on its start-up time): getting a page
   * ready (a new one, or a kept one reset), from start until playback started (null: never), and from
   * start until the run stopped.
   */
  timing: { pageMs: number; startMs: number | null; playMs: number };
}

interface PageState {
  secondsPlayed: number;
  currentTime: number;
  started: boolean;
  ended: boolean;
  fatal: string[];
  errors: string[];
  stallMs: number;
  stallSinceMarkMs: number;
  longestStallMs: number;
  rebuffers: number;
  rebuffersSinceMark: number;
  skippedSinceMarkS: number;
}

/** What the page defines, as seen from page.evaluate (the test tsconfig has no DOM lib). */
interface PlayerWindow {
  sy: {
    start(
      kind: PlayerKind,
      src: string,
      opts: {
        lowLatency: boolean;
        playbackRate: number;
        config: Record<string, unknown>;
        shakaLowLatency?: Record<string, unknown>;
        debug: boolean;
      },
    ): void;
    mark(): void;
    state(): PageState;
    stop(): Promise<void>;
    reset(): void;
  };
}

export interface Players {
  /**
   * Plays `url` with `player` and reports what was played. Runs in parallel pages of one browser, at
   * most `maxPages` at a time; further calls wait for a free page. A page is kept for later plays of
   * the same player (its build loaded once), with a fresh media element, state and storage for each
   * play and the HTTP cache off, so no play sees another's requests or cached responses.
   */
  play(url: string, player: PlayerKind, opts?: PlayOptions): Promise<PlayResult>;
  close(): Promise<void>;
}

export interface PlayersOptions {
  /** Pages playing at once (default 4). */
  maxPages?: number;
}

/** Serves the player page and the players' dist builds on 127.0.0.1 (another origin than the streams). */
async function startPageServer(): Promise<{ server: Server; url: string }> {
  const scripts = new Map<string, Buffer>();
  for (const kind of Object.keys(PLAYER_SCRIPTS) as PlayerKind[])
    scripts.set(PLAYER_SCRIPTS[kind], await readFile(PLAYER_FILES[kind]));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const script = scripts.get(path);
    if (script) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'content-length': script.length });
      res.end(script);
    } else if (/^\/(hlsjs|shaka|dashjs)\.html$/.test(path)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(playerPage(path.slice(1, -'.html'.length) as PlayerKind));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Console lines kept per play (the latest). */
const CONSOLE_LINES = 400;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One play's share of a pooled page's events: what its player asked for and said. */
interface Run {
  readonly requests: PageRequest[];
  readonly console: string[];
  /** Requests this run's player made (a request the previous run left in flight is not one). */
  readonly own: WeakSet<Request>;
  t0: number;
}

/**
 * A page kept for plays of one player kind: the player's build is loaded and compiled once, and each
 * play gets a fresh media element, fresh page state and cleared storage (sy.reset) instead of a new
 * browser context. The HTTP cache is off for the page (fixture segments are cacheable for a day, and
 * a port one run's CDN had may be another's later), so every request of a play reaches the servers.
 */
interface PooledPage {
  readonly kind: PlayerKind;
  readonly context: BrowserContext;
  readonly page: Page;
  run: Run | null;
  /** Requests of the page not finished yet, whichever run made them. */
  readonly pending: Set<Request>;
  broken: boolean;
}

/** Launches one headless Debian Chromium for all plays; close it in afterAll. */
export async function launchPlayers(options: PlayersOptions = {}): Promise<Players> {
  const page = await startPageServer();
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        // playwright gives the browser a fresh temporary profile of its own.
        ...CHROMIUM_ARGS,
        '--autoplay-policy=no-user-gesture-required',
        // Host names of their own for test servers (all on 127.0.0.1), as production has: shaka bans a
        // location that failed by its host (ContentSteeringManager.banLocation), so a player must
        // not see Switchyard and a CDN under one name.
        `--host-resolver-rules=MAP *.${TEST_DOMAIN} 127.0.0.1`,
        // Pages in the background must not be throttled: every page plays at once.
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
      ],
    });
  } catch (err) {
    page.server.close();
    throw err;
  }
  const maxPages = options.maxPages ?? 4;
  const limit = limiter(maxPages);
  /** Pages not playing now; with the ones playing never more than maxPages (the limiter's slots). */
  const idle: PooledPage[] = [];
  /** Plays holding a page or getting one (at most maxPages: the limiter's slots). */
  let holding = 0;
  let closing = false;

  async function closePage(slot: PooledPage): Promise<void> {
    await slot.context.close().catch(() => undefined);
  }

  async function openPage(kind: PlayerKind): Promise<PooledPage> {
    const context = await browser.newContext();
    try {
      const p = await context.newPage();
      const slot: PooledPage = { kind, context, page: p, run: null, pending: new Set(), broken: false };
      const cdp = await context.newCDPSession(p);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      const own = (r: Request): Run | null => (slot.run?.own.has(r) === true ? slot.run : null);
      p.on('request', (r) => {
        slot.pending.add(r);
        if (slot.run && !r.url().startsWith(page.url)) slot.run.own.add(r);
      });
      p.on('requestfinished', (r) => slot.pending.delete(r));
      p.on('response', (res) => {
        const run = own(res.request());
        if (run) run.requests.push({ url: res.url(), status: res.status(), at: Date.now() - run.t0 });
      });
      p.on('requestfailed', (r) => {
        slot.pending.delete(r);
        const run = own(r);
        if (run) run.requests.push({ url: r.url(), status: 0, at: Date.now() - run.t0 });
      });
      p.on('console', (m) => {
        const run = slot.run;
        if (!run) return;
        // The latest lines: what a failure message needs is how the run ended.
        run.console.push(`${m.type()}: ${m.text()}`);
        if (run.console.length > CONSOLE_LINES) run.console.shift();
      });
      p.on('pageerror', (e) => slot.run?.console.push(`pageerror: ${e.message}`));
      p.on('crash', () => {
        slot.broken = true;
      });
      // A busy machine can take long to give a new page its first load.
      await p.goto(`${page.url}${kind}.html`, { timeout: 120_000 });
      return slot;
    } catch (err) {
      await context.close().catch(() => undefined);
      throw err;
    }
  }

  /** An idle page of this kind, else a new one (in place of an idle page of another kind if full). */
  async function acquire(kind: PlayerKind): Promise<PooledPage> {
    const mine = idle.findIndex((s) => s.kind === kind);
    if (mine >= 0) return idle.splice(mine, 1)[0] as PooledPage;
    // Pages playing and kept never exceed maxPages: when full, an idle page of another kind goes.
    if (holding + idle.length > maxPages) {
      const other = idle.shift();
      if (other) await closePage(other);
    }
    return openPage(kind);
  }

  /** Until the page's requests have all finished (a stopped player's aborts), at most `ms`. */
  async function settle(slot: PooledPage, ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (slot.pending.size > 0 && Date.now() < until) await sleep(50);
  }

  async function runOnce(url: string, player: PlayerKind, opts: PlayOptions): Promise<PlayResult> {
    const asked = Date.now();
    holding++;
    let slot: PooledPage;
    try {
      slot = await acquire(player);
    } catch (err) {
      holding--;
      throw err;
    }
    const p = slot.page;
    const run: Run = { requests: [], console: [], own: new WeakSet(), t0: Date.now() };
    try {
      await p.evaluate(() => (globalThis as unknown as PlayerWindow).sy.reset());
      run.t0 = Date.now();
      slot.run = run;
      const t0 = run.t0;
      const pageMs = t0 - asked;
      await p.evaluate(([k, s, o]) => (globalThis as unknown as PlayerWindow).sy.start(k, s, o), [
        player,
        url,
        {
          lowLatency: opts.lowLatency ?? false,
          playbackRate: opts.playbackRate ?? 1,
          config: opts.config ?? {},
          ...(opts.shakaLowLatency ? { shakaLowLatency: opts.shakaLowLatency } : {}),
          debug: opts.debug ?? false,
        },
      ] as const);
      const noProgressMs = opts.noProgressMs ?? 30_000;
      let state = await p.evaluate(() => (globalThis as unknown as PlayerWindow).sy.state());
      let progressAt = Date.now();
      let lastPlayed = 0;
      let actionAt: number | null = null;
      let startedAt: number | null = null;
      let stoppedBy: PlayResult['stoppedBy'];
      for (;;) {
        await sleep(200);
        state = await p.evaluate(() => (globalThis as unknown as PlayerWindow).sy.state());
        if (startedAt === null && state.started) startedAt = Date.now() - t0;
        if (state.secondsPlayed > lastPlayed + 0.05) {
          lastPlayed = state.secondsPlayed;
          progressAt = Date.now();
        }
        if (opts.midPlay && actionAt === null && state.secondsPlayed >= opts.midPlay.atSeconds) {
          await p.evaluate(() => (globalThis as unknown as PlayerWindow).sy.mark());
          actionAt = Date.now() - t0;
          await opts.midPlay.action();
          progressAt = Date.now();
        }
        if (state.fatal.length > 0) stoppedBy = 'fatal';
        else if (state.ended) stoppedBy = 'ended';
        else if (opts.seconds !== undefined && state.secondsPlayed >= opts.seconds) stoppedBy = 'seconds';
        else if (Date.now() - progressAt > noProgressMs) stoppedBy = 'no-progress';
        else continue;
        break;
      }
      const playMs = Date.now() - t0;
      await p.evaluate(() => (globalThis as unknown as PlayerWindow).sy.stop()).catch(() => undefined);
      return {
        player,
        url,
        secondsPlayed: Math.round(state.secondsPlayed * 100) / 100,
        ended: state.ended,
        fatalErrors: state.fatal,
        errors: state.errors,
        stallMs: Math.round(state.stallMs),
        longestStallMs: Math.round(state.longestStallMs),
        stallAfterActionMs: Math.round(state.stallSinceMarkMs),
        rebuffers: state.rebuffers,
        rebuffersAfterAction: state.rebuffersSinceMark,
        skippedAfterActionS: Math.round(state.skippedSinceMarkS * 100) / 100,
        actionAt,
        requests: run.requests,
        stoppedBy,
        console: run.console,
        timing: { pageMs, startMs: startedAt, playMs },
      };
    } catch (err) {
      slot.broken = true;
      throw err;
    } finally {
      // The stopped player's requests end (aborted) while the page settles: they are still this
      // play's, as its last entries; after that, nothing that comes is the next play's.
      if (!slot.broken) await settle(slot, 3_000);
      slot.run = null;
      if (slot.broken || closing || slot.page.isClosed()) await closePage(slot);
      else idle.push(slot);
      holding--;
    }
  }

  return {
    play: (url, player, opts = {}) => limit(() => runOnce(url, player, opts)),
    async close() {
      closing = true;
      await Promise.all(idle.splice(0).map(closePage));
      await browser.close().catch(() => undefined);
      await new Promise<void>((resolve) => page.server.close(() => resolve()));
    },
  };
}

/** A short account of a run for failure messages: outcome, errors, the last console lines. */
export function describePlay(r: PlayResult, consoleLines = 30): string {
  return [
    `${r.player} ${r.url}: played ${r.secondsPlayed} s, stopped by ${r.stoppedBy}, stall ${r.stallMs} ms, ` +
      `${r.rebuffers} rebuffers (${r.rebuffersAfterAction} after the action), ${r.skippedAfterActionS} s skipped`,
    ...r.fatalErrors.map((e) => `  fatal: ${e}`),
    ...r.errors.slice(0, 10).map((e) => `  error: ${e}`),
    ...r.requests
      .filter((q) => q.status === 0 || q.status >= 400)
      .slice(0, 10)
      .map((q) => `  ${q.status} ${q.url}`),
    ...r.console.slice(-consoleLines).map((l) => `  | ${l}`),
  ].join('\n');
}
