import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpProber } from '../../src/health/monitor';

/** The reason a failed probe gives is what an operator reads in the verdict ("2 probes failed: …"). */
let silent: Server;
let url: string;

beforeAll(async () => {
  // Accepts connections and never answers.
  silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/health`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((r) => silent.close(r));
});

test('a probe the CDN does not answer in time says so, with the timeout', async () => {
  const result = await httpProber()(url, 100, 400);
  expect(result).toEqual({ ok: false, latencyMs: null, error: 'timeout after 100 ms' });
});

test('a refused connection gives the network error code', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const result = await httpProber()(`http://127.0.0.1:${port}/`, 1000, 400);
  expect(result).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
});
