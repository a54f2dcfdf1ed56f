/**
 * LL-HLS delivery directives to the letter (issue 13 §3; draft-pantos-hls-rfc8216bis §6.2.5, Apple's
 * LL-HLS), through a real Switchyard, against the fixture origin (its LL-HLS simulator and static
 * VOD, whose request logs count what reached the origin) and a small origin of this file's own that
 * answers each directive recognisably:
 *
 * - directives on a playlist with EXT-X-ENDLIST are ignored: the whole playlist at once, never held,
 *   never a 400 for an msn past its end, and never an origin request (or cache entry) of their own;
 * - identical blocking reloads from many viewers are ONE origin request, also for viewers that ask
 *   after it was answered;
 * - a delta update (`_HLS_skip=YES`, `_HLS_skip=v2`) and the full playlist are cached apart: no
 *   full-playlist request is ever answered with a delta, nor one kind of delta with the other;
 * - EXT-X-SERVER-CONTROL is the same in every media playlist of one master, as served in every mode,
 *   with PART-HOLD-BACK raised to the stream's floor (partHoldBack: auto raises it where players fall
 *   back inside the player: failover: manifest, steering).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { get, playlistUris, startStack, type Stack } from '../helpers/stack';

// ---------------------------------------------------------------------------------------------------
// The directive origin: /e/ (ended), /k/ (delta updates), /m/ (an LL-HLS master with renditions).

const SERVER_CONTROL =
  '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,CAN-SKIP-DATERANGES=YES,PART-HOLD-BACK=0.6';

/** An LL-HLS event that has ended: EXT-X-ENDLIST after its last segment, still with LL-HLS tags. */
const ENDED =
  '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n' +
  `${SERVER_CONTROL}\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:100\n` +
  '#EXTINF:1.0,\ns100.mp4\n#EXTINF:1.0,\ns101.mp4\n#EXTINF:1.0,\ns102.mp4\n#EXT-X-ENDLIST\n';

const SEGMENTS = Array.from({ length: 12 }, (_, i) => `#EXTINF:1.0,\nk${200 + i}.mp4\n`);
const DATERANGE_OLD = '#EXT-X-DATERANGE:ID="old",START-DATE="2026-12-01T10:00:00Z",DURATION=1.0\n';
const DATERANGE_NEW = '#EXT-X-DATERANGE:ID="new",START-DATE="2026-12-01T10:00:10Z",DURATION=1.0\n';
const K_HEAD =
  '#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n' +
  `${SERVER_CONTROL}\n#EXT-X-MEDIA-SEQUENCE:200\n#EXT-X-PROGRAM-DATE-TIME:2026-12-01T10:00:00Z\n`;
/** The three answers of /k/: the full playlist, a delta update (YES), one that skips DATERANGEs too (v2). */
const K_FULL = K_HEAD + DATERANGE_OLD + DATERANGE_NEW + SEGMENTS.join('');
const K_YES =
  K_HEAD + '#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n' + DATERANGE_OLD + DATERANGE_NEW + SEGMENTS.slice(6).join('');
const K_V2 =
  K_HEAD +
  '#EXT-X-SKIP:SKIPPED-SEGMENTS=6,RECENTLY-REMOVED-DATERANGES=""\n' +
  DATERANGE_NEW +
  SEGMENTS.slice(6).join('');

const llMedia = (name: string): string =>
  '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n' +
  `${SERVER_CONTROL}\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:50\n` +
  `#EXTINF:1.0,\n${name}50.mp4\n#EXTINF:1.0,\n${name}51.mp4\n` +
  `#EXT-X-PART:DURATION=0.2,URI="${name}52.0.mp4",INDEPENDENT=YES\n` +
  `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${name}52.1.mp4"\n`;
const M_MASTER =
  '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",LANGUAGE="en",DEFAULT=YES,URI="a-en.m3u8"\n' +
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="fr",LANGUAGE="fr",URI="a-fr.m3u8"\n' +
  '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"\nv0.m3u8\n' +
  '#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"\nv1.m3u8\n';

interface DirectiveOrigin {
  url: string;
  /** Requests per path + '?' + query, as they arrived. */
  hits: Map<string, number>;
  /** Paths (under /k/) answering 500 from now on. */
  failing: Set<string>;
  close(): Promise<void>;
}

async function startDirectiveOrigin(): Promise<DirectiveOrigin> {
  const hits = new Map<string, number>();
  const failing = new Set<string>();
  const held = new Set<ServerResponse>();
  const send = (res: ServerResponse, body: string, cache = 'max-age=1'): void => {
    res.writeHead(200, {
      'content-type': 'application/vnd.apple.mpegurl',
      'content-length': Buffer.byteLength(body),
      'cache-control': cache,
    });
    res.end(body);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    hits.set(`${path}?${query}`, (hits.get(`${path}?${query}`) ?? 0) + 1);
    const params = new URLSearchParams(query);
    if (path.startsWith('/e/')) {
      // An origin whose live edge has stopped: a directive request waits for a part that never comes.
      if (query.includes('_HLS_')) return void held.add(res);
      return send(res, ENDED, 'max-age=60');
    }
    if (path.startsWith('/k/')) {
      if (failing.has(path)) {
        res.writeHead(500);
        return void res.end();
      }
      const skip = params.get('_HLS_skip');
      const body = skip === 'YES' ? K_YES : skip === 'v2' ? K_V2 : K_FULL;
      // Slow enough that fills for the three keys overlap.
      return void setTimeout(() => send(res, body), 40);
    }
    if (path === '/m/master.m3u8') return send(res, M_MASTER, 'max-age=60');
    const m = /^\/m\/([\w-]+)\.m3u8$/.exec(path);
    if (m?.[1] !== undefined) return send(res, llMedia(m[1]), 'no-cache');
    res.writeHead(404);
    res.end();
  };
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    hits,
    failing,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of held) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------

const MODES = [
  { suffix: 'rewrite', mode: 'rewrite' },
  { suffix: 'fo', mode: 'rewrite', failover: 'manifest' },
  { suffix: 'redirect', mode: 'redirect' },
  { suffix: 'steering', mode: 'steering' },
  { suffix: 'fo-origin', mode: 'rewrite', failover: 'manifest', partHoldBack: 'origin' },
  { suffix: 'redirect-3s', mode: 'redirect', partHoldBack: '3s' },
  { suffix: 'steering-100ms', mode: 'steering', partHoldBack: '100ms' },
] as const;

/**
 * The PART-HOLD-BACK each mode serves live LL-HLS with (absent: the origin's 0.6): auto raises it to
 * 2 s where the player falls back itself; a floor below the origin's never lowers it.
 */
const SERVED_HOLD_BACK: Partial<Record<(typeof MODES)[number]['suffix'], string>> = {
  fo: '2',
  steering: '2',
  'redirect-3s': '3',
};

/** A SERVER-CONTROL line with PART-HOLD-BACK as the stream `suffix` serves it. */
function heldBack(line: string, suffix: (typeof MODES)[number]['suffix']): string {
  const served = SERVED_HOLD_BACK[suffix];
  return served === undefined ? line : line.replace(/PART-HOLD-BACK=[0-9.]+/, `PART-HOLD-BACK=${served}`);
}

let stack: Stack;
let dir: DirectiveOrigin;
/** Switchyard's clock: the real one, or frozen at a chosen instant (see the coalescing test). */
let frozenAt: number | undefined;

beforeAll(async () => {
  dir = await startDirectiveOrigin();
  stack = await startStack({
    now: () => frozenAt ?? Date.now(),
    extra: ({ origin }) => ({
      streams: [
        { id: 'vod', origin: `${origin}vod/` },
        { id: 'llhls', origin: `${origin}llhls/` },
        { id: 'ended', origin: `${dir.url}e/` },
        { id: 'ended-fo', origin: `${dir.url}e/`, failover: 'manifest' },
        { id: 'skip', origin: `${dir.url}k/` },
        ...MODES.flatMap(({ suffix, ...m }) => [
          { id: `ctl-${suffix}`, origin: `${dir.url}m/`, ...m, steering: { ttl: '2s' } },
          { id: `ll-${suffix}`, origin: `${origin}llhls/`, ...m, steering: { ttl: '2s' } },
        ]),
      ],
    }),
  });
});

afterAll(async () => {
  await stack?.close();
  await dir?.close();
});

/** A media playlist's URL in a new session: the master's first variant, as a player opens it. */
async function sessionPlaylist(stream: string, master = 'master.m3u8'): Promise<string> {
  const res = await get(`${stack.url}${stream}/${master}`);
  expect(res.status).toBe(200);
  const variant = playlistUris(res.body).find((u) => !u.startsWith('#') && u.includes('.m3u8'));
  if (variant === undefined) throw new Error(`no variant in ${res.body}`);
  return new URL(variant, stack.url).href;
}

const withQuery = (url: string, query: string): string => `${url}${url.includes('?') ? '&' : '?'}${query}`;

describe('directives on a playlist with EXT-X-ENDLIST are ignored (§6.2.5)', () => {
  const directiveHits = (): number =>
    [...dir.hits].filter(([k]) => k.startsWith('/e/') && k.includes('_HLS_')).reduce((n, [, v]) => n + v, 0);

  test('the whole playlist, at once, from an origin that would hold the request for ever', async () => {
    const url = new URL('/ended/index.m3u8', stack.url).href;
    const plain = await get(url);
    expect(plain.status).toBe(200);
    expect(plain.body).toContain('#EXT-X-ENDLIST');
    for (const query of [
      '_HLS_msn=103&_HLS_part=0',
      // Far past the end: on a live playlist this is a 400 (msn > last + 2); here there is no edge.
      '_HLS_msn=999999',
      '_HLS_skip=YES',
      '_HLS_skip=v2&_HLS_msn=101&_HLS_part=3',
    ]) {
      const res = await get(withQuery(url, query));
      expect({ query, status: res.status }).toEqual({ query, status: 200 });
      // The same bytes as the plain reload: no EXT-X-SKIP, every segment, the end.
      expect(res.body).toBe(plain.body);
    }
    expect(directiveHits()).toBe(0);
  }, 40_000);

  test('also when the first request of a playlist carries directives (nothing cached yet)', async () => {
    const res = await get(new URL('/ended/other.m3u8?_HLS_msn=103&_HLS_part=1', stack.url).href);
    expect(res.status).toBe(200);
    expect(res.body).toContain('#EXT-X-ENDLIST');
    expect(res.body).not.toContain('#EXT-X-SKIP');
    expect(directiveHits()).toBe(0);
    // The plain playlist was fetched once, for this and every later directive request.
    expect(dir.hits.get('/e/other.m3u8?')).toBe(1);
  }, 40_000);

  test('a VOD on the fixture origin: ten distinct directive requests, no origin request of their own', async () => {
    const url = await sessionPlaylist('vod');
    const plain = await get(url);
    expect(plain.body).toContain('#EXT-X-ENDLIST');
    const before = stack.origin.requests.filter((r) => r.query.includes('_HLS_')).length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => get(withQuery(url, `_HLS_msn=${i * 7}&_HLS_part=${i}`))),
    );
    for (const a of answers) expect(a.body).toBe(plain.body);
    expect(stack.origin.requests.filter((r) => r.query.includes('_HLS_')).length).toBe(before);
  });

  test('malformed directives are still a 400 (a client bug, whatever the playlist)', async () => {
    const res = await get(new URL('/ended/index.m3u8?_HLS_part=1', stack.url).href);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('BLOCKING_RELOAD_INVALID');
  });
});

/** The last complete segment and the parts listed after it, of an LL-HLS media playlist. */
function edgeOf(text: string): { lastMsn: number; partsInProgress: number } {
  const first = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? NaN);
  const lines = text.split('\n').filter((l) => l !== '');
  let segments = 0;
  let trailing = 0;
  for (const l of lines) {
    if (l.startsWith('#EXT-X-PART:')) trailing++;
    else if (!l.startsWith('#')) {
      segments++;
      trailing = 0;
    }
  }
  const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(text)?.[1] ?? 0);
  return { lastMsn: first + skipped + segments - 1, partsInProgress: trailing };
}

/** Whether a playlist lists part `part` of segment `msn` (or segment `msn` whole). */
function lists(text: string, msn: number, part: number): boolean {
  const e = edgeOf(text);
  return e.lastMsn >= msn || (e.lastMsn + 1 === msn && e.partsInProgress > part);
}

describe('identical blocking reloads share one origin request', () => {
  test('six viewers held on one part, then three that ask after it exists: one origin request', async () => {
    const viewers = await Promise.all(Array.from({ length: 6 }, () => sessionPlaylist('llhls')));
    const first = viewers[0] as string;
    const path = new URL(first).pathname.split('/llhls/')[1] as string;
    const now = edgeOf((await get(first)).body);
    // The first part of the segment after the one in progress: 0.2 to 1.2 s away, within the
    // Advance Part Limit (15 parts of 0.2 s), so every viewer blocks on it.
    const msn = now.lastMsn + 2;
    const query = `_HLS_msn=${msn}&_HLS_part=0`;
    const originAsked = (): number =>
      stack.origin.requests.filter(
        (r) =>
          r.path === `/llhls/${path}` &&
          r.query.includes(`_HLS_msn=${msn}`) &&
          r.query.includes('_HLS_part=0'),
      ).length;
    // Switchyard's clock stands still from here, so the answer is cached at a known instant; the
    // fixture origin keeps real time and answers when the part exists.
    const t0 = Date.now();
    frozenAt = t0;
    try {
      // Each viewer with its own query order and CMCD: the cache key is the directives alone.
      const held = await Promise.all(
        viewers.map((v, i) =>
          get(withQuery(v, i % 2 === 0 ? query : `CMCD=sid%3D%22v${i}%22&_HLS_part=0&_HLS_msn=${msn}`)),
        ),
      );
      for (const r of held) {
        expect(r.status).toBe(200);
        expect(lists(r.body, msn, 0)).toBe(true);
      }
      expect(originAsked()).toBe(1);
      // Half a second later on Switchyard's clock (more than the half part target a plain reload
      // lives, less than the target duration an answer to a blocking reload serves identical ones).
      frozenAt = t0 + 500;
      const late = await Promise.all(viewers.slice(0, 3).map((v) => get(withQuery(v, query))));
      for (const r of late) {
        expect(r.status).toBe(200);
        expect(lists(r.body, msn, 0)).toBe(true);
      }
      expect(originAsked()).toBe(1);
    } finally {
      frozenAt = undefined;
    }
  }, 20_000);
});

describe('a delta update is cached under its own key (§6.2.5.1)', () => {
  type Kind = 'full' | 'YES' | 'v2';
  const kindOf = (body: string): Kind | 'other' =>
    body.includes('RECENTLY-REMOVED-DATERANGES')
      ? 'v2'
      : body.includes('#EXT-X-SKIP:SKIPPED-SEGMENTS=6')
        ? 'YES'
        : body.includes('k200.mp4') && body.includes('k211.mp4')
          ? 'full'
          : 'other';
  const queryOf = (k: Kind): string => (k === 'full' ? '' : `_HLS_skip=${k}`);
  const hitsOf = (path: string, k: Kind): number => dir.hits.get(`/k/${path}?${queryOf(k)}`) ?? 0;

  test('full, YES and v2 asked at once, in every order: each gets its own', async () => {
    const url = new URL('/skip/a.m3u8', stack.url).href;
    const order: Kind[] = ['v2', 'full', 'YES', 'YES', 'full', 'v2', 'full', 'v2', 'YES'];
    const answers = await Promise.all(order.map((k) => get(k === 'full' ? url : withQuery(url, queryOf(k)))));
    expect(answers.map((a) => kindOf(a.body))).toEqual(order);
    // Each kind went to the origin as itself (how often depends on how fast the requests came).
    for (const k of ['full', 'YES', 'v2'] as const) expect(hitsOf('a.m3u8', k)).toBeGreaterThanOrEqual(1);
    // And again once they are cached (or refetched): still each its own.
    for (const k of ['YES', 'full', 'v2', 'full'] as const) {
      const res = await get(k === 'full' ? url : withQuery(url, queryOf(k)));
      expect(kindOf(res.body)).toBe(k);
    }
  });

  test('_HLS_skip without _HLS_msn is a delta request, not a 400', async () => {
    const res = await get(new URL('/skip/b.m3u8?_HLS_skip=YES', stack.url).href);
    expect(res.status).toBe(200);
    expect(kindOf(res.body)).toBe('YES');
  });

  test('a blocking reload with and without _HLS_skip: two answers, never each other', async () => {
    const url = new URL('/skip/c.m3u8', stack.url).href;
    const [delta, full] = await Promise.all([
      get(withQuery(url, '_HLS_msn=211&_HLS_skip=YES')),
      get(withQuery(url, '_HLS_msn=211')),
    ]);
    expect([kindOf(delta.body), kindOf(full.body)]).toEqual(['YES', 'full']);
    const [v2, full2] = await Promise.all([
      get(withQuery(url, '_HLS_skip=v2&_HLS_msn=211')),
      get(withQuery(url, '_HLS_msn=211')),
    ]);
    expect([kindOf(v2.body), kindOf(full2.body)]).toEqual(['v2', 'full']);
  });

  test('with the origin failing, a full-playlist request is never answered with the cached delta', async () => {
    const url = new URL('/skip/d.m3u8', stack.url).href;
    // Delta updates only (a blocking one would fetch the plain playlist first, to check its edge).
    expect(kindOf((await get(withQuery(url, '_HLS_skip=YES'))).body)).toBe('YES');
    expect(kindOf((await get(withQuery(url, '_HLS_skip=v2'))).body)).toBe('v2');
    expect(hitsOf('d.m3u8', 'full')).toBe(0);
    dir.failing.add('/k/d.m3u8');
    // No full copy was ever cached: an error (the player retries), not a delta it cannot resolve.
    for (const q of ['', '_HLS_msn=211', '_HLS_msn=211&_HLS_part=0']) {
      const res = await get(q === '' ? url : withQuery(url, q));
      expect({ q, status: res.status, kind: res.status === 200 ? kindOf(res.body) : 'error' }).toEqual({
        q,
        status: 502,
        kind: 'error',
      });
    }
  });
});

describe('EXT-X-SERVER-CONTROL is the same in every media playlist of a master, in every mode', () => {
  /** Every media playlist a master lists (variants, renditions, every pathway's), fetched as served. */
  async function servedControls(stream: string): Promise<Map<string, string[]>> {
    const master = await get(`${stack.url}${stream}/master.m3u8`);
    expect(master.status).toBe(200);
    const uris = [...new Set(playlistUris(master.body).filter((u) => /\.m3u8(\?|$)/.test(u)))];
    const out = new Map<string, string[]>();
    for (const u of uris) {
      const res = await get(new URL(u, stack.url).href);
      expect({ u, status: res.status }).toEqual({ u, status: 200 });
      out.set(
        u,
        res.body.split('\n').filter((l) => l.startsWith('#EXT-X-SERVER-CONTROL')),
      );
    }
    return out;
  }

  test.each(MODES.map((m) => m.suffix))('a master with audio renditions, %s', async (suffix) => {
    const controls = await servedControls(`ctl-${suffix}`);
    // Two variants and two renditions (per pathway in steering mode).
    expect(controls.size).toBeGreaterThanOrEqual(4);
    const want = [heldBack(SERVER_CONTROL, suffix)];
    for (const [u, lines] of controls) expect({ u, lines }).toEqual({ u, lines: want });
  });

  test.each(MODES.map((m) => m.suffix))('the fixture LL-HLS simulator, %s', async (suffix) => {
    const origin = await get(`${stack.origin.url}llhls/v0/index.m3u8`);
    const lines = origin.body.split('\n').filter((l) => l.startsWith('#EXT-X-SERVER-CONTROL'));
    expect(lines).toHaveLength(1);
    const want = lines.map((l) => heldBack(l, suffix));
    const controls = await servedControls(`ll-${suffix}`);
    expect(controls.size).toBeGreaterThanOrEqual(2);
    for (const [u, served] of controls) expect({ u, lines: served }).toEqual({ u, lines: want });
  });

  test('an ended LL-HLS playlist keeps the origin PART-HOLD-BACK (no live delay to keep)', async () => {
    const res = await get(`${stack.url}ended-fo/index.m3u8`);
    expect(res.status).toBe(200);
    expect(res.body.split('\n').filter((l) => l.startsWith('#EXT-X-SERVER-CONTROL'))).toEqual([
      SERVER_CONTROL,
    ]);
  });
});
