import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser';
import { startStack, waitFor, type Stack } from '../helpers/stack';

/**
 * A real browser player: hls.js (from npm) in Debian's headless Chromium, driven by playwright-core,
 * plays streams through Switchyard from a page on another origin (so CORS is exercised as in production).
 * The fixture CDNs' request logs are the evidence of where segments came from.
 */
const HLS_JS = require.resolve('hls.js/dist/hls.min.js');

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>switchyard hls.js</title></head>
<body><video id="v" muted playsinline autoplay></video>
<script src="/hls.min.js"></script>
<script>
  window.log = { errors: [], steering: [], ended: false };
  window.start = function (src, rate) {
    var video = document.getElementById('v');
    var hls = new Hls({ enableWorker: false, liveSyncDurationCount: 3 });
    window.hls = hls;
    hls.on(Hls.Events.ERROR, function (_e, d) {
      window.log.errors.push({ details: d.details, fatal: d.fatal, url: d.url || (d.context && d.context.url) || '' });
    });
    hls.on(Hls.Events.STEERING_MANIFEST_LOADED, function (_e, d) {
      window.log.steering.push({ at: Date.now(), priority: d.steeringManifest['PATHWAY-PRIORITY'], url: d.url });
    });
    video.addEventListener('ended', function () { window.log.ended = true; });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      video.playbackRate = rate;
      video.play().catch(function (e) { window.log.errors.push({ details: 'play: ' + e, fatal: true, url: '' }); });
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  };
</script></body></html>`;

interface PageLog {
  errors: { details: string; fatal: boolean; url: string }[];
  steering: { at: number; priority: string[]; url: string }[];
  ended: boolean;
}

let stack: Stack;
let pageServer: Server;
let pageUrl: string;
let userDataDir: string;
let context: BrowserContext;

beforeAll(async () => {
  stack = await startStack({
    streams: ['vod', 'live'],
    extra: ({ origin }) => ({
      streams: [
        { id: 'vod', origin: `${origin}vod/` },
        { id: 'live', origin: `${origin}live/`, mode: 'steering', steering: { ttl: '2s' } },
      ],
    }),
  });
  const hlsJs = await readFile(HLS_JS);
  pageServer = createServer((req, res) => {
    if (req.url === '/hls.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'content-length': hlsJs.length });
      res.end(hlsJs);
    } else if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`;
  userDataDir = await mkdtemp(join(tmpdir(), 'switchyard-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: [...CHROMIUM_ARGS, '--autoplay-policy=no-user-gesture-required'],
  });
}, 40_000);

afterAll(async () => {
  await context?.close();
  await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()));
  await stack?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

afterEach(() => {
  for (const id of ['a', 'b']) stack.server.runtime.monitor.setDrained(id, false);
});

/** Opens the test page and starts hls.js on `src`; page console lines are kept for failure messages. */
async function play(src: string, rate = 1): Promise<{ page: Page; console: string[] }> {
  const page = await context.newPage();
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(pageUrl);
  await page.evaluate(([s, r]) => (globalThis as unknown as PlayerWindow).start(s, r), [src, rate] as const);
  return { page, console };
}

/** What the test page defines, as seen from page.evaluate (the test's tsconfig has no DOM lib). */
interface PlayerWindow {
  start(src: string, rate: number): void;
  log: PageLog;
  document: { getElementById(id: string): { currentTime: number } };
}

const currentTime = (page: Page): Promise<number> =>
  page.evaluate(() => (globalThis as unknown as PlayerWindow).document.getElementById('v').currentTime);
const pageLog = (page: Page): Promise<PageLog> =>
  page.evaluate(() => (globalThis as unknown as PlayerWindow).log);

const segments = (id: string) =>
  stack.cdn(id).requests.filter((r) => r.path.endsWith('.ts') && r.method === 'GET');

function clearLogs(): void {
  for (const c of stack.cdns) c.requests.length = 0;
}

/**
 * How long a wait may take before the test gives up: a safety net for a wedged player, not a claim
 * about speed. The claims are orders and counts (which reload, which CDN, after what); a machine ten
 * times slower than a quiet one still meets them.
 */
const PATIENCE_MS = 60_000;

test(
  'rewrite mode: hls.js plays the VOD to the end, every segment from one CDN',
  async () => {
    clearLogs();
    const { page, console } = await play(`${stack.url}vod/master.m3u8`, 4);
    try {
      await waitFor(async () => (await pageLog(page)).ended, PATIENCE_MS, 100).catch((err: Error) => {
        throw new Error(`${err.message}\n${console.join('\n')}`);
      });
      const log = await pageLog(page);
      expect(log.errors.filter((e) => e.fatal)).toEqual([]);
      expect(await currentTime(page)).toBeGreaterThan(11);

      const used = stack.cdns.filter((c) => segments(c.id).length > 0).map((c) => c.id);
      expect(used).toHaveLength(1);
      const all = segments(used[0] as string);
      expect(all.every((r) => r.status === 200 || r.status === 206)).toBe(true);
      // Every one of the 6 segments of video and of audio was fetched (ABR may fetch some twice).
      const played = (folder: RegExp) =>
        new Set(all.filter((r) => folder.test(r.path)).map((r) => /seg_(\d+)\.ts$/.exec(r.path)?.[1]));
      expect(played(/\/vod\/v[01]\//).size).toBe(6);
      expect(played(/\/vod\/audio\//).size).toBe(6);
    } finally {
      await page.close();
    }
  },
  2 * PATIENCE_MS,
);

test(
  'steering mode: hls.js plays live from the initial pathway and follows a pathway change',
  async () => {
    clearLogs();
    const { page, console } = await play(`${stack.url}live/master.m3u8`);
    let step = 'start';
    const explain = async (err: Error): Promise<never> => {
      const seen = `segments a=${segments('a').length} b=${segments('b').length}`;
      const steering = JSON.stringify((await pageLog(page).catch(() => undefined))?.steering ?? []);
      throw new Error(
        `${step}: ${err.message}; ${seen}; steering ${steering}\n${console.slice(-40).join('\n')}`,
      );
    };
    try {
      // Playing, from one CDN: the pathway the master named first.
      step = 'playing';
      await waitFor(async () => (await currentTime(page)) > 1, PATIENCE_MS, 100).catch(explain);
      await waitFor(() => segments('a').length + segments('b').length >= 2, PATIENCE_MS, 50).catch(explain);
      const from = segments('a').length > 0 ? 'a' : 'b';
      const to = from === 'a' ? 'b' : 'a';
      expect(segments(to)).toEqual([]);
      await waitFor(async () => (await pageLog(page)).steering.length > 0, PATIENCE_MS, 50).catch(explain);
      expect((await pageLog(page)).steering[0]?.priority[0]).toBe(from);

      // The operator drains that CDN: the policy moves the session, hls.js learns it at its next
      // steering reload (TTL 2 s) and loads the other pathway's playlists and segments.
      const before = (await pageLog(page)).steering.length;
      stack.server.runtime.monitor.setDrained(from, true);
      step = `drained ${from}, waiting for segments from ${to}`;
      await waitFor(() => segments(to).length >= 2, PATIENCE_MS, 50).catch(explain);
      const reloads = (await pageLog(page)).steering.slice(before);
      // The first reload after the drain ranks the new pathway first; one that was already in flight
      // when the drain came may still rank the old one, so the switch comes at the first or the second.
      // Every later reload keeps it first: the pathways' first entries read "[from] to to ...".
      const firsts = reloads.map((r) => r.priority[0]).join(' ');
      expect(firsts).toMatch(new RegExp(`^(${from} )?${to}( ${to})*$`));
      const turned = reloads.find((r) => r.priority[0] === to);
      expect(turned?.url).toContain('_HLS_pathway=' + from);

      // From the first segment hls.js asked of the new pathway on, none went to the old one (the CDN
      // logs stamp each request when it arrives, on this process's clock).
      const firstOnNew = (segments(to)[0] as { at: number }).at;
      const t0 = await currentTime(page);
      // Playback goes on, from the new pathway only.
      step = 'playing on after the switch';
      await waitFor(async () => (await currentTime(page)) > t0 + 2, PATIENCE_MS, 100).catch(explain);
      expect(segments(from).filter((r) => r.at > firstOnNew)).toEqual([]);
      expect(segments(to).length).toBeGreaterThanOrEqual(3);
      // A request still in flight has status 0 in the log: let the last ones finish, then none failed.
      // (hls.js aborts some on purpose, and those stay at 0: this wait is only a chance, not a claim.)
      await waitFor(() => segments(to).every((r) => r.status !== 0), 3_000, 50).catch(() => undefined);
      expect(segments(to).filter((r) => r.status >= 400)).toEqual([]);
      expect((await pageLog(page)).errors.filter((e) => e.fatal)).toEqual([]);
    } finally {
      await page.close();
    }
  },
  6 * PATIENCE_MS,
);
