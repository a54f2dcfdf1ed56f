/**
 * Beyond its heap budget Switchyard sheds new manifest work with 503 OVERLOADED + Retry-After instead
 * of growing until V8 aborts the process (issue 11). The budget is lowered below what the process
 * already uses (measured with process.memoryUsage()), so the shedding is certain, then raised again by
 * a reload. Viewers already playing keep their cached playlists meanwhile.
 */
import { validateConfig } from '../../src/configure';
import { get, startStack, type Stack } from '../helpers/stack';
import { metricValue } from './support';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ streams: ['vod'] });
});

afterAll(async () => {
  await stack.close();
});

function withBudget(heapBudget: number | undefined) {
  return validateConfig({ ...stack.config, limits: { ...stack.config.limits, heapBudget } }, { env: {} });
}

test('over the budget: new sessions and origin work get 503 OVERLOADED with Retry-After; playing viewers do not', async () => {
  // A session that is playing: its master and media playlist are cached.
  const master = await get(`${stack.url}vod/master.m3u8`);
  expect(master.status).toBe(200);
  const variants = master.body.split('\n').filter((l) => l.startsWith('/s/'));
  expect(variants.length).toBeGreaterThan(1);
  const playing = new URL(variants[0] as string, stack.url).href;
  expect((await get(playing)).status).toBe(200);

  const budget = Math.floor(process.memoryUsage().heapUsed / 4);
  stack.server.runtime.reload(withBudget(budget));
  expect(stack.server.runtime.heap.over()).toBe(true);

  const fresh = await get(`${stack.url}vod/master.m3u8`);
  expect(fresh.status).toBe(503);
  expect(fresh.headers.get('retry-after')).toBe('2');
  expect(JSON.parse(fresh.body)).toMatchObject({ error: { code: 'OVERLOADED' } });
  // A playlist not cached yet needs the origin: shed too, and the origin is not asked.
  const originBefore = stack.origin.requests.length;
  const uncached = new URL(variants[1] as string, stack.url).href;
  expect((await get(uncached)).status).toBe(503);
  expect(stack.origin.requests.length).toBe(originBefore);
  // The viewer already playing is served from the cache.
  expect((await get(playing)).status).toBe(200);
  // Health checks answer.
  expect((await get(`${stack.url}healthz`)).status).toBe(200);
  const metrics = await stack.server.runtime.metrics.registry.metrics();
  expect(metricValue(metrics, 'switchyard_shed_total', { route: 'manifest' })).toBe(2);

  // Room again (the default budget): served.
  stack.server.runtime.reload(withBudget(undefined));
  expect((await get(`${stack.url}vod/master.m3u8`)).status).toBe(200);
  expect((await get(uncached)).status).toBe(200);
});

test('the default budget is 85% of V8 heap limit, far above what this process uses', () => {
  expect(stack.server.runtime.heap.over()).toBe(false);
});
