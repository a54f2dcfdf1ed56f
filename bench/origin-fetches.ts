/** In-process: rounds of 1,000 concurrent sessions, one TTL apart; counts the origin's hits per round. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createSwitchyard, validateConfig } from '../src/index';
import { BENCH_SECRET, BENCH_STREAM, mediaPlaylist } from './playlists';
import type { BenchSection } from './section';

export const originFetchesSection: BenchSection = {
  name: 'origin',
  async run(ctx) {
    let hits = 0;
    const text = mediaPlaylist(100);
    const origin = createServer((req, res) => {
      if (req.url?.endsWith('.m3u8')) hits++;
      // A slow origin widens the window in which requests pile up on one fetch.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'max-age=2' });
        res.end(text);
      }, 20);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    const config = validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        secrets: [BENCH_SECRET],
        streams: [{ id: BENCH_STREAM, origin: `${base}${BENCH_STREAM}/` }],
        cdns: [{ id: 'a', baseUrl: `${base}cdn-a/` }],
        health: { path: '/', interval: 10_000, timeout: 1000 },
        log: { level: 'silent' },
        origin: { allowPrivateAddresses: true },
      },
      { env: {} },
    );
    const server = createSwitchyard(config, { logger: pino({ level: 'silent' }) });
    const url = await server.listen();
    const agent = new Agent({ connections: 1000 });
    const sessions = 1000;
    const ttlMs = 3000;
    const fetchesPerRound: number[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        const tokens = ctx.tokens(sessions * 3).slice(round * sessions, (round + 1) * sessions);
        const before = hits;
        const statuses = await Promise.all(
          tokens.map(async (t) => {
            const res = await request(`${url}s/${t}/${BENCH_STREAM}/live.m3u8`, { dispatcher: agent });
            await res.body.dump();
            return res.statusCode;
          }),
        );
        if (statuses.some((s) => s !== 200)) throw new Error('origin-fetch bench: a session failed');
        fetchesPerRound.push(hits - before);
        if (round < 2) await new Promise((r) => setTimeout(r, ttlMs + 200));
      }
    } finally {
      await agent.close();
      await server.close();
      origin.close();
    }
    ctx.log(
      `origin fetches under ${sessions} concurrent sessions, per TTL window: ${fetchesPerRound.join(', ')}`,
    );
    return {
      json: { sessions, ttlMs, fetchesPerRound },
      markdown: `- Origin fetches per TTL window under ${sessions} concurrent sessions: ${fetchesPerRound.join(', ')}.\n`,
    };
  },
};
