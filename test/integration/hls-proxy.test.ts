import { Parser } from 'm3u8-parser';
import { request } from 'node:http';
import { get, playlistUris, startStack, waitFor, type Stack } from '../helpers/stack';

function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ extra: () => ({ cache: { maxStale: '3s', errorRetry: '200ms' } }) });
});
afterAll(async () => {
  await stack.close();
});
afterEach(() => {
  stack.origin.setFault(null);
  for (const c of stack.cdns) c.setMode({ kind: 'up' });
});

function parse(text: string) {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
}

async function openMaster(stream: string) {
  const res = await get(`${stack.url}${stream}/master.m3u8`);
  expect(res.status).toBe(200);
  return res;
}

/** Opens a session on the stream and returns the session URL of its first variant. */
async function firstVariantUrl(stream: string): Promise<string> {
  const master = await openMaster(stream);
  const variant = parse(master.body).playlists?.[0]?.uri as string;
  return new URL(variant, stack.url).href;
}

function originHits(path: string): number {
  return stack.origin.requests.filter((r) => r.path === path).length;
}

describe('new session on a VOD master', () => {
  test('every playlist URI points back at Switchyard in one session; nothing else changes', async () => {
    const res = await openMaster('vod');
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const session = res.headers.get('x-switchyard-session');
    expect(session).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const uris = playlistUris(res.body);
    // 1 audio rendition, 2 variants, 2 I-frame playlists.
    expect(uris).toHaveLength(5);
    const token = /^\/s\/([^/]+)\/vod\//.exec(uris[0] as string)?.[1];
    expect(token).toBeDefined();
    expect(uris).toEqual([
      `/s/${token}/vod/audio/index.m3u8`,
      `/s/${token}/vod/v0/index.m3u8`,
      `/s/${token}/vod/v1/index.m3u8`,
      `/s/${token}/vod/v0/iframes.m3u8`,
      `/s/${token}/vod/v1/iframes.m3u8`,
    ]);
    const origin = (await get(`${stack.origin.url}vod/master.m3u8`)).body;
    const strip = (t: string) => t.replace(/(URI=")[^"]*"/g, '$1"').replace(/^[^#\n].*$/gm, '');
    expect(strip(res.body)).toBe(strip(origin));
  });

  test('segments of a media playlist point at the chosen CDN, which serves them', async () => {
    const variantUrl = await firstVariantUrl('vod');
    const media = await get(variantUrl);
    expect(media.status).toBe(200);
    const cdnId = media.headers.get('x-switchyard-cdn') as string;
    expect(['a', 'b']).toContain(cdnId);
    expect(media.headers.get('x-switchyard-reason')).toContain('weighted');
    const cdn = stack.cdn(cdnId);
    const segs = parse(media.body).segments.map((s) => s.uri);
    expect(segs.length).toBe(6);
    for (const [i, uri] of segs.entries()) expect(uri).toBe(`${cdn.url}vod/v0/seg_${i}.ts`);
    const seg = await fetch(segs[0] as string);
    expect(seg.status).toBe(200);
    expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect(cdn.requests.some((r) => r.path === '/vod/v0/seg_0.ts' && r.status === 200)).toBe(true);
  });

  test('a session keeps its CDN across reloads, and sessions spread over both CDNs', async () => {
    const variantUrl = await firstVariantUrl('live');
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) seen.add((await get(variantUrl)).headers.get('x-switchyard-cdn') as string);
    expect(seen.size).toBe(1);
    const perCdn = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const cdn = (await get(await firstVariantUrl('vod'))).headers.get('x-switchyard-cdn') as string;
      perCdn.set(cdn, (perCdn.get(cdn) ?? 0) + 1);
    }
    expect(perCdn.get('a')).toBeGreaterThan(5);
    expect(perCdn.get('b')).toBeGreaterThan(5);
  });

  test('a media playlist opened without a session keeps one derived session across reloads', async () => {
    const a = await get(`${stack.url}live/v0/index.m3u8`);
    const b = await get(`${stack.url}live/v0/index.m3u8`);
    expect(a.status).toBe(200);
    expect(a.headers.get('x-switchyard-session')).toBe(b.headers.get('x-switchyard-session'));
    expect(a.headers.get('x-switchyard-cdn')).toBe(b.headers.get('x-switchyard-cdn'));
  });
});

describe('sessions and tokens', () => {
  test('a tampered token is a 403 with a JSON error', async () => {
    const url = await firstVariantUrl('vod');
    const tampered = url.replace(
      /\/s\/([^/]+)\//,
      (_m, tok: string) => `/s/${tok.slice(0, -1)}${tok.endsWith('A') ? 'B' : 'A'}/`,
    );
    const res = await get(tampered);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'TOKEN_INVALID', message: expect.any(String) } });
  });

  test('a token for one stream is refused on another', async () => {
    const url = await firstVariantUrl('vod');
    const res = await get(url.replace('/vod/v0/', '/live/v0/'));
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('TOKEN_WRONG_STREAM');
  });
});

describe('origin and cache', () => {
  test('concurrent requests from many sessions make one origin fetch per TTL', async () => {
    const before = originHits('/fmp4/v0/index.m3u8');
    const urls = await Promise.all(Array.from({ length: 40 }, () => firstVariantUrl('fmp4')));
    const answers = await Promise.all(urls.map((u) => get(u)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.headers.get('x-switchyard-session'))).size).toBe(40);
    expect(originHits('/fmp4/v0/index.m3u8') - before).toBe(1);
    expect(originHits('/fmp4/master.m3u8')).toBe(1);
  });

  test('fMP4: EXT-X-MAP goes to the CDN with the segments', async () => {
    const media = await get(await firstVariantUrl('fmp4'));
    const cdn = stack.cdn(media.headers.get('x-switchyard-cdn') as string);
    const m = parse(media.body);
    expect(m.segments[0]?.map?.uri).toBe(`${cdn.url}fmp4/v0/init_0.mp4`);
  });

  test('AES-128: keys load from the origin, segments from the CDN', async () => {
    const media = await get(await firstVariantUrl('aes'));
    const m = parse(media.body);
    expect(m.segments[0]?.key?.uri).toMatch(new RegExp(`^${stack.origin.url}aes/`));
    expect(m.segments[0]?.uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/aes\/v0\/seg_0\.ts$/);
    expect(m.segments[0]?.uri.startsWith(stack.origin.url)).toBe(false);
  });

  test('byte ranges stay attached to their rewritten URIs', async () => {
    const media = await get(await firstVariantUrl('byterange'));
    const m = parse(media.body);
    expect(m.segments.length).toBeGreaterThan(1);
    expect(m.segments[1]?.byterange).toEqual({ length: expect.any(Number), offset: expect.any(Number) });
    expect(new Set(m.segments.map((s) => s.uri)).size).toBe(1);
  });

  test('origin 404 stays 404', async () => {
    const res = await get(`${stack.url}vod/missing.m3u8`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('ORIGIN_NOT_FOUND');
  });

  test('a playlist is recognised by content, not by extension', async () => {
    stack.origin.setFault({
      kind: 'body',
      contentType: 'text/plain',
      body: '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg.ts\n#EXT-X-ENDLIST\n',
    });
    const res = await get(`${stack.url}vod/playlist-without-extension`);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/vod\/seg\.ts$/m);
  });

  test('a malformed playlist is a 502 with a JSON error', async () => {
    stack.origin.setFault({
      kind: 'body',
      contentType: 'application/vnd.apple.mpegurl',
      body: '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n',
    });
    const res = await get(`${stack.url}vod/truncated.m3u8`);
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body).error.code).toBe('MANIFEST_INVALID');
    stack.origin.setFault({ kind: 'body', contentType: 'text/html', body: '<html>oops</html>' });
    const html = await get(`${stack.url}vod/html.m3u8`);
    expect(html.status).toBe(502);
    expect(JSON.parse(html.body).error.code).toBe('NOT_A_MANIFEST');
  });

  test('a dead origin: stale copy with Warning and Age for a bounded time, then 502', async () => {
    const url = await firstVariantUrl('live');
    expect((await get(url)).status).toBe(200);
    stack.origin.setFault({ kind: 'down' });
    await new Promise((r) => setTimeout(r, 700));
    const stale = await get(url);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('warning')).toMatch(/^110 /);
    expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(0);
    await waitFor(async () => (await get(url)).status === 502, 8000, 250);
    const dead = await get(url);
    expect(JSON.parse(dead.body).error.code).toBe('ORIGIN_UNREACHABLE');
  });
});

describe('live switching', () => {
  test('when the session CDN goes down, the next reloads point new segments at the other CDN', async () => {
    const url = await firstVariantUrl('live');
    const first = await get(url);
    const from = first.headers.get('x-switchyard-cdn') as string;
    const to = from === 'a' ? 'b' : 'a';
    stack.cdn(from).setMode({ kind: 'down' });
    await waitFor(() => stack.server.runtime.monitor.health(from)?.healthy === false, 3000);
    const after = await get(url);
    expect(after.headers.get('x-switchyard-cdn')).toBe(to);
    // Segments listed before keep their URIs (RFC 8216 §6.2.1); the ones listed later are on `to`.
    const listed = new Map(parse(first.body).segments.map((s) => [s.uri.split('/').pop(), s.uri]));
    for (const s of parse(after.body).segments) {
      const before = listed.get(s.uri.split('/').pop());
      if (before !== undefined) expect(s.uri).toBe(before);
    }
    await waitFor(
      async () => (parse((await get(url)).body).segments.at(-1)?.uri ?? '').startsWith(stack.cdn(to).url),
      5000,
      100,
    );
    stack.cdn(from).setMode({ kind: 'up' });
    await waitFor(() => stack.server.runtime.monitor.health(from)?.healthy === true, 3000);
    expect((await get(url)).headers.get('x-switchyard-cdn')).toBe(from);
  });

  test('LL-HLS: blocking reloads are forwarded with their query and answered when the part exists', async () => {
    const url = await firstVariantUrl('llhls');
    const now = parse((await get(url)).body);
    expect(now.partTargetDuration).toBeGreaterThan(0);
    const msn = (now.mediaSequence ?? 0) + now.segments.length;
    const res = await get(`${url}?_HLS_msn=${msn}&_HLS_part=0`);
    expect(res.status).toBe(200);
    const m = parse(res.body);
    const cdn = stack.cdn(res.headers.get('x-switchyard-cdn') as string);
    expect(m.preloadSegment?.parts?.[0]?.uri ?? m.segments.at(-1)?.parts?.[0]?.uri).toMatch(
      new RegExp(`^${cdn.url}llhls/`),
    );
    expect(
      stack.origin.requests.some(
        (r) => r.query.includes(`_HLS_msn=${msn}`) && r.query.includes('_HLS_part=0'),
      ),
    ).toBe(true);
    const reports = (m.renditionReports ?? []) as { uri?: string }[];
    expect(reports.length).toBeGreaterThan(0);
    for (const r of reports) expect(r.uri).toMatch(/^\/s\/[^/]+\/llhls\//);
  });
});

test('LL-HLS: a blocking reload the dead origin cannot answer falls back to the last playlist, marked stale', async () => {
  const url = await firstVariantUrl('llhls');
  const now = parse((await get(url)).body);
  stack.origin.setFault({ kind: 'down' });
  const msn = (now.mediaSequence ?? 0) + now.segments.length + 1;
  const res = await get(`${url}?_HLS_msn=${msn}&_HLS_part=0`);
  expect(res.status).toBe(200);
  expect(res.headers.get('warning')).toMatch(/^110 /);
  expect(parse(res.body).segments.length).toBeGreaterThan(0);
});

describe('HTTP surface', () => {
  test('bad paths are 400, unknown routes 404, OPTIONS answers CORS, HEAD has no body', async () => {
    expect((await get(`${stack.url}vod/../secret`)).status).toBe(404); // fetch normalises ../ itself
    // fetch() would normalise these; a raw request sends them as an attacker would.
    for (const p of [
      '/vod/%2e%2e/x.m3u8',
      '/vod/a%2Fb.m3u8',
      '/vod/a\\b.m3u8',
      '/vod/a%00.m3u8',
      '/vod//x.m3u8',
      '/vod/../x.m3u8',
    ]) {
      const res = await rawGet(stack.url, p);
      expect([p, res.status]).toEqual([p, 400]);
      expect(JSON.parse(res.body).error.code).toBe('BAD_PATH');
    }
    expect((await get(`${stack.url}vod/${'x'.repeat(5000)}.m3u8`)).status).toBe(414);
    expect((await get(`${stack.url}nosuchstream/master.m3u8`)).status).toBe(404);
    const pre = await fetch(`${stack.url}vod/master.m3u8`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    const head = await fetch(`${stack.url}vod/master.m3u8`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${stack.url}vod/master.m3u8`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect((await get(`${stack.url}healthz`)).status).toBe(200);
    // No admin.token configured: the operator API does not exist.
    expect((await get(`${stack.url}admin/state`)).status).toBe(404);
    const ready = await get(`${stack.url}readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-powered-by')).toBeNull();
  });
});
