/**
 * The reference servers of the bench, each its own process (`node dist/bench/servers.js <kind> <port>
 * [arg]`), so its CPU time is its own:
 * - floor: bare node:http answering pre-rendered bytes (the file `arg`), no work at all;
 * - naive: what users write by hand: express + hls-parser parse, modify, stringify per request;
 * - switchyard: createSwitchyard on the config file `arg`, answering {gc: true} over IPC with its RSS
 *   and heap after a full GC (run with --expose-gc), for the memory readings.
 * For CPU and throughput Switchyard runs as the built CLI (bench/lib/servers.ts).
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import express from 'express';
import * as HLS from 'hls-parser';
import pino from 'pino';
import { parseConfig } from '../src/configure';
import { createSwitchyard } from '../src/index';
import { BENCH_MANIFESTS, CDN_BASE } from './playlists';

function listen(server: Server, port: number): void {
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1');
}

function floor(port: number, bodyFile: string): void {
  const body = readFileSync(bodyFile);
  const type = bodyFile.endsWith('.mpd') ? 'application/dash+xml' : 'application/vnd.apple.mpegurl';
  listen(
    createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': type,
        'cache-control': 'private, max-age=3',
        'content-length': body.length,
      });
      res.end(body);
    }),
    port,
  );
}

function naive(port: number): void {
  const app = express();
  const texts = new Map(BENCH_MANIFESTS.filter((m) => m.protocol === 'hls').map((m) => [m.file, m.text]));
  app.get('/ready', (_req, res) => void res.send('ok'));
  app.get('/s/:token/:stream/:file', (req, res) => {
    const text = texts.get(req.params.file);
    if (text === undefined) {
      res.status(404).send('not found');
      return;
    }
    const playlist = HLS.parse(text);
    if (playlist instanceof HLS.types.MasterPlaylist) {
      for (const v of playlist.variants) v.uri = `/s/${req.params.token}/${req.params.stream}/${v.uri}`;
      for (const r of playlist.variants.flatMap((v) => v.audio)) {
        if (r.uri !== undefined && !r.uri.startsWith('/s/'))
          r.uri = `/s/${req.params.token}/${req.params.stream}/${r.uri}`;
      }
    } else {
      for (const s of playlist.segments) s.uri = `${CDN_BASE}${req.params.stream}/${s.uri}`;
    }
    res.type('application/vnd.apple.mpegurl').send(HLS.stringify(playlist));
  });
  listen(createServer(app), port);
}

async function switchyard(configFile: string): Promise<void> {
  const config = parseConfig(readFileSync(configFile, 'utf8'), { env: {} });
  const server = createSwitchyard(config, { logger: pino({ level: 'silent' }) });
  await server.listen();
  process.on('message', (m: { gc?: boolean }) => {
    if (!m.gc) return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    process.send?.({ rss, heapUsed });
  });
}

const [kind, port, arg] = process.argv.slice(2);
if (kind === 'floor') floor(Number(port), arg as string);
else if (kind === 'naive') naive(Number(port));
else if (kind === 'switchyard') void switchyard(arg as string);
else {
  process.stderr.write(`servers.js: unknown kind ${kind}\n`);
  process.exitCode = 2;
}
