/**
 * Origin fetches that end badly never wedge a playlist (issue 11): every content encoding × every way
 * a body can go wrong half-way, against a real Switchyard and a real origin socket (no mocks of undici
 * or zlib). Each fetch settles with a typed error by its deadline, a stale copy is served when there
 * is one, the next request asks the origin again, and the origin's single concurrency slot comes back
 * (maxConcurrent is 1 here, so a leaked slot would starve every later fetch).
 */
import { get, startStack, type Stack } from '../helpers/stack';
import { BODY_FAULTS, ENCODINGS, startFaultOrigin, type FaultOrigin } from './fault-origin';

let stack: Stack;
let raw: FaultOrigin;
const VOD_TTL_MS = 300;

beforeAll(async () => {
  raw = await startFaultOrigin();
  stack = await startStack({
    extra: () => ({
      streams: [{ id: 'f', origin: `${raw.url}f/` }],
      origin: {
        connectTimeout: 300,
        headersTimeout: 400,
        bodyTimeout: 400,
        maxBodyBytes: 1024 * 1024,
        maxConcurrent: 1,
      },
      cache: { vodTtl: VOD_TTL_MS, maxStale: '60s', errorRetry: 50 },
    }),
  });
});

afterAll(async () => {
  await stack.close();
  await raw.close();
});

const EXPECTED: Record<(typeof BODY_FAULTS)[number], { status: number; code: string }> = {
  cut: { status: 502, code: 'ORIGIN_UNREACHABLE' },
  stall: { status: 504, code: 'ORIGIN_TIMEOUT' },
  garbage: { status: 502, code: 'ORIGIN_BAD_ENCODING' },
  short: { status: 502, code: 'ORIGIN_BAD_ENCODING' },
};

// A plain body that simply ends early is a (truncated) playlist, not a fault: see faults.test.ts.
const CASES = ENCODINGS.flatMap((encoding) =>
  BODY_FAULTS.filter((fault) => !(encoding === 'identity' && fault === 'short')).map((fault) => ({
    encoding,
    fault,
    ...EXPECTED[fault],
  })),
);

describe.each(CASES)('$encoding body, $fault mid-body', ({ encoding, fault, status, code }) => {
  test(`no copy: ${status} ${code}, then the next request refetches and is served`, async () => {
    const path = `/f/enc/${encoding}/${fault}/a.m3u8`;
    const res = await get(`${stack.url}f/enc/${encoding}/${fault}/a.m3u8`);
    expect({
      status: res.status,
      code: (JSON.parse(res.body) as { error: { code: string } }).error.code,
    }).toEqual({ status, code });
    // The origin recovers: the very next request asks it again (nothing wedged, no slot leaked).
    raw.healed.add(path);
    const next = await get(`${stack.url}f/enc/${encoding}/${fault}/a.m3u8`);
    expect(next.status).toBe(200);
    expect(next.body).toContain('segment_299_');
    expect(raw.hits.get(path)).toBe(2);
  });

  test('a cached copy: the stale copy is served while the origin fails, then the fresh one', async () => {
    const path = `/f/enc/${encoding}/${fault}/b.m3u8`;
    const url = `${stack.url}f/enc/${encoding}/${fault}/b.m3u8`;
    raw.healed.add(path);
    const first = await get(url);
    expect(first.status).toBe(200);
    raw.healed.delete(path);
    await new Promise((r) => setTimeout(r, VOD_TTL_MS + 50));
    const stale = await get(url);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('warning')).toBe('110 switchyard "Response is Stale"');
    expect(stale.body).toContain('segment_299_');
    const faulted = raw.hits.get(path) ?? 0;
    expect(faulted).toBe(2);
    raw.healed.add(path);
    // Past errorRetry the next request goes to the origin again and gets the fresh copy.
    await new Promise((r) => setTimeout(r, 60));
    const fresh = await get(url);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('warning')).toBeNull();
    expect(raw.hits.get(path)).toBe(3);
  });
});

test('after every fault the process still answers its health check and other streams', async () => {
  expect((await get(`${stack.url}healthz`)).status).toBe(200);
  expect((await get(`${stack.url}f/ok.m3u8`)).status).toBe(200);
});
