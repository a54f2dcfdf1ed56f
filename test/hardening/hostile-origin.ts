/**
 * An origin (node:http on 127.0.0.1, port 0) that misbehaves the way one does under attack or under
 * load: manifests built to be expensive (test/hardening/hostile-manifests.ts), slow answers, bodies
 * cut mid-transfer, gzip bodies that stall. `hits` counts requests per path.
 *
 *   /h/doc/<name>           one of `docs` (content type from the extension), no-cache
 *   /h/slow/<ms>/<name>     the same after <ms> milliseconds
 *   /h/cut/<name>           half of it, then the connection is reset
 *   /h/stall-gzip/<name>    half of its gzip stream, then nothing (the socket stays open)
 *   /h/ok/<anything>.m3u8   a small live playlist (the well-behaved streams on the same origin)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { closeServer, listen, trackSockets } from '../../fixtures/servers';

export interface HostileOrigin {
  readonly url: string;
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

const OK_PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n' +
  '#EXTINF:2.0,\nseg_10.ts\n#EXTINF:2.0,\nseg_11.ts\n#EXTINF:2.0,\nseg_12.ts\n';

const typeOf = (name: string) =>
  name.endsWith('.mpd') ? 'application/dash+xml' : 'application/vnd.apple.mpegurl';

export async function startHostileOrigin(docs: Readonly<Record<string, string>>): Promise<HostileOrigin> {
  const hits = new Map<string, number>();
  const bodies = new Map(Object.entries(docs).map(([k, v]) => [k, Buffer.from(v)] as const));
  const gzipped = new Map<string, Buffer>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] as string;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const parts = path.split('/'); // ['', 'h', kind, ...]
    const kind = parts[2];
    const send = (name: string) => {
      const body = bodies.get(name);
      if (!body) {
        res.writeHead(404);
        return void res.end();
      }
      res.writeHead(200, {
        'content-type': typeOf(name),
        'content-length': body.length,
        'cache-control': 'no-cache',
      });
      res.end(body);
    };
    if (kind === 'ok') {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'max-age=1' });
      return void res.end(OK_PLAYLIST);
    }
    if (kind === 'doc') return send(parts.slice(3).join('/'));
    if (kind === 'slow') {
      const ms = Number(parts[3]);
      return later(Number.isFinite(ms) ? ms : 1000, () => {
        if (!res.destroyed) send(parts.slice(4).join('/'));
      });
    }
    const name = parts.slice(3).join('/');
    const body = bodies.get(name);
    if (!body) {
      res.writeHead(404);
      return void res.end();
    }
    if (kind === 'cut') {
      res.writeHead(200, { 'content-type': typeOf(name), 'content-length': body.length });
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      return later(10, () => req.socket.destroy());
    }
    if (kind === 'stall-gzip') {
      let gz = gzipped.get(name);
      if (!gz) gzipped.set(name, (gz = gzipSync(body)));
      res.writeHead(200, {
        'content-type': typeOf(name),
        'content-encoding': 'gzip',
        'content-length': gz.length,
      });
      // Half the stream, then silence: only Switchyard's deadline ends this fetch.
      return void res.write(gz.subarray(0, Math.floor(gz.length / 2)));
    }
    res.writeHead(404);
    res.end();
  };
  const server = createServer(handler);
  const sockets = trackSockets(server);
  const port = await listen(server, '127.0.0.1', 0);
  return {
    url: `http://127.0.0.1:${port}/`,
    hits,
    close: () => {
      for (const t of timers) clearTimeout(t);
      return closeServer(server, sockets);
    },
  };
}
