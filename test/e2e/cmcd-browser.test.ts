/**
 * CMCD from real players in Debian's headless Chromium reaching Switchyard: hls.js with CMCD on (query
 * mode, on every playlist request), and dash.js 5 with CMCD v2 in query mode plus an event-mode target
 * (POST /cmcd, application/cmcd). The evidence is what Switchyard's QoE bus heard, and that each
 * signal is about a configured CDN.
 */
import {
  describePlay,
  launchPlayers,
  type PlayOptions,
  type PlayResult,
  type Players,
} from '../helpers/browser';
import { startStack, type Stack } from '../helpers/stack';
import type { QoeSignal } from '../../src/qoe/signals';
import type { RequestLogEntry } from '../../fixtures/servers';

/** What one play left: the player's result, what Switchyard's QoE bus heard, the CDNs' logs. */
interface Heard {
  play: PlayResult;
  signals: QoeSignal[];
  config: Stack['config'];
  cdnRequests: RequestLogEntry[];
  cmcdUrl: string;
}

let players: Players;

/**
 * One play through a stack of its own, so the two players can play at once (6 s of live each, in
 * real time) and each test reads only its own player's signals.
 */
async function heard(
  path: string,
  player: 'hlsjs' | 'dashjs',
  opts: (cmcdUrl: string) => PlayOptions,
): Promise<Heard> {
  const stack = await startStack({ streams: ['live', 'dash-live'] });
  const signals: QoeSignal[] = [];
  stack.server.runtime.qoeSignals.subscribe((s) => {
    if (s.source !== 'cmsd') signals.push(s);
  });
  try {
    const cmcdUrl = `${stack.url}cmcd`;
    const play = await players.play(`${stack.url}${path}`, player, opts(cmcdUrl));
    return {
      play,
      signals,
      config: stack.config,
      cdnRequests: stack.cdns.flatMap((c) => c.requests),
      cmcdUrl,
    };
  } finally {
    await stack.close();
  }
}

let hlsjs: Promise<Heard>;
let dashjs: Promise<Heard>;

beforeAll(async () => {
  players = await launchPlayers({ maxPages: 2 });
  hlsjs = heard('live/master.m3u8', 'hlsjs', () => ({
    seconds: 6,
    config: { cmcd: { useHeaders: false } },
  }));
  dashjs = heard('dash-live/manifest.mpd', 'dashjs', (cmcdUrl) => ({
    seconds: 6,
    config: {
      streaming: {
        cmcd: {
          enabled: true,
          version: 2,
          mode: 'query',
          // A target reports only the keys it names (dash.js sends e, ts, v otherwise).
          eventTargets: [
            {
              url: cmcdUrl,
              events: ['rr', 'ps', 't'],
              interval: 1,
              batchSize: 2,
              enabledKeys: [
                'sid',
                'sn',
                'url',
                'rc',
                'ttfb',
                'ttlb',
                'ot',
                'd',
                'br',
                'bl',
                'mtp',
                'pt',
                'sta',
                'bs',
                'bsd',
              ],
            },
          ],
        },
      },
    },
  }));
  // Each test reads its own; an unobserved rejection would crash jest.
  hlsjs.catch(() => undefined);
  dashjs.catch(() => undefined);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([hlsjs, dashjs]);
  await players?.close();
}, 120_000);

test("hls.js with CMCD on: every playlist reload carries it to Switchyard, about the session's CDN", async () => {
  const { play, signals, config, cdnRequests } = await hlsjs;
  expect(play.fatalErrors).toEqual([]);
  expect(play.secondsPlayed).toBeGreaterThanOrEqual(5);
  const q = signals.filter((s) => s.source === 'cmcd-query');
  // Live playlist reloads (1 s target duration) over 6 s of play.
  expect(q.length).toBeGreaterThanOrEqual(3);
  expect(new Set(q.map((s) => s.sessionId)).size).toBe(1);
  const cdns = new Set(config.cdns.map((c) => c.id));
  expect(q.slice(1).every((s) => s.cdn !== undefined && cdns.has(s.cdn))).toBe(true);
  // The CDNs get the player's CMCD on segment requests too (their business; Switchyard never strips it).
  const segments = cdnRequests.filter((r) => r.path.endsWith('.ts'));
  expect(segments.some((r) => r.query.includes('CMCD='))).toBe(true);
}, 120_000);

test('dash.js with CMCD v2: query mode on MPD refreshes and event-mode reports to POST /cmcd', async () => {
  const { play, signals, cmcdUrl } = await dashjs;
  expect(play.fatalErrors).toEqual([]);
  const events = signals.filter((s) => s.source === 'cmcd-event');
  const posts = play.requests.filter((r) => r.url === cmcdUrl);
  expect(posts.length).toBeGreaterThan(0);
  expect(posts.every((r) => r.status === 204 || r.status === 200)).toBe(true);
  expect(events.length).toBeGreaterThan(0);
  // Response-received reports of segments name the CDN by the URL's host (those of the MPD, fetched
  // from Switchyard itself, name none).
  const rr = events.filter((s) => s.event === 'rr' && s.cdn !== undefined);
  if (rr.length === 0) throw new Error(`no rr report named a CDN\n${describePlay(play)}`);
  expect(rr.every((s) => s.cdn === 'a' || s.cdn === 'b')).toBe(true);
  expect(rr.every((s) => (s.segmentRequests ?? 0) === 1 && s.segmentErrors === 0)).toBe(true);
}, 120_000);
