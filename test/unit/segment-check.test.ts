import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SegmentAvailability } from '../../src/health/segment-check';

/** A CDN whose HEAD answers are held until the test releases them. */
test('wait() settles with the HEAD answer as soon as it arrives, and says pending after its timeout', async () => {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/missing.ts') res.writeHead(404).end();
    else held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const checks = new SegmentAvailability({ timeoutMs: 60_000 });
  try {
    expect(checks.check(`${base}/seg.ts`)).toBe('pending');
    // Held longer than the wait: the waiter gets 'pending' and the check goes on.
    expect(await checks.wait(`${base}/seg.ts`, 1)).toBe('pending');
    const waiting = checks.wait(`${base}/seg.ts`, 60_000);
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    held[0]?.writeHead(200).end();
    expect(await waiting).toBe('available');
    expect(checks.check(`${base}/seg.ts`)).toBe('available');
    expect(await checks.wait(`${base}/missing.ts`, 60_000)).toBe('missing');
  } finally {
    for (const res of held) res.destroy();
    await checks.close();
    await new Promise((r) => server.close(r));
  }
});
