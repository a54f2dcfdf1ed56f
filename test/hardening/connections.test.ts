/**
 * Clients that do not behave like players cannot make Switchyard hold their sockets or their answers
 * (issue 11): a connection that pipelines too many requests, leaves too much output unread, or stops
 * reading is closed and counted by reason; slow headers and idle keep-alive sockets are closed at the
 * configured bounds (not up to 30 s later, when Node's connection check would have got to them).
 * Raw TCP clients against a real Switchyard on 127.0.0.1. Bounds are asserted from below (never
 * closed before the configured time) and by what happened, not by how fast.
 */
import { connect, type Socket } from 'node:net';
import { get, startStack, waitFor, type Stack } from '../helpers/stack';
import { longPlaylist } from './hostile-manifests';
import { startHostileOrigin, type HostileOrigin } from './hostile-origin';
import { metricValue } from './support';

let stack: Stack;
let origin: HostileOrigin;
const HEADERS_TIMEOUT = 400;
const KEEP_ALIVE = 500;
const IDLE = 600;
const MAX_UNREAD = 1024 * 1024;

beforeAll(async () => {
  // 200,000 segments: a rewritten answer of about 11 MB, more than the kernel's socket buffers hold
  // for a client that does not read (a few MB on loopback).
  origin = await startHostileOrigin({ 'big.m3u8': longPlaylist(200_000), 'small.m3u8': longPlaylist(20) });
  stack = await startStack({
    streams: [],
    extra: () => ({
      streams: [{ id: 'h', origin: `${origin.url}h/` }],
      origin: { maxBodyBytes: 32 * 1024 * 1024 },
      cache: { vodTtl: '10m' },
      limits: {
        maxPipelined: 8,
        maxUnreadBytes: MAX_UNREAD,
        headersTimeout: HEADERS_TIMEOUT,
        requestTimeout: 60_000,
        keepAliveTimeout: KEEP_ALIVE,
        idleTimeout: IDLE,
        manifest: { maxSegments: 300_000, maxLines: 1_000_000 },
      },
    }),
  });
  // Warm the cache: every answer below is a synchronous cache hit.
  expect((await get(`${stack.url}h/doc/big.m3u8`)).status).toBe(200);
  expect((await get(`${stack.url}h/doc/small.m3u8`)).status).toBe(200);
});

afterAll(async () => {
  await stack.close();
  await origin.close();
});

interface RawClient {
  readonly socket: Socket;
  /** Resolves with the time (ms since the connection opened) at which the server closed it. */
  readonly closed: Promise<number>;
}

function rawClient(read: boolean): Promise<RawClient> {
  const u = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const opened = performance.now();
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - opened)));
    socket.on('error', () => undefined);
    if (read) socket.on('data', () => undefined);
    else socket.pause();
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: switchyard\r\nUser-Agent: raw\r\n\r\n`;
const cuts = () => stack.server.runtime.metrics.cutCounts;

async function manifestAnswers(): Promise<number> {
  return metricValue(await stack.server.runtime.metrics.registry.metrics(), 'switchyard_requests_total', {
    route: 'manifest',
  });
}

test('200 pipelined requests on one connection that never reads: cut after maxPipelined, not answered 200 times', async () => {
  const before = await manifestAnswers();
  const pipelined = cuts().pipelining;
  const client = await rawClient(false);
  client.socket.write(request('/h/doc/small.m3u8').repeat(200));
  await waitFor(() => cuts().pipelining > pipelined, 10_000);
  // Read what came (a paused socket never sees the server's close), then the close.
  client.socket.resume();
  await client.closed;
  expect(cuts().pipelining).toBe(pipelined + 1);
  // At most the requests admitted before the cut were answered (none once it was cut).
  expect((await manifestAnswers()) - before).toBeLessThanOrEqual(8);
  // The server is fine and the next client is served.
  expect((await get(`${stack.url}h/doc/small.m3u8`)).status).toBe(200);
});

test('requests pipelined behind an answer nobody reads: cut once maxUnreadBytes are waiting', async () => {
  // Node stops reading a connection whose output backs up, but only between chunks: every request in
  // one chunk used to be answered into memory (hundreds of them: ~0.9 GB).
  const unread = cuts().unread;
  const before = await manifestAnswers();
  const client = await rawClient(false);
  client.socket.write(request('/h/doc/big.m3u8').repeat(6));
  await waitFor(() => cuts().unread > unread, 20_000);
  client.socket.resume();
  await client.closed;
  expect(cuts().unread).toBe(unread + 1);
  // The first answer alone may exceed the bound (it is one answer); the next request is the cut.
  expect((await manifestAnswers()) - before).toBe(1);
});

test('a client that stops reading mid-answer: closed after idleTimeout without progress', async () => {
  const idle = cuts().idle;
  const client = await rawClient(false);
  const sentAt = performance.now();
  client.socket.write(request('/h/doc/big.m3u8'));
  await waitFor(() => cuts().idle > idle, 20_000);
  const cutAfter = performance.now() - sentAt;
  client.socket.resume();
  await client.closed;
  expect(cuts().idle).toBe(idle + 1);
  expect(cutAfter).toBeGreaterThanOrEqual(IDLE - 50);
});

test('slow request headers (a slowloris client): closed at headersTimeout, while it is still sending', async () => {
  const client = await rawClient(true);
  client.socket.write('GET /healthz HTTP/1.1\r\nHost: switchyard\r\n');
  let stillOpen = true;
  void client.closed.then(() => (stillOpen = false));
  // One header line every 50 ms, for at most 10 s (Node's default check would have waited 30 s).
  for (let i = 0; i < 200 && stillOpen; i++) {
    client.socket.write(`X-Slow-${i}: 1\r\n`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(stillOpen).toBe(false);
  expect(await client.closed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT - 50);
});

test('a connection that sends nothing is closed too', async () => {
  const client = await rawClient(true);
  expect(await client.closed).toBeGreaterThanOrEqual(Math.min(HEADERS_TIMEOUT, IDLE) - 50);
});

test('an idle keep-alive connection is closed after keepAliveTimeout, not before', async () => {
  const idleBefore = cuts().idle;
  const client = await rawClient(true);
  let answeredAt = 0;
  client.socket.on('data', () => (answeredAt = performance.now()));
  const opened = performance.now();
  client.socket.write(request('/healthz'));
  const closedAt = await client.closed;
  expect(answeredAt).toBeGreaterThan(0);
  expect(opened + closedAt - answeredAt).toBeGreaterThanOrEqual(KEEP_ALIVE - 50);
  // A plain keep-alive expiry is not a cut.
  expect(cuts().idle).toBe(idleBefore);
});

test('the limits are in the config schema with their defaults', () => {
  expect(stack.config.limits).toMatchObject({
    maxPipelined: 8,
    maxUnreadBytes: MAX_UNREAD,
    headersTimeout: HEADERS_TIMEOUT,
    keepAliveTimeout: KEEP_ALIVE,
    idleTimeout: IDLE,
  });
});
