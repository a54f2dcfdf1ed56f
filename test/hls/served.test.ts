/**
 * HLS golden input/expected pairs: test/hls/served/[folder/]X.m3u8 served by an origin at /hls/ and
 * fetched through a real Switchyard for one fixed session (fixed id, fixed clock) must equal
 * X.expected.m3u8 beside it byte for byte. Files named steering-*.m3u8 go through a stream in steering
 * mode, the others through rewrite mode; CDN a is the session's CDN (failover policy, a first), b the
 * second pathway. A URI left pointing at the origin shows the origin as http://{origin}/ (its port is
 * ephemeral).
 * UPDATE_GOLDEN=1 rewrites the expected files: review the diff, line by line, before committing it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { validateConfig } from '../../src/configure';
import { createSwitchyard, type SwitchyardServer } from '../../src/server/server';
import { playlistUris, TEST_SECRET } from '../helpers/stack';

const DIR = join(__dirname, 'served');
const inputs = readdirSync(DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.m3u8') && !f.endsWith('.expected.m3u8'))
  .sort();
const isSteering = (name: string): boolean => /(^|\/)steering-[^/]*$/.test(name);
/** 2026-12-01T10:00:00Z: every token minted in these renderings carries it. */
const NOW = Date.UTC(2026, 11, 1, 10, 0, 0);
const SESSION_ID = 'golden-session-0001';

let origin: Server;
let server: SwitchyardServer;
let base: string;
let originRoot: string;

beforeAll(async () => {
  origin = createServer((req, res) => {
    const name = /^\/hls\/((?:[\w-]+\/)*[\w.-]+\.m3u8)$/.exec(req.url ?? '')?.[1];
    if (name === undefined || !inputs.includes(name)) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(join(DIR, name));
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originRoot = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
  const originBase = `${originRoot}hls/`;
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      secrets: [TEST_SECRET],
      streams: [
        { id: 'golden', origin: originBase, keys: { via: 'server', server: 'https://keys.example/golden/' } },
        { id: 'golden-steering', origin: originBase, mode: 'steering' },
      ],
      cdns: [
        { id: 'a', baseUrl: 'https://cdn-a.example/edge/', weight: 1 },
        { id: 'b', baseUrl: 'https://cdn-b.example/', weight: 1 },
      ],
      policy: { type: 'failover', order: ['a', 'b'] },
      log: { level: 'silent' },
      origin: { allowPrivateAddresses: true },
    },
    { env: {} },
  );
  server = createSwitchyard(config, {
    logger: pino({ level: 'silent' }),
    now: () => NOW,
    // The CDNs are names, never contacted: every probe says healthy.
    prober: () => Promise.resolve({ ok: true, latencyMs: 1 }),
  });
  base = await server.listen();
});

afterAll(async () => {
  await server?.close();
  await new Promise<void>((resolve) => (origin ? origin.close(() => resolve()) : resolve()));
});

/** One rendering of `name` for the fixed session, as a player with its session URL fetches it. */
async function rendered(name: string): Promise<{ status: number; cdn: string | null; body: string }> {
  const stream = isSteering(name) ? 'golden-steering' : 'golden';
  const { token } = server.runtime.state.signer.mint(stream, NOW, SESSION_ID);
  const res = await fetch(`${base}s/${token}/${stream}/${name}`);
  const body = (await res.text()).replaceAll(originRoot, 'http://{origin}/');
  return { status: res.status, cdn: res.headers.get('x-switchyard-cdn'), body };
}

/** The playlist's lines with every URI blanked: what must not change in a rewrite. */
function withoutUris(text: string): string[] {
  return text
    .split('\n')
    .map((line) =>
      line.startsWith('#')
        ? line.replace(/((?:^|[:,])(?:URI|SERVER-URI|X-ASSET-URI|X-ASSET-LIST)=)"[^"]*"/g, '$1""')
        : line.trim() === ''
          ? line
          : '<uri>',
    );
}

test('the pairs cover every tag family', () => {
  const all = inputs.map((f) => readFileSync(join(DIR, f), 'utf8')).join('\n');
  const tags = [
    // master
    'EXT-X-MEDIA',
    'EXT-X-STREAM-INF',
    'EXT-X-I-FRAME-STREAM-INF',
    'EXT-X-SESSION-DATA',
    'EXT-X-SESSION-KEY',
    'EXT-X-CONTENT-STEERING',
    // media
    'EXT-X-KEY',
    'EXT-X-MAP',
    'EXT-X-BYTERANGE',
    'EXT-X-DISCONTINUITY',
    'EXT-X-DATERANGE',
    'EXT-X-PROGRAM-DATE-TIME',
    'EXT-X-I-FRAMES-ONLY',
    'EXT-X-GAP',
    // LL-HLS
    'EXT-X-PART',
    'EXT-X-PRELOAD-HINT',
    'EXT-X-RENDITION-REPORT',
    'EXT-X-SERVER-CONTROL',
    'EXT-X-SKIP',
  ];
  expect(tags.filter((t) => !new RegExp(`^#${t}[:\\s]`, 'm').test(all))).toEqual([]);
  expect(inputs.some(isSteering)).toBe(true);
});

describe.each(inputs)('%s', (name) => {
  const input = readFileSync(join(DIR, name), 'utf8');
  const expectedPath = join(DIR, name.replace(/\.m3u8$/, '.expected.m3u8'));

  test('renders X.expected.m3u8 exactly', async () => {
    const { status, body } = await rendered(name);
    expect(status).toBe(200);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedPath, body);
    expect(body).toBe(readFileSync(expectedPath, 'utf8'));
  });

  if (isSteering(name)) return;

  test('rewrite mode changes URIs only: every other byte and the URI count stay', async () => {
    const { body, cdn } = await rendered(name);
    expect(cdn).toBe('a');
    expect(withoutUris(body)).toEqual(withoutUris(input));
    expect(playlistUris(body)).toHaveLength(playlistUris(input).length);
  });
});
