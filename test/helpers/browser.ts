import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PLAYER_SCRIPTS, playerPage } from './player-page';

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
      opts: { lowLatency: boolean; playbackRate: number; config: Record<string, unknown> },
    ): void;
    mark(): void;
    state(): PageState;
    stop(): void;
  };
}

export interface Players {
  /**
   * Plays `url` with `player` in a fresh browser context (no cache shared with any other run: fixture
   * segments are cacheable for a day) and reports what was played. Runs in parallel pages of one browser,
   * at most `maxPages` at a time; further calls wait for a free page.
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

/** A counting semaphore: at most `n` calls of `fn` run at once, the others wait their turn (FIFO). */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  const limit = limiter(options.maxPages ?? 4);

  async function runOnce(url: string, player: PlayerKind, opts: PlayOptions): Promise<PlayResult> {
    const context = await browser.newContext();
    const p: Page = await context.newPage();
    const consoleLines: string[] = [];
    const requests: PageRequest[] = [];
    let t0 = Date.now();
    p.on('console', (m) => {
      if (consoleLines.length < 400) consoleLines.push(`${m.type()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    p.on('response', (r) => {
      if (!r.url().startsWith(page.url))
        requests.push({ url: r.url(), status: r.status(), at: Date.now() - t0 });
    });
    p.on('requestfailed', (r) => {
      if (!r.url().startsWith(page.url)) requests.push({ url: r.url(), status: 0, at: Date.now() - t0 });
    });
    try {
      // A busy machine can take long to give a new page its first load.
      await p.goto(`${page.url}${player}.html`, { timeout: 120_000 });
      t0 = Date.now();
      await p.evaluate(([k, s, o]) => (globalThis as unknown as PlayerWindow).sy.start(k, s, o), [
        player,
        url,
        {
          lowLatency: opts.lowLatency ?? false,
          playbackRate: opts.playbackRate ?? 1,
          config: opts.config ?? {},
        },
      ] as const);
      const noProgressMs = opts.noProgressMs ?? 30_000;
      let state = await p.evaluate(() => (globalThis as unknown as PlayerWindow).sy.state());
      let progressAt = Date.now();
      let lastPlayed = 0;
      let actionAt: number | null = null;
      let stoppedBy: PlayResult['stoppedBy'];
      for (;;) {
        await sleep(200);
        state = await p.evaluate(() => (globalThis as unknown as PlayerWindow).sy.state());
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
        requests,
        stoppedBy,
        console: consoleLines,
      };
    } finally {
      await context.close().catch(() => undefined);
    }
  }

  return {
    play: (url, player, opts = {}) => limit(() => runOnce(url, player, opts)),
    async close() {
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
