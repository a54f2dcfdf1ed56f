/**
 * Real clients through two CDNs that protect their content with different token schemes (Akamai
 * EdgeAuth ACL tokens on a, CloudFront custom-policy signed URLs on b), verified by the fixture CDNs
 * with the vendor's own algorithm, while the first CDN is taken down mid-stream: playback goes on from
 * the second, and neither CDN ever refuses a token (zero 403s in their logs).
 *
 * The four clients play at once, each through a stack of its own (origin, CDNs, Switchyard): each run
 * plays in real time and takes its own CDN a down, so they share nothing but the browser; one after
 * the other they took four times as long.
 */
import { generateKeyPairSync } from 'node:crypto';
import { launchPlayers, type PlayResult, type Players } from '../helpers/browser';
import { runFfmpeg, type FfmpegRun } from '../helpers/ffmpeg';
import { startStack, waitFor, type Stack } from '../helpers/stack';
import type { RequestLogEntry } from '../../fixtures/servers';

const AKAMAI_KEY = '00112233445566778899aabbccddeeff';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

/**
 * How long a wait may take before a run gives up (four clients and their servers share the machine):
 * a safety net, not a claim about speed.
 */
const PATIENCE_MS = 30_000;

async function signedStack(): Promise<Stack> {
  const stack = await startStack({
    streams: ['live', 'dash-live', 'dash'],
    // Probes with room to answer while browsers and ffmpeg load both cores: no false verdicts.
    health: { interval: 200, timeout: 2000, rise: 1, fall: 1 },
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
  // Every run starts on a (the failover policy's first), once its probes say it is healthy.
  await waitFor(() => stack.server.runtime.monitor.health('a')?.healthy === true, PATIENCE_MS, 50);
  return stack;
}

const isMedia = (path: string) => /\.(ts|m4s|mp4)$/.test(path);
const served = (r: RequestLogEntry) => r.status === 200 || r.status === 206;

/** What a run leaves to judge: its CDNs' logs, when a went down, and the client's own result. */
interface Evidence<T> {
  client: T;
  /** Media requests each CDN saw. */
  media: { a: RequestLogEntry[]; b: RequestLogEntry[] };
  /** Every request a CDN refused (403), media or not. */
  refused: RequestLogEntry[];
  /** When a was taken down (this process's clock, as the CDN logs' `at`). */
  downAt: number;
  aUrl: string;
}

/** Takes CDN a out: out of selection, then down, as an operator would. */
async function takeDownA(stack: Stack): Promise<number> {
  const mediaOf = (id: string) => stack.cdn(id).requests.filter((r) => isMedia(r.path));
  const before = mediaOf('b').length;
  stack.server.runtime.monitor.setDrained('a', true);
  // Segments already listed keep their CDN (RFC 8216 §6.2.1): let the player move first.
  await waitFor(() => mediaOf('b').length >= before + 2, PATIENCE_MS, 50).catch((err: unknown) => {
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

/** Runs one client against a stack of its own, then closes the stack and returns the evidence. */
async function scenario<T>(
  play: (stack: Stack, down: () => Promise<void>) => Promise<T>,
): Promise<Evidence<T>> {
  const stack = await signedStack();
  try {
    let downAt = 0;
    const client = await play(stack, async () => {
      downAt = await takeDownA(stack);
    });
    const media = (id: string) => stack.cdn(id).requests.filter((r) => isMedia(r.path));
    return {
      client,
      media: { a: media('a'), b: media('b') },
      refused: stack.cdns.flatMap((c) => c.requests.filter((r) => r.status === 403)),
      downAt,
      aUrl: stack.cdn('a').url,
    };
  } finally {
    await stack.close();
  }
}

/** ffmpeg plays `path` through its stack; CDN a goes down once a has served three media segments. */
function ffmpegScenario(path: string, args: string[]): Promise<Evidence<FfmpegRun>> {
  return scenario(async (stack, down) => {
    const playing = runFfmpeg(`${stack.url}${path}`, args, 90_000);
    await waitFor(() => stack.cdn('a').requests.filter((r) => isMedia(r.path)).length >= 3, PATIENCE_MS, 50);
    await down();
    return playing;
  });
}

let players: Players;
let runs: {
  ffmpegHls: Promise<Evidence<FfmpegRun>>;
  hlsjs: Promise<Evidence<PlayResult>>;
  ffmpegDash: Promise<Evidence<FfmpegRun>>;
  dashjs: Promise<Evidence<PlayResult>>;
};

beforeAll(async () => {
  players = await launchPlayers({ maxPages: 2 });
  runs = {
    ffmpegHls: ffmpegScenario('live/master.m3u8', ['-t', '12']),
    hlsjs: scenario((stack, down) =>
      players.play(`${stack.url}live/master.m3u8`, 'hlsjs', {
        seconds: 10,
        midPlay: { atSeconds: 3, action: down },
      }),
    ),
    // ffmpeg never reloads a DASH MPD it plays from a template: redirect mode moves it per segment.
    ffmpegDash: ffmpegScenario('dash/manifest.mpd', ['-re']),
    dashjs: scenario((stack, down) =>
      players.play(`${stack.url}dash-live/manifest.mpd`, 'dashjs', {
        seconds: 10,
        midPlay: { atSeconds: 3, action: down },
      }),
    ),
  };
  // Each test reads its own; an unobserved rejection would crash jest.
  for (const r of Object.values(runs)) (r as Promise<unknown>).catch(() => undefined);
}, 60_000);

afterAll(async () => {
  if (runs) await Promise.allSettled(Object.values(runs));
  await players?.close();
}, 180_000);

test('ffmpeg, live HLS: a (Akamai tokens) goes down mid-stream, segments move to b (CloudFront), zero 403s', async () => {
  const { client: run, media, refused, downAt } = await runs.ffmpegHls;
  expect(run.code).toBe(0);
  expect(run.frames).toBeGreaterThanOrEqual(100);
  expect(refused).toEqual([]);
  expect(media.b.filter((r) => r.at > downAt && served(r)).length).toBeGreaterThanOrEqual(1);
  expect(run.opened.filter((u) => /\.ts\?Policy=/.test(u)).length).toBeGreaterThan(0);
}, 180_000);

test('hls.js (Chromium), live HLS: the same failover, playback continues, zero 403s', async () => {
  const { client: result, media, refused, downAt } = await runs.hlsjs;
  expect(result.fatalErrors).toEqual([]);
  expect(result.secondsPlayed).toBeGreaterThanOrEqual(8);
  expect(refused).toEqual([]);
  expect(result.requests.filter((r) => r.status === 403)).toEqual([]);
  expect(media.a.length).toBeGreaterThan(0);
  expect(media.b.filter((r) => r.at > downAt).length).toBeGreaterThan(0);
}, 180_000);

test('ffmpeg, DASH in redirect mode: each 302 signed for the CDN chosen then; a goes down, b serves, zero 403s', async () => {
  const { client: run, media, refused, downAt } = await runs.ffmpegDash;
  expect(run.code).toBe(0);
  expect(run.frames).toBeGreaterThanOrEqual(100);
  expect(refused).toEqual([]);
  // b took over after the drain (takeDownA waited for it), and a served nothing once down.
  expect(media.b.filter(served).length).toBeGreaterThanOrEqual(2);
  expect(media.a.filter((r) => r.at > downAt && served(r))).toEqual([]);
}, 180_000);

test('dash.js (Chromium), live DASH in rewrite mode (tokens on SegmentTemplate): the same failover, playback continues, zero 403s', async () => {
  const { client: result, media, refused, downAt, aUrl } = await runs.dashjs;
  // dash.js reports the segments it could not get from the CDN that went down (connection dropped)
  // before it follows the MPD to b; nothing else may fail, and nothing on either CDN is refused.
  expect(result.fatalErrors.filter((e) => !(e.includes(aUrl) && e.includes('is not available')))).toEqual([]);
  expect(result.secondsPlayed).toBeGreaterThanOrEqual(8);
  expect(refused).toEqual([]);
  expect(media.a.length).toBeGreaterThan(0);
  expect(media.b.filter((r) => r.at > downAt).length).toBeGreaterThan(0);
}, 180_000);
