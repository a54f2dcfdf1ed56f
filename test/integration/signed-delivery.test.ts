/**
 * URL signing through the whole product: two fixture CDNs that verify tokens on their own (Akamai's
 * reference library, the CloudFront public key) and a real Switchyard, in every delivery mode. A 403
 * in a CDN's log is a token a real CDN would refuse.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { CdnAuth } from '../../fixtures/servers';
import { get, playlistUris, startStack, TEST_SECRET, waitFor, type Stack } from '../helpers/stack';

const AKAMAI_KEY = '00112233445566778899aabbccddeeff';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

const AKAMAI: CdnAuth = { scheme: 'akamai-token2', keys: [AKAMAI_KEY] };
const CLOUDFRONT: CdnAuth = {
  scheme: 'cloudfront',
  keys: [{ keyPairId: 'K2JCJMDEHXQW5F', publicKey: PUBLIC_PEM }],
};

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    streams: ['live', 'vod', 'aes', 'fmp4'],
    extra: ({ origin, cdns }) => {
      const [a, b] = cdns as unknown as readonly [{ url: string }, { url: string }];
      return {
        streams: [
          { id: 'live', origin: `${origin}live/` },
          { id: 'vod', origin: `${origin}vod/`, mode: 'redirect' },
          { id: 'aes', origin: `${origin}aes/`, keys: { via: 'cdn' } },
          { id: 'fmp4', origin: `${origin}fmp4/`, mode: 'steering' },
          { id: 'dash', origin: `${origin}dash/` },
        ],
        cdns: [
          { id: 'a', baseUrl: a.url, auth: { scheme: 'akamai-token2', key: AKAMAI_KEY, window: '2m' } },
          {
            id: 'b',
            baseUrl: b.url,
            auth: {
              scheme: 'cloudfront',
              keyPairId: 'K2JCJMDEHXQW5F',
              privateKey: PEM,
              resource: `${b.url}{stream}/*`,
              window: '2m',
            },
          },
        ],
        policy: { type: 'failover', order: ['a', 'b'] },
        admin: { token: 'admin-token-0123456789' },
      };
    },
  });
  stack.cdn('a').setAuth(AKAMAI);
  stack.cdn('b').setAuth(CLOUDFRONT);
});
afterAll(async () => {
  await stack.close();
});

const clearLogs = () => stack.cdns.forEach((c) => (c.requests.length = 0));
const refused = () => stack.cdns.flatMap((c) => c.requests.filter((r) => r.status === 403));

async function mediaUrl(stream: string, variant = 0): Promise<string> {
  const master = await get(`${stack.url}${stream}/master.m3u8`);
  expect(master.status).toBe(200);
  const uri = playlistUris(master.body).filter((u) => u.includes('.m3u8'))[variant] as string;
  return new URL(uri, stack.url).toString();
}

test('rewrite: every segment URI carries the CDN token and the CDN serves it; without it, 403', async () => {
  clearLogs();
  const media = await get(await mediaUrl('live'));
  const segs = playlistUris(media.body);
  expect(segs.length).toBeGreaterThan(2);
  for (const s of segs) expect(s).toMatch(/\?hdnts=st=\d+~exp=\d+~acl=\/live\/\*~hmac=[0-9a-f]{64}$/);
  for (const s of segs.slice(-2)) expect((await get(s)).status).toBe(200);
  // The CDN really checks: no token, or the token of another stream, is refused.
  const bare = (segs[0] as string).split('?')[0] as string;
  expect((await get(bare)).status).toBe(403);
  const vod = await get(`${stack.url}vod/v0/index.m3u8`);
  expect(vod.status).toBe(200);
  expect(refused().map((r) => r.auth)).toEqual(['missing']);
});

test('every session on one CDN in one epoch gets byte-identical media playlists', async () => {
  const url = await mediaUrl('live');
  const other = await mediaUrl('live');
  expect(url).not.toBe(other); // two sessions
  const [x, y] = await Promise.all([get(url), get(other)]);
  expect(x.headers.get('x-switchyard-session')).not.toBe(y.headers.get('x-switchyard-session'));
  expect(x.body).toBe(y.body);
});

test('the session moved to the other CDN gets that CDN’s token (another scheme) at its next reload', async () => {
  clearLogs();
  const url = await mediaUrl('live');
  expect((await get(url)).headers.get('x-switchyard-cdn')).toBe('a');
  stack.server.runtime.monitor.setDrained('a', true);
  try {
    let moved = await get(url);
    expect(moved.headers.get('x-switchyard-cdn')).toBe('b');
    // Segments listed before the move stay on a (RFC 8216 §6.2.1); the ones listed after are on b.
    await waitFor(
      async () => {
        moved = await get(url);
        return playlistUris(moved.body).some((s) => s.startsWith(stack.cdn('b').url));
      },
      8000,
      200,
    );
    const segs = playlistUris(moved.body).filter((s) => s.startsWith(stack.cdn('b').url));
    expect(segs.length).toBeGreaterThan(0);
    for (const s of segs)
      expect(s).toMatch(/\?Policy=[A-Za-z0-9_~-]+&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=[A-Za-z0-9_~-]+$/);
    expect((await get(segs.at(-1) as string)).status).toBe(200);
  } finally {
    stack.server.runtime.monitor.setDrained('a', false);
  }
  expect(refused()).toEqual([]);
});

test('keys via cdn, EXT-X-MAP and steering pathways: each URI carries its own CDN’s token', async () => {
  clearLogs();
  const aes = await get(await mediaUrl('aes'));
  const key = /#EXT-X-KEY:[^\n]*URI="([^"]+)"/.exec(aes.body)?.[1] as string;
  expect(key).toMatch(/key\.bin\?hdnts=/);
  expect((await get(key)).status).toBe(200);

  const master = await get(`${stack.url}fmp4/master.m3u8`);
  const pathways = playlistUris(master.body).filter((u) => u.includes('.m3u8'));
  const seen = new Set<string>();
  for (const p of pathways) {
    const media = await get(new URL(p, stack.url).toString());
    const cdn = media.headers.get('x-switchyard-cdn') as string;
    seen.add(cdn);
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(media.body)?.[1] as string;
    expect(map.startsWith(stack.cdn(cdn).url)).toBe(true);
    expect((await get(map)).status).toBe(200);
    const last = playlistUris(media.body).at(-1) as string;
    expect((await get(last)).status).toBe(200);
  }
  expect([...seen].sort()).toEqual(['a', 'b']);
  expect(refused()).toEqual([]);
});

test('redirect mode signs each 302 for the CDN chosen at that moment', async () => {
  clearLogs();
  const media = await get(await mediaUrl('vod'));
  const seg = playlistUris(media.body)[0] as string;
  const first = await get(new URL(seg, stack.url).toString());
  expect(first.status).toBe(302);
  expect(first.headers.get('location')).toMatch(
    /^http:\/\/127\.0\.0\.1:\d+\/vod\/[\w/]+\.ts\?hdnts=st=\d+~exp=\d+~acl=\/vod\/\*~hmac=/,
  );
  expect((await get(first.headers.get('location') as string)).status).toBe(200);
  stack.server.runtime.monitor.setDrained('a', true);
  try {
    const second = await get(new URL(seg, stack.url).toString());
    expect(second.headers.get('location')).toMatch(/\?Policy=.+&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=/);
    expect((await get(second.headers.get('location') as string)).status).toBe(200);
  } finally {
    stack.server.runtime.monitor.setDrained('a', false);
  }
  expect(refused()).toEqual([]);
});

test('DASH: the token sits on SegmentTemplate@media and @initialization, and the CDN serves what players request', async () => {
  clearLogs();
  const mpd = await get(`${stack.url}dash/manifest.mpd`);
  expect(mpd.status).toBe(200);
  const base = /<BaseURL>([^<]+)<\/BaseURL>/.exec(mpd.body)?.[1] as string;
  expect(base).not.toContain('hdnts');
  const media = /media="([^"]+)"/.exec(mpd.body)?.[1] as string;
  const init = /initialization="([^"]+)"/.exec(mpd.body)?.[1] as string;
  expect(media).toMatch(/\?hdnts=st=\d+~exp=\d+~acl=\/dash\/\*~hmac=/);
  const rep = /<Representation[^>]*id="([^"]+)"/.exec(mpd.body)?.[1] as string;
  const fill = (t: string) =>
    t
      .replace(/\$RepresentationID\$/g, rep)
      .replace(/\$Number(?:%0(\d+)d)?\$/g, (_, w?: string) => '1'.padStart(Number(w ?? 1), '0'))
      .replace(/&amp;/g, '&');
  expect((await get(new URL(fill(init), base).toString())).status).toBe(200);
  expect((await get(new URL(fill(media), base).toString())).status).toBe(200);
  expect(refused()).toEqual([]);
});

test('/admin/config shows the auth blocks with every key redacted', async () => {
  const res = await get(`${stack.url}admin/config`, {
    headers: { authorization: 'Bearer admin-token-0123456789' },
  });
  expect(res.status).toBe(200);
  expect(res.body).not.toContain(AKAMAI_KEY);
  expect(res.body).not.toContain('PRIVATE KEY');
  expect(res.body).not.toContain(TEST_SECRET);
  expect(res.body).toContain('akamai-token2');
  expect(res.body).toContain('K2JCJMDEHXQW5F');
});
