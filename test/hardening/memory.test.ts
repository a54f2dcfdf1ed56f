/**
 * Memory is bounded in bytes whatever the requests look like (issue 11): throwaway query strings do
 * not multiply cache entries or origin fetches, only the LL-HLS directives and a stream's allowlist
 * reach the origin, and the manifest cache keeps to its byte budget. Real Switchyard, real origins.
 */
import { get, startStack, type Stack } from '../helpers/stack';
import { startFaultOrigin, type FaultOrigin } from './fault-origin';

let stack: Stack;
let raw: FaultOrigin;
const MAX_BYTES = 1024 * 1024;

beforeAll(async () => {
  raw = await startFaultOrigin();
  stack = await startStack({
    streams: ['vod'],
    extra: ({ origin }) => ({
      streams: [
        { id: 'vod', origin: `${origin}vod/` },
        { id: 'signed', origin: `${origin}vod/`, originQuery: ['token'] },
        { id: 'f', origin: `${raw.url}f/` },
      ],
      cache: { maxBytes: MAX_BYTES },
    }),
  });
});

afterAll(async () => {
  await stack.close();
  await raw.close();
});

function originQueries(path: string): string[] {
  return stack.origin.requests.filter((r) => r.path === path).map((r) => r.query);
}

test('400 distinct throwaway query strings on one playlist: one origin fetch, one cache entry', async () => {
  const entries = stack.server.runtime.cache.size;
  for (let i = 0; i < 400; i++) {
    const res = await get(`${stack.url}vod/v0/index.m3u8?cb=${i}&x${i}=${'y'.repeat(i % 50)}&CMCD=br%3D${i}`);
    expect(res.status).toBe(200);
  }
  expect(originQueries('/vod/v0/index.m3u8')).toEqual(['']);
  expect(stack.server.runtime.cache.size).toBe(entries + 1);
});

test("a stream's allowlisted parameter reaches the origin and the key; nothing else does", async () => {
  await get(`${stack.url}signed/v1/index.m3u8?junk=1&token=abc&more=2`);
  await get(`${stack.url}signed/v1/index.m3u8?token=abc&junk=3`);
  await get(`${stack.url}signed/v1/index.m3u8?token=def`);
  // A repeated parameter counts once (the first), so it cannot be used to split the key either.
  await get(`${stack.url}signed/v1/index.m3u8?token=def&token=zzz`);
  expect(originQueries('/vod/v1/index.m3u8')).toEqual(['token=abc', 'token=def']);
});

test('the manifest cache keeps to its byte budget (LRU by estimated size)', async () => {
  for (let i = 0; i < 60; i++) expect((await get(`${stack.url}f/many/${i}.m3u8`)).status).toBe(200);
  const cache = stack.server.runtime.cache;
  expect(cache.bytes).toBeGreaterThan(0);
  expect(cache.bytes).toBeLessThanOrEqual(MAX_BYTES);
  // 60 playlists of 300 segments do not fit in 1 MB: the oldest went.
  expect(cache.size).toBeLessThan(60);
  // An evicted playlist is fetched again when asked for, and served.
  expect((await get(`${stack.url}f/many/0.m3u8`)).status).toBe(200);
  expect(raw.hits.get('/f/many/0.m3u8')).toBe(2);
});
