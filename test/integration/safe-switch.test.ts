import { validateConfig } from '../../src/configure';
import { get, startStack, type Stack } from '../helpers/stack';

/**
 * A live session is moved to another CDN only once that CDN serves the playlist's newest segment
 * (a cached HEAD check); otherwise it stays and the reason says why. A CDN that fails is left at once.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    cdnIds: ['a', 'b', 'c'],
    streams: ['live'],
    extra: ({ cdns }) => ({
      cdns: cdns.map((c) => ({
        id: c.id,
        baseUrl: c.url,
        // b is healthy but holds nothing where Switchyard would send players.
        ...(c.id === 'b' ? { pathTemplate: 'not-here/{path}' } : {}),
      })),
      policy: { type: 'failover', order: ['a', 'b', 'c'] },
    }),
  });
});
afterAll(async () => {
  await stack.close();
});

function usePolicyOrder(order: string[]): void {
  const raw = JSON.parse(JSON.stringify(stack.config)) as Record<string, unknown>;
  stack.server.runtime.reload(validateConfig({ ...raw, policy: { type: 'failover', order } }, { env: {} }));
}

test('a move to a CDN without the newest segment is refused; a move to one with it happens', async () => {
  const master = await get(`${stack.url}live/master.m3u8`);
  const media = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, stack.url).href;
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');

  usePolicyOrder(['b', 'a', 'c']);
  const stayed = await get(media);
  expect(stayed.status).toBe(200);
  expect(stayed.headers.get('x-switchyard-cdn')).toBe('a');
  expect(stayed.headers.get('x-switchyard-reason')).toMatch(
    /^stayed on a: b does not serve the newest segment/,
  );
  expect(stayed.body).toContain(`${stack.cdn('a').url}live/`);
  expect(stack.server.runtime.recentSwitches).toHaveLength(0);

  usePolicyOrder(['c', 'a', 'b']);
  const moved = await get(media);
  expect(moved.headers.get('x-switchyard-cdn')).toBe('c');
  // Segments already listed keep their URI on a (RFC 8216 6.2.1); the first segment listed after
  // the move is the first on c. Reload until one appears (the fixture lists one per second).
  const listed = (body: string): string[] => body.split('\n').filter((l) => l.startsWith('http'));
  let later = moved;
  for (let i = 0; i < 100 && !later.body.includes(`${stack.cdn('c').url}live/`); i++) {
    await new Promise((r) => setTimeout(r, 100));
    later = await get(media);
  }
  expect(later.body).toContain(`${stack.cdn('c').url}live/`);
  const before = new Set(listed(stayed.body));
  for (const uri of listed(later.body).filter((u) =>
    before.has(u.replace(stack.cdn('c').url, stack.cdn('a').url)),
  ))
    expect(uri.startsWith(stack.cdn('a').url)).toBe(true);
  const switches = stack.server.runtime.recentSwitches;
  expect(switches.at(-1)).toMatchObject({ stream: 'live', from: 'a', to: 'c' });
  // c was checked with a HEAD of the playlist's newest segment.
  expect(
    stack.cdn('c').requests.some((r) => r.method === 'HEAD' && /\/live\/v\d\/seg_\d+\.ts$/.test(r.path)),
  ).toBe(true);
});
