import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack } from './stack';

test('a stack that cannot listen (its port taken) rejects and leaves none of its fixture servers open', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;
  const started: string[] = [];
  try {
    await expect(
      startStack({
        streams: ['vod'],
        extra: ({ origin, cdns }) => {
          started.push(origin, ...cdns.map((c) => c.url));
          return { listen: { host: '127.0.0.1', port } };
        },
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
  expect(started).toHaveLength(3);
  // Origin and both CDNs are closed: nothing answers where they listened.
  for (const url of started) await expect(fetch(url)).rejects.toThrow();
});
