import { Parser } from 'm3u8-parser';
import { get, restoreCdns, type Stack, startStack, waitFor } from '../helpers/stack';

/*
 * Redirect mode: a session asking again for a segment it was just redirected for is retrying a
 * redirect that failed (the CDN dropped it before any probe noticed). The retry, and the session's
 * next segments for a while, go to the next healthy CDN of the ranking; other sessions and other
 * byte ranges of the same file are not affected.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    extra: ({ origin }) => ({
      streams: [{ id: 'vod', origin: `${origin}vod/`, mode: 'redirect' }],
    }),
  });
});
afterAll(async () => {
  await stack.close();
});
afterEach(async () => {
  await restoreCdns(stack);
});

/** A new session's segment URLs (on Switchyard). */
async function sessionSegments(): Promise<string[]> {
  const parse = (text: string) => {
    const p = new Parser();
    p.push(text);
    p.end();
    return p.manifest;
  };
  const master = await get(`${stack.url}vod/master.m3u8`);
  const variant = new URL(parse(master.body).playlists?.[0]?.uri as string, stack.url).href;
  const media = await get(variant);
  return parse(media.body).segments.map((s) => new URL(s.uri, variant).href);
}

const cdnOf = async (url: string, headers: Record<string, string> = {}) => {
  const res = await get(url, { headers });
  expect(res.status).toBe(302);
  return {
    cdn: res.headers.get('x-switchyard-cdn') as string,
    reason: res.headers.get('x-switchyard-reason') ?? '',
    location: res.headers.get('location') as string,
  };
};

test('a retry goes to the next CDN, and so do the session’s next segments; other sessions do not move', async () => {
  const [s0, s1] = await sessionSegments();
  const first = await cdnOf(s0 as string);
  const retry = await cdnOf(s0 as string);
  expect(retry.cdn).not.toBe(first.cdn);
  expect(retry.reason).toMatch(/^retry \d+ ms after a redirect to /);
  // The new location serves the segment.
  expect((await fetch(retry.location)).status).toBe(200);
  // The session's next segment avoids the CDN its retry showed failing.
  const next = await cdnOf(s1 as string);
  expect(next.cdn).toBe(retry.cdn);

  // Another session is not affected by this one's retries.
  const [o0] = await sessionSegments();
  expect((await cdnOf(o0 as string)).reason).not.toMatch(/retry/);
});

test('byte ranges of one file are separate requests, not retries of each other', async () => {
  const [s0] = await sessionSegments();
  const a = await cdnOf(s0 as string, { range: 'bytes=0-187' });
  const b = await cdnOf(s0 as string, { range: 'bytes=188-375' });
  expect(b.cdn).toBe(a.cdn);
  expect(b.reason).not.toMatch(/retry/);
  // The same range again is a retry.
  const again = await cdnOf(s0 as string, { range: 'bytes=188-375' });
  expect(again.cdn).not.toBe(a.cdn);
});

test('with no other healthy CDN a retry stays where it is', async () => {
  const [s0] = await sessionSegments();
  const first = await cdnOf(s0 as string);
  const other = stack.cdns.find((c) => c.id !== first.cdn)?.id as string;
  stack.cdn(other).setMode({ kind: 'down' });
  await waitFor(() => stack.server.runtime.monitor.health(other)?.healthy === false, 3000);
  const retry = await cdnOf(s0 as string);
  expect(retry.cdn).toBe(first.cdn);
});
