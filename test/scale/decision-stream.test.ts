/**
 * The decision log as a Redis stream (state.backend: redis), against a real redis-server: records
 * arrive as XADD entries capped by MAXLEN ~, read back by `switchyard decisions --redis`; while Redis
 * is down batches are dropped and counted, and writing resumes when it is back.
 */
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { decisionsCommand } from '../../src/decisions/cli';
import { DecisionLog } from '../../src/decisions/log';
import { RedisSink } from '../../src/decisions/redis-sink';
import { rec } from '../decisions/helpers';
import { get, startStack, type Stack } from '../helpers/stack';
import { startRedis, type TestRedis } from './fleet';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

test('a real Switchyard writes its decisions to the stream, and the summary reads them back', async () => {
  const stack: Stack = await startStack({
    streams: ['live'],
    extra: () => ({
      state: { backend: 'redis', url: redis.url, keyPrefix: 'dstest:' },
      decisions: { sample: 1, flushInterval: 50, redis: { stream: 'decisions', maxLen: 1000 } },
    }),
  });
  try {
    const master = await get(`${stack.url}live/master.m3u8`);
    const media = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, stack.url).href;
    for (let i = 0; i < 3; i++) expect((await get(media)).status).toBe(200);
    await stack.server.runtime.decisions.flush();
    const client = new Redis(redis.url);
    const len = await client.xlen('dstest:decisions');
    client.disconnect();
    expect(len).toBe(4);
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    expect(await decisionsCommand(['--redis', redis.url, '--key', 'dstest:decisions', '--json'], out)).toBe(
      0,
    );
    expect(JSON.parse(text)).toMatchObject({ records: 4, sessions: 1, unreadableCount: 0 });
  } finally {
    await stack.close();
  }
});

test('MAXLEN bounds the stream; an outage drops batches (counted) and writing resumes', async () => {
  const sink = new RedisSink({
    url: redis.url,
    cluster: false,
    key: 'cap:decisions',
    maxLen: 100,
    commandTimeout: 500,
    connectTimeout: 500,
  });
  const results: boolean[] = [];
  const log = new DecisionLog(
    { sample: 1, recent: 0, flushIntervalMs: 60_000, onBatch: (_s, ok) => results.push(ok) },
    [sink],
  );
  for (let i = 0; i < 200 && !sink.ready; i++) await new Promise((r) => setTimeout(r, 25));
  expect(sink.ready).toBe(true);
  for (let batch = 0; batch < 10; batch++) {
    for (let i = 0; i < 100; i++) log.record(rec({ t: batch * 1000 + i, session: `s${i}` }));
    await log.flush();
  }
  const client = new Redis(redis.url);
  expect(results).toEqual(new Array(10).fill(true));
  expect(log.dropped).toBe(0);
  // "~" trims by whole radix-tree nodes: at least the bound, near it, never the 1000 written.
  const len = await client.xlen('cap:decisions');
  expect(len).toBeGreaterThanOrEqual(100);
  expect(len).toBeLessThan(300);
  await redis.stop();
  log.record(rec({ t: 20_000 }));
  await log.flush();
  expect(results.at(-1)).toBe(false);
  expect(log.dropped).toBe(1);
  await redis.start();
  // The sink reconnects by itself; the first flush after that succeeds.
  let ok = false;
  for (let i = 0; i < 100 && !ok; i++) {
    log.record(rec({ t: 30_000 + i }));
    await log.flush();
    ok = results.at(-1) === true;
    if (!ok) await new Promise((r) => setTimeout(r, 100));
  }
  expect(ok).toBe(true);
  client.disconnect();
  await log.close();
});
