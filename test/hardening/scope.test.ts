/**
 * Scope (issue 11): a session token opens only its own stream's documents, in that stream's mode, and
 * an origin redirect must stay under the stream's origin base path. Real Switchyard, real origins.
 */
import { get, startStack, type Stack } from '../helpers/stack';
import { startFaultOrigin, type FaultOrigin } from './fault-origin';

let stack: Stack;
let raw: FaultOrigin;

beforeAll(async () => {
  raw = await startFaultOrigin();
  stack = await startStack({
    streams: ['vod'],
    extra: ({ origin }) => ({
      streams: [
        { id: 'vod', origin: `${origin}vod/` },
        { id: 'redir', origin: `${origin}vod/`, mode: 'redirect' },
        { id: 'f', origin: `${raw.url}f/` },
      ],
    }),
  });
});

afterAll(async () => {
  await stack.close();
  await raw.close();
});

function tokenFor(stream: string): string {
  return stack.server.runtime.state.signer.mint(stream, Date.now()).token;
}

test('/s/<token>/seg/ answers a redirect-mode session with a 302 to its CDN', async () => {
  const res = await get(`${stack.url}s/${tokenFor('redir')}/seg/v0/seg_0.ts`);
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toMatch(/\/redir\/v0\/seg_0\.ts$/);
});

test.each([
  ['a rewrite-mode session', 'vod'],
  ['a redirect-mode session', 'redir'],
])(
  '%s asked by a steering client (its stream left steering mode) → 410 STEERING_WITHDRAWN',
  async (_name, stream) => {
    for (const q of ['_HLS_pathway=%22a%22', 'sy_listed=a,b&sy_last=a']) {
      const res = await get(`${stack.url}s/${tokenFor(stream)}/steering.json?${q}`);
      expect(res.status).toBe(410);
      expect(res.headers.get('location')).toBeNull();
      expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('STEERING_WITHDRAWN');
    }
  },
);

test.each([
  ['a rewrite-mode session, segment route', 'vod', 'seg/v0/seg_0.ts'],
  ['a rewrite-mode session, any path and query', 'vod', 'seg/admin/x?u=http://evil.example/'],
  ['a rewrite-mode session, steering manifest', 'vod', 'steering.json'],
  ['a redirect-mode session, steering manifest', 'redir', 'steering.json'],
])('%s → 404, never a redirect', async (_name, stream, rest) => {
  const res = await get(`${stack.url}s/${tokenFor(stream)}/${rest}`);
  expect(res.status).toBe(404);
  expect(res.headers.get('location')).toBeNull();
  expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
});

test('an origin redirect to the same host but outside the base path is refused and not followed', async () => {
  const res = await get(`${stack.url}f/outside.m3u8`);
  expect(res.status).toBe(502);
  const err = (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
  expect(err.code).toBe('ORIGIN_REDIRECT');
  expect(err.message).toMatch(/base path/);
  expect(raw.hits.get('/private/secret.m3u8')).toBeUndefined();
});
