/**
 * CMCD from real players in Debian's headless Chromium reaching Switchyard: hls.js with CMCD on (query
 * mode, on every playlist request), and dash.js 5 with CMCD v2 in query mode plus an event-mode target
 * (POST /cmcd, application/cmcd). The evidence is what Switchyard's QoE bus heard, and that each
 * signal is about a configured CDN.
 */
import { describePlay, launchPlayers, type Players } from '../helpers/browser';
import { startStack, type Stack } from '../helpers/stack';
import type { QoeSignal } from '../../src/qoe/signals';

let stack: Stack;
let players: Players;
const signals: QoeSignal[] = [];

beforeAll(async () => {
  stack = await startStack({ streams: ['live', 'dash-live'] });
  stack.server.runtime.qoeSignals.subscribe((s) => {
    if (s.source !== 'cmsd') signals.push(s);
  });
  players = await launchPlayers({ maxPages: 2 });
}, 60_000);

afterAll(async () => {
  await players?.close();
  await stack?.close();
});

beforeEach(() => {
  signals.length = 0;
});

test("hls.js with CMCD on: every playlist reload carries it to Switchyard, about the session's CDN", async () => {
  const play = await players.play(`${stack.url}live/master.m3u8`, 'hlsjs', {
    seconds: 6,
    config: { cmcd: { useHeaders: false } },
  });
  expect(play.fatalErrors).toEqual([]);
  expect(play.secondsPlayed).toBeGreaterThanOrEqual(5);
  const q = signals.filter((s) => s.source === 'cmcd-query');
  // Live playlist reloads (1 s target duration) over 6 s of play.
  expect(q.length).toBeGreaterThanOrEqual(3);
  expect(new Set(q.map((s) => s.sessionId)).size).toBe(1);
  const cdns = new Set(stack.config.cdns.map((c) => c.id));
  expect(q.slice(1).every((s) => s.cdn !== undefined && cdns.has(s.cdn))).toBe(true);
  // The CDNs get the player's CMCD on segment requests too (their business; Switchyard never strips it).
  const segments = stack.cdns.flatMap((c) => c.requests).filter((r) => r.path.endsWith('.ts'));
  expect(segments.some((r) => r.query.includes('CMCD='))).toBe(true);
}, 120_000);

test('dash.js with CMCD v2: query mode on MPD refreshes and event-mode reports to POST /cmcd', async () => {
  const play = await players.play(`${stack.url}dash-live/manifest.mpd`, 'dashjs', {
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
              url: `${stack.url}cmcd`,
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
  });
  expect(play.fatalErrors).toEqual([]);
  const events = signals.filter((s) => s.source === 'cmcd-event');
  const posts = play.requests.filter((r) => r.url === `${stack.url}cmcd`);
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
