/**
 * The three servers under test, each on its own in a child process (`node dist/bench/servers.js
 * <kind>`), so the load generator in the parent does not share its event loop:
 * - floor: bare node:http answering pre-rendered bytes, no work at all;
 * - switchyard: the real product (createSwitchyard) in front of an in-process origin;
 * - naive: what users write by hand: express + hls-parser parse, modify, stringify per request.
 * The child reports its port over IPC and answers {rss: true} with its RSS after a full GC.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import express from 'express';
import * as HLS from 'hls-parser';
import pino from 'pino';
import { createSwitchyard, validateConfig } from '../src/index';
import { BENCH_MANIFESTS, BENCH_SECRET, BENCH_STREAM, CDN_BASE } from './playlists';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** The origin Switchyard fetches from (once per TTL) and the CDNs' health endpoint. */
async function startOrigin(): Promise<number> {
  const byPath = new Map(BENCH_MANIFESTS.map((m) => [`/${BENCH_STREAM}/${m.file}`, m.text]));
  return listen(
    createServer((req, res) => {
      const text = byPath.get((req.url ?? '').split('?')[0] ?? '');
      if (text === undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'max-age=3' });
      res.end(text);
    }),
  );
}

async function switchyard(): Promise<number> {
  const originPort = await startOrigin();
  const origin = `http://127.0.0.1:${originPort}/`;
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      secrets: [BENCH_SECRET],
      streams: [{ id: BENCH_STREAM, origin: `${origin}${BENCH_STREAM}/` }],
      // The CDNs live on the local origin: health probes never leave 127.0.0.1.
      cdns: [
        { id: 'a', baseUrl: `${origin}cdn-a/`, weight: 1 },
        { id: 'b', baseUrl: `${origin}cdn-b/`, weight: 1 },
      ],
      health: { path: '/', interval: 10_000, timeout: 1000, rise: 1, fall: 3 },
      log: { level: 'silent' },
      origin: { allowPrivateAddresses: true },
    },
    { env: {} },
  );
  const server = createSwitchyard(config, { logger: pino({ level: 'silent' }) });
  const url = await server.listen();
  return Number(new URL(url).port);
}

async function floor(bodyFile: string): Promise<number> {
  const body = readFileSync(bodyFile);
  return listen(
    createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/vnd.apple.mpegurl',
        'cache-control': 'private, max-age=3',
        'content-length': body.length,
      });
      res.end(body);
    }),
  );
}

async function naive(): Promise<number> {
  const app = express();
  const texts = new Map(BENCH_MANIFESTS.map((m) => [m.file, m.text]));
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
  return listen(createServer(app));
}

async function main(): Promise<void> {
  const [kind, arg] = process.argv.slice(2);
  const port =
    kind === 'switchyard'
      ? await switchyard()
      : kind === 'naive'
        ? await naive()
        : await floor(arg as string);
  process.on('message', (m: { rss?: boolean; exit?: boolean }) => {
    // A normal exit, so --cpu-prof writes its profile.
    if (m.exit) process.exit(0);
    if (m.rss) {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      process.send?.({ rss, heapUsed });
    }
  });
  process.send?.({ port });
}

void main();
