/**
 * Real clients through two CDNs that protect their content with different token schemes (Akamai
 * EdgeAuth ACL tokens on a, CloudFront custom-policy signed URLs on b), verified by the fixture CDNs
 * with the vendor's own algorithm, while the first CDN is taken down mid-stream: playback goes on from
 * the second, and neither CDN ever refuses a token (zero 403s in their logs).
 */
import { generateKeyPairSync } from 'node:crypto';
import { launchPlayers, type Players } from '../helpers/browser';
import { runFfmpeg } from '../helpers/ffmpeg';
import { startStack, waitFor, type Stack } from '../helpers/stack';

const AKAMAI_KEY = '00112233445566778899aabbccddeeff';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

let stack: Stack;
let players: Players;

beforeAll(async () => {
  stack = await startStack({
    streams: ['live', 'dash-live', 'dash'],
    // Probes with room to answer while a browser and ffmpeg load both cores: no false verdicts.
    health: { interval: 200, timeout: 1000, rise: 1, fall: 1 },
    extra: ({ origin, cdns }) => {
      const [a, b] = cdns as unknown as readonly [{ url: string }, { url: string }];
      return {
        streams: [
          { id: 'live', origin: `${origin}live/` },
          { id: 'dash-live', origin: `${origin}dash-live/` },
          { id: 'dash', origin: `${origin}dash/`, mode: 'redirect' },
        ],
        cdns: [
          // Short windows, so tokens roll over to new epochs during the runs.
          { id: 'a', baseUrl: a.url, auth: { scheme: 'akamai-token2', key: AKAMAI_KEY, window: '20s' } },
          {
            id: 'b',
            baseUrl: b.url,
            auth: {
              scheme: 'cloudfront',
              keyPairId: 'K2JCJMDEHXQW5F',
              privateKey: PEM,
              resource: `${b.url}{stream}/*`,
              window: '20s',
            },
          },
        ],
        policy: { type: 'failover', order: ['a', 'b'] },
      };
    },
  });
  stack.cdn('a').setAuth({ scheme: 'akamai-token2', keys: [AKAMAI_KEY] });
  stack
    .cdn('b')
    .setAuth({ scheme: 'cloudfront', keys: [{ keyPairId: 'K2JCJMDEHXQW5F', publicKey: PUBLIC_PEM }] });
  players = await launchPlayers({ maxPages: 1 });
});
afterAll(async () => {
  await players?.close();
  await stack?.close();
});

const isMedia = (path: string) => /\.(ts|m4s|mp4)$/.test(path);
const media = (id: string) => stack.cdn(id).requests.filter((r) => isMedia(r.path));
const refused = () => stack.cdns.flatMap((c) => c.requests.filter((r) => r.status === 403));

async function reset(): Promise<void> {
  for (const c of stack.cdns) c.setMode({ kind: 'up' });
  stack.server.runtime.monitor.setDrained('a', false);
  // Every run starts on a (the failover policy's first), healthy again after the previous run.
  await waitFor(() => stack.server.runtime.monitor.health('a')?.healthy === true, 10_000, 50);
  for (const c of stack.cdns) c.requests.length = 0;
}

/** Takes CDN a out: out of selection, then down, as an operator would. */
async function takeDownA(): Promise<number> {
  const before = media('b').length;
  stack.server.runtime.monitor.setDrained('a', true);
  // Segments already listed keep their CDN (RFC 8216 §6.2.1): let the player move first.
  await waitFor(() => media('b').length >= before + 2, 15_000, 50).catch((err: unknown) => {
    if (process.env.DEBUG_SIGNED)
      console.log(
        JSON.stringify(
          stack.cdns.map((c) => c.requests.slice(-8)),
          null,
          1,
        ),
        stack.server.runtime.recentSwitches,
      );
    throw err;
  });
  stack.cdn('a').setMode({ kind: 'down' });
  return Date.now();
}

afterEach(() => {
  stack.cdn('a').setMode({ kind: 'up' });
  stack.server.runtime.monitor.setDrained('a', false);
});

test('ffmpeg, live HLS: a (Akamai tokens) goes down mid-stream, segments move to b (CloudFront), zero 403s', async () => {
  await reset();
  const playing = runFfmpeg(`${stack.url}live/master.m3u8`, ['-t', '12'], 40_000);
  await waitFor(() => media('a').length >= 3, 15_000, 50);
  const downAt = await takeDownA();
  const run = await playing;
  expect(run.code).toBe(0);
  expect(run.frames).toBeGreaterThanOrEqual(100);
  expect(refused()).toEqual([]);
  expect(
    media('b').filter((r) => r.at > downAt && (r.status === 200 || r.status === 206)).length,
  ).toBeGreaterThanOrEqual(1);
  expect(run.opened.filter((u) => /\.ts\?Policy=/.test(u)).length).toBeGreaterThan(0);
}, 90_000);

test('hls.js (Chromium), live HLS: the same failover, playback continues, zero 403s', async () => {
  await reset();
  let downAt = 0;
  const result = await players.play(`${stack.url}live/master.m3u8`, 'hlsjs', {
    seconds: 10,
    midPlay: {
      atSeconds: 3,
      action: async () => {
        downAt = await takeDownA();
      },
    },
  });
  expect(result.fatalErrors).toEqual([]);
  expect(result.secondsPlayed).toBeGreaterThanOrEqual(8);
  expect(refused()).toEqual([]);
  expect(result.requests.filter((r) => r.status === 403)).toEqual([]);
  expect(media('a').length).toBeGreaterThan(0);
  expect(media('b').filter((r) => r.at > downAt).length).toBeGreaterThan(0);
}, 120_000);

/** ffmpeg never reloads a DASH MPD it plays from a template: redirect mode moves it per segment. */
test('ffmpeg, DASH in redirect mode: each 302 signed for the CDN chosen then; a goes down, b serves, zero 403s', async () => {
  await reset();
  const playing = runFfmpeg(`${stack.url}dash/manifest.mpd`, ['-re'], 45_000);
  await waitFor(() => media('a').length >= 3, 20_000, 50);
  const downAt = await takeDownA();
  const run = await playing;
  expect(run.code).toBe(0);
  expect(run.frames).toBeGreaterThanOrEqual(100);
  expect(refused()).toEqual([]);
  // b took over after the drain (takeDownA waited for it), and a served nothing once down.
  expect(media('b').filter((r) => r.status === 200 || r.status === 206).length).toBeGreaterThanOrEqual(2);
  expect(media('a').filter((r) => r.at > downAt && (r.status === 200 || r.status === 206))).toEqual([]);
}, 90_000);

test('dash.js (Chromium), live DASH in rewrite mode (tokens on SegmentTemplate): the same failover, playback continues, zero 403s', async () => {
  await reset();
  let downAt = 0;
  const result = await players.play(`${stack.url}dash-live/manifest.mpd`, 'dashjs', {
    seconds: 10,
    midPlay: {
      atSeconds: 3,
      action: async () => {
        downAt = await takeDownA();
      },
    },
  });
  // dash.js reports the segments it could not get from the CDN that went down (connection dropped)
  // before it follows the MPD to b; nothing else may fail, and nothing on either CDN is refused.
  const aUrl = stack.cdn('a').url;
  expect(result.fatalErrors.filter((e) => !(e.includes(aUrl) && e.includes('is not available')))).toEqual([]);
  expect(result.secondsPlayed).toBeGreaterThanOrEqual(8);
  expect(refused()).toEqual([]);
  expect(media('a').length).toBeGreaterThan(0);
  expect(media('b').filter((r) => r.at > downAt).length).toBeGreaterThan(0);
}, 120_000);
