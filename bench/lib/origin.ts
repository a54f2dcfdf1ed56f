/**
 * The bench's origin and CDNs in one loopback server: the bench manifests under /<stream>/, and 200
 * "ok" for everything else, so health probes and segment checks find every fixture CDN healthy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BENCH_MANIFESTS, BENCH_STEERING_STREAM, BENCH_STREAM } from '../playlists';

export interface BenchOrigin {
  /** http://127.0.0.1:<port>/ */
  readonly base: string;
  /** Manifest requests answered (what Switchyard's cache let through). */
  manifestHits(): number;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<BenchOrigin> {
  const byPath = new Map<string, { text: string; type: string }>();
  for (const stream of [BENCH_STREAM, BENCH_STEERING_STREAM])
    for (const m of BENCH_MANIFESTS)
      byPath.set(`/${stream}/${m.file}`, {
        text: m.text,
        type: m.protocol === 'dash' ? 'application/dash+xml' : 'application/vnd.apple.mpegurl',
      });
  let hits = 0;
  const server: Server = createServer((req, res) => {
    const found = byPath.get((req.url ?? '').split('?')[0] ?? '');
    if (found === undefined) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    hits++;
    res.writeHead(200, { 'content-type': found.type, 'cache-control': 'max-age=3' });
    res.end(found.text);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    base,
    manifestHits: () => hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
