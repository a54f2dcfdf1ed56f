import { capturingLogger } from '../hardening/support';
import { get, startStack } from '../helpers/stack';

/**
 * Access logs (log.access): one line per player request with session, stream, CDN, status, bytes and
 * ms; off by default. And the health log's levels: a CDN failing is a warning, its recovery info.
 */

test('log.access: one line per manifest request with session, stream, CDN, status, bytes, ms', async () => {
  const logs = capturingLogger();
  const stack = await startStack({
    streams: ['live'],
    logger: logs.logger,
    extra: () => ({ log: { level: 'info', access: true } }),
  });
  try {
    const master = await get(`${stack.url}live/master.m3u8`);
    const variant = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, stack.url);
    const media = await get(variant.href);
    const forged = await get(`${stack.url}s/not-a-token/live/v0/index.m3u8`);
    expect(forged.status).toBe(403);
    const access = logs.entries().filter((l) => l.event === 'access');
    expect(access).toHaveLength(3);
    const session = media.headers.get('x-switchyard-session');
    expect(access[0]).toMatchObject({
      level: 30,
      route: 'manifest',
      method: 'GET',
      stream: 'live',
      path: 'master.m3u8',
      status: 200,
      session,
    });
    // The path below the session, never the token.
    expect(access[1]?.path).toBe(variant.pathname.split('/live/')[1]);
    expect(JSON.stringify(access)).not.toContain(variant.pathname.split('/')[2] as string);
    expect(access[0]?.bytes).toBe(Buffer.byteLength(master.body));
    expect(access[1]).toMatchObject({
      route: 'manifest',
      stream: 'live',
      status: 200,
      session,
      cdn: media.headers.get('x-switchyard-cdn'),
      bytes: Buffer.byteLength(media.body),
    });
    expect(typeof access[1]?.ms).toBe('number');
    expect(access[1]?.ms as number).toBeGreaterThanOrEqual(0);
    expect(access[2]).toMatchObject({ route: 'manifest', stream: 'live', status: 403 });
    expect(access[2]?.bytes as number).toBeGreaterThan(0);
  } finally {
    await stack.close();
  }
});

test('without log.access nothing is logged per request', async () => {
  const logs = capturingLogger('trace');
  const stack = await startStack({ streams: ['live'], logger: logs.logger });
  try {
    expect((await get(`${stack.url}live/master.m3u8`)).status).toBe(200);
    expect(logs.entries().filter((l) => l.event === 'access')).toEqual([]);
  } finally {
    await stack.close();
  }
});

test('a CDN failing is logged at warn, its recovery at info', async () => {
  const logs = capturingLogger();
  const stack = await startStack({ streams: ['live'], logger: logs.logger });
  try {
    stack.cdn('a').setMode({ kind: 'down' });
    await stack.server.runtime.monitor.probeAll();
    stack.cdn('a').setMode({ kind: 'up' });
    await stack.server.runtime.monitor.probeAll();
    const health = logs.entries().filter((l) => l.event === 'cdn_health' && l.cdn === 'a');
    expect(health.map((l) => [l.healthy, l.level])).toEqual([
      [false, 40],
      [true, 30],
    ]);
    expect(health[0]?.msg).toBe('CDN unhealthy');
    expect(health[1]?.msg).toBe('CDN healthy again');
  } finally {
    await stack.close();
  }
});
