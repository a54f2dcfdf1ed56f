import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { SwitchyardError } from '../../src/errors';
import { OriginClient, type OriginClientOptions } from '../../src/origin/client';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

const PLAYLIST = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_ü.ts\n';

describe('OriginClient against a real HTTP server', () => {
  let main: { server: Server; url: string };
  let other: { server: Server; url: string };
  let hits: string[];
  /** Chunks /trickle wrote to its latest request, one every TRICKLE_EVERY_MS. */
  let trickled = 0;
  const TRICKLE_EVERY_MS = 100;
  const routes = new Map<string, Handler>();
  const clients: OriginClient[] = [];

  const client = (over: Partial<OriginClientOptions> = {}) => {
    const c = new OriginClient({
      connectTimeout: 1000,
      headersTimeout: 1000,
      bodyTimeout: 1000,
      maxBodyBytes: 64 * 1024,
      maxRedirects: 3,
      allowedOrigins: [main.url],
      allowPrivateAddresses: true,
      ...over,
    });
    clients.push(c);
    return c;
  };
  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
      return 'OK';
    } catch (err) {
      if (!(err instanceof SwitchyardError)) throw err;
      return err.code;
    }
  };

  beforeAll(async () => {
    main = await listen((req, res) => {
      hits.push(req.url ?? '');
      const h = routes.get((req.url ?? '').split('?')[0] as string);
      if (h) h(req, res);
      else res.writeHead(404).end();
    });
    other = await listen((_req, res) => res.end(PLAYLIST));
  });
  beforeEach(() => {
    hits = [];
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    main.server.closeAllConnections();
    other.server.closeAllConnections();
    await new Promise((r) => main.server.close(r));
    await new Promise((r) => other.server.close(r));
  });

  routes.set('/plain.m3u8', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'max-age=2' });
    res.end(PLAYLIST);
  });
  routes.set('/gzip.m3u8', (req, res) => {
    expect(req.headers['accept-encoding']).toContain('gzip');
    res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(PLAYLIST));
  });
  routes.set('/br.m3u8', (_req, res) =>
    res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync(PLAYLIST)),
  );
  routes.set('/big', (_req, res) => res.writeHead(200).end(Buffer.alloc(65 * 1024, 0x41)));
  routes.set('/big-chunked', (_req, res) => {
    res.writeHead(200);
    for (let i = 0; i < 70; i++) res.write(Buffer.alloc(1024, 0x41));
    res.end();
  });
  const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x41));
  routes.set('/bomb', (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb));
  routes.set('/bad-gzip', (_req, res) =>
    res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip at all'),
  );
  routes.set('/zstd', (_req, res) => res.writeHead(200, { 'content-encoding': 'zstd' }).end('x'));
  routes.set('/latin1', (_req, res) => res.writeHead(200).end(Buffer.from([0x23, 0x45, 0xe9, 0x0a])));
  routes.set('/500', (_req, res) => res.writeHead(500).end('oops'));
  routes.set('/410', (_req, res) => res.writeHead(410).end());
  routes.set('/slow-headers', (_req, res) => {
    setTimeout(() => res.writeHead(200).end(PLAYLIST), 1500).unref();
  });
  routes.set('/trickle', (_req, res) => {
    res.writeHead(200);
    trickled = 0;
    const t = setInterval(() => {
      if (res.destroyed) clearInterval(t);
      else {
        res.write('#\n');
        trickled++;
      }
    }, TRICKLE_EVERY_MS);
    t.unref();
  });
  routes.set('/redir-ok', (_req, res) => res.writeHead(302, { location: '/plain.m3u8?x=1' }).end());
  routes.set('/redir-other', (_req, res) => res.writeHead(301, { location: other.url + 'x.m3u8' }).end());
  routes.set('/redir-loop', (_req, res) => res.writeHead(307, { location: '/redir-loop' }).end());
  routes.set('/redir-none', (_req, res) => res.writeHead(302).end());

  test('plain body, headers and the answering URL', async () => {
    const r = await client().fetch(main.url + 'plain.m3u8');
    expect(r).toMatchObject({
      url: main.url + 'plain.m3u8',
      status: 200,
      body: PLAYLIST,
      contentType: 'application/vnd.apple.mpegurl',
      cacheControl: 'max-age=2',
    });
    expect(r.fetchedAt).toBeGreaterThan(0);
  });

  test.each(['gzip', 'br'])('%s bodies are decoded', async (enc) => {
    expect((await client().fetch(main.url + enc + '.m3u8')).body).toBe(PLAYLIST);
  });

  test.each(['/big', '/big-chunked', '/bomb'])('%s over maxBodyBytes is ORIGIN_TOO_LARGE', async (path) => {
    // The code is the claim: a client that timed out instead would say ORIGIN_TIMEOUT.
    expect(await codeOf(client().fetch(main.url + path.slice(1)))).toBe('ORIGIN_TOO_LARGE');
  });

  test('bad compressed data and unknown encodings are ORIGIN_BAD_ENCODING', async () => {
    expect(await codeOf(client().fetch(main.url + 'bad-gzip'))).toBe('ORIGIN_BAD_ENCODING');
    expect(await codeOf(client().fetch(main.url + 'zstd'))).toBe('ORIGIN_BAD_ENCODING');
  });

  test('invalid UTF-8 is ORIGIN_BAD_ENCODING', async () => {
    expect(await codeOf(client().fetch(main.url + 'latin1'))).toBe('ORIGIN_BAD_ENCODING');
  });

  test('404 and 410 are ORIGIN_NOT_FOUND, 500 is ORIGIN_STATUS with the status', async () => {
    expect(await codeOf(client().fetch(main.url + 'missing'))).toBe('ORIGIN_NOT_FOUND');
    expect(await codeOf(client().fetch(main.url + '410'))).toBe('ORIGIN_NOT_FOUND');
    await expect(client().fetch(main.url + '500')).rejects.toMatchObject({
      code: 'ORIGIN_STATUS',
      details: { originStatus: 500 },
    });
  });

  test('redirects within allowed origins are followed; the final URL is reported', async () => {
    const r = await client().fetch(main.url + 'redir-ok');
    expect(r.url).toBe(main.url + 'plain.m3u8?x=1');
    expect(r.body).toBe(PLAYLIST);
  });

  test('a redirect to another origin is ORIGIN_REDIRECT unless allowed', async () => {
    expect(await codeOf(client().fetch(main.url + 'redir-other'))).toBe('ORIGIN_REDIRECT');
    const r = await client({ allowedOrigins: [main.url, other.url] }).fetch(main.url + 'redir-other');
    expect(r.url).toBe(other.url + 'x.m3u8');
  });

  test('redirect loops stop after maxRedirects; a redirect without Location fails', async () => {
    expect(await codeOf(client({ maxRedirects: 2 }).fetch(main.url + 'redir-loop'))).toBe('ORIGIN_REDIRECT');
    expect(hits).toEqual(['/redir-loop', '/redir-loop', '/redir-loop']);
    expect(await codeOf(client().fetch(main.url + 'redir-none'))).toBe('ORIGIN_REDIRECT');
  });

  test('an origin that is not configured is never contacted', async () => {
    expect(await codeOf(client().fetch(other.url + 'x.m3u8'))).toBe('ORIGIN_NOT_ALLOWED');
    expect(await codeOf(client().fetch('not a url'))).toBe('ORIGIN_NOT_ALLOWED');
  });

  test('connection refused is ORIGIN_UNREACHABLE', async () => {
    const tmp = await listen(() => undefined);
    await new Promise((r) => tmp.server.close(r));
    expect(await codeOf(client({ allowedOrigins: [tmp.url] }).fetch(tmp.url + 'x'))).toBe(
      'ORIGIN_UNREACHABLE',
    );
  });

  test('slow headers are ORIGIN_TIMEOUT; holdMs extends the wait', async () => {
    const c = client({ headersTimeout: 300, bodyTimeout: 300 });
    expect(await codeOf(c.fetch(main.url + 'slow-headers'))).toBe('ORIGIN_TIMEOUT');
    expect((await c.fetch(main.url + 'slow-headers', { holdMs: 2000 })).body).toBe(PLAYLIST);
  });

  test('a body trickling in under the per-chunk timeout still ends in ORIGIN_TIMEOUT', async () => {
    const limits = { connectTimeout: 200, headersTimeout: 300, bodyTimeout: 300 };
    const c = client(limits);
    expect(await codeOf(c.fetch(main.url + 'trickle'))).toBe('ORIGIN_TIMEOUT');
    // The trickle never ends: the fetch ended by its one deadline (connect + headers + body). Counted
    // in chunks the origin wrote, on the same event loop as the deadline's timer, so a busy machine
    // delays both alike: at most one chunk per interval of the deadline, and one in flight.
    const budget = limits.connectTimeout + limits.headersTimeout + limits.bodyTimeout;
    expect(trickled).toBeLessThanOrEqual(Math.ceil(budget / TRICKLE_EVERY_MS) + 1);
  });

  test('a caller abort is not reported as a timeout', async () => {
    const ac = new AbortController();
    const p = client().fetch(main.url + 'slow-headers', { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect(await codeOf(p)).not.toBe('OK');
  });
});
