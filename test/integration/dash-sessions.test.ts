import { get, startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ streams: ['dash', 'dash-live'] });
});
afterAll(async () => {
  await stack.close();
});

test('every DASH MPD opened is its own session (players behind one address still spread over CDNs)', async () => {
  const seen = new Map<string, number>();
  const sessions = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const res = await get(`${stack.url}dash/manifest.mpd`);
    expect(res.status).toBe(200);
    sessions.add(res.headers.get('x-switchyard-session') as string);
    const cdn = res.headers.get('x-switchyard-cdn') as string;
    seen.set(cdn, (seen.get(cdn) ?? 0) + 1);
  }
  expect(sessions.size).toBe(30);
  expect(seen.get('a')).toBeGreaterThan(3);
  expect(seen.get('b')).toBeGreaterThan(3);
});

test('a dynamic MPD carries its session in Location, and refreshes through it keep the CDN', async () => {
  const first = await get(`${stack.url}dash-live/manifest.mpd`);
  expect(first.status).toBe(200);
  const location = /<Location>([^<]+)<\/Location>/.exec(first.body)?.[1] as string;
  expect(location).toMatch(/\/s\/[^/]+\/dash-live\/manifest\.mpd$/);
  const cdn = first.headers.get('x-switchyard-cdn');
  for (let i = 0; i < 3; i++) {
    const again = await get(new URL(location, stack.url).href);
    expect(again.headers.get('x-switchyard-session')).toBe(first.headers.get('x-switchyard-session'));
    expect(again.headers.get('x-switchyard-cdn')).toBe(cdn);
  }
});
