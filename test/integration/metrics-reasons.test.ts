import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reasonKind } from '../../src/metrics';
import { get, startStack } from '../helpers/stack';

/**
 * `reason` labels hold a reason's kind, never a CDN id (a label per CDN id and reason would multiply
 * series, and dashboards group by kind). Built-in reasons start with their policy's name; a custom
 * policy's may start with anything, a CDN id included.
 */

const TOKEN = 'metrics-reasons-token-0123456789';

test('a reason that starts with a configured CDN id is kind "other"; others keep their first word', () => {
  const ids = new Set(['a', 'eu-1']);
  expect(reasonKind('a is cheapest', ids)).toBe('other');
  expect(reasonKind('eu-1: closest to the viewer', ids)).toBe('other');
  expect(reasonKind('weighted: rendezvous', ids)).toBe('weighted');
  expect(reasonKind('Cheapest: a', ids)).toBe('cheapest');
  expect(reasonKind('  ', ids)).toBe('other');
});

test("a custom policy's reasons that name the CDN first never put a CDN id in /metrics", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-reasons-'));
  const module = path.join(dir, 'cheapest.js');
  writeFileSync(
    module,
    `module.exports = ({ z, definePolicy }) => definePolicy({
       type: 'cheapest',
       options: z.strictObject({}),
       create: () => ({
         name: 'cheapest',
         select: (req) => {
           const cdn = (req.cdns.find((c) => c.healthy) || req.cdns[0]).id;
           return { cdn, reason: cdn + ' is cheapest' };
         },
       }),
     });`,
  );
  const stack = await startStack({
    streams: ['live'],
    extra: () => ({ policy: { module }, admin: { token: TOKEN }, metrics: { enabled: true } }),
  });
  try {
    const master = await get(`${stack.url}live/master.m3u8`);
    const variant = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, stack.url);
    const media = await get(variant.href);
    expect(media.status).toBe(200);
    const cdn = media.headers.get('x-switchyard-cdn') as string;
    expect(media.headers.get('x-switchyard-reason')).toBe(`${cdn} is cheapest`);
    const metrics = (await get(`${stack.url}metrics`, { headers: { authorization: `Bearer ${TOKEN}` } }))
      .body;
    expect(metrics).toMatch(
      new RegExp(`^switchyard_selections_total\\{cdn="${cdn}",reason="other"\\} 1$`, 'm'),
    );
    const reasons = [...metrics.matchAll(/reason="([^"]*)"/g)].map((m) => m[1]);
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(['a', 'b']).not.toContain(r);
  } finally {
    await stack.close();
  }
});
