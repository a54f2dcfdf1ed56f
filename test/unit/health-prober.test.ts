import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { lagTolerantDeadline } from '../../src/health/deadline';
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

test('a probe answered while this process was stalled is not a timeout (an overloaded instance keeps its CDNs)', async () => {
  // The CDN is another process: it answers while this one is busy.
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n') })",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<number>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    const probe = httpProber();
    const cdn = `http://127.0.0.1:${port}/health`;
    expect((await probe(cdn, 300, 400)).ok).toBe(true);
    const pending = probe(cdn, 300, 400);
    // This process's event loop stands still for longer than the whole timeout.
    const until = performance.now() + 450;
    while (performance.now() < until) {
      /* busy */
    }
    const result = await pending;
    expect(result).toMatchObject({ ok: true });
  } finally {
    child.kill();
  }
});

describe('lagTolerantDeadline', () => {
  it('expires once its budget is spent on a free event loop, and not after cancel', async () => {
    const expired: string[] = [];
    lagTolerantDeadline(30, () => expired.push('a'), { tickMs: 10 });
    lagTolerantDeadline(30, () => expired.push('b'), { tickMs: 10 }).cancel();
    await new Promise((r) => setTimeout(r, 200));
    expect(expired).toEqual(['a']);
  });

  it('counts a late tick as one tick, up to the stretch limit in wall-clock time', async () => {
    // A clock on which every reading is 100 ms after the last: each tick comes 90 ms late.
    let t = 0;
    const now = () => (t += 100);
    const run = (maxStretch: number) =>
      new Promise<number>((resolve) => {
        t = 0;
        lagTolerantDeadline(50, () => resolve(t), { tickMs: 10, maxStretch, now });
      });
    // 50 ms of budget in 10 ms ticks: five late ticks, 500 ms of wall clock after the start (at 100).
    expect(await run(100)).toBe(600);
    // Stretched at most twice the timeout: over at the first tick, 100 ms after the start.
    expect(await run(2)).toBe(200);
  });
});
