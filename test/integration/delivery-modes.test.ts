import { Parser } from 'm3u8-parser';
import { get, restoreCdns, type Stack, startStack, waitFor } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    extra: ({ origin }) => ({
      streams: [
        { id: 'vod', origin: `${origin}vod/`, mode: 'redirect' },
        { id: 'live', origin: `${origin}live/`, mode: 'steering', steering: { ttl: '5s' } },
      ],
    }),
  });
});
afterAll(async () => {
  await stack.close();
});
afterEach(async () => {
  await restoreCdns(stack);
});

function parse(text: string) {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
}

async function variantOf(stream: string, index = 0): Promise<{ master: string; url: string }> {
  const master = await get(`${stack.url}${stream}/master.m3u8`);
  expect(master.status).toBe(200);
  return {
    master: master.body,
    url: new URL(parse(master.body).playlists?.[index]?.uri as string, stack.url).href,
  };
}

describe('redirect mode', () => {
  test('segment URIs point at Switchyard, which 302s to the CDN chosen at that moment', async () => {
    const { url } = await variantOf('vod');
    const media = await get(url);
    const segs = parse(media.body).segments.map((s) => s.uri);
    expect(segs[0]).toMatch(/^\/s\/[^/]+\/seg\/v0\/seg_0\.ts$/);
    const first = await get(new URL(segs[0] as string, stack.url).href);
    expect(first.status).toBe(302);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const cdn = first.headers.get('x-switchyard-cdn') as string;
    expect(first.headers.get('location')).toBe(`${stack.cdn(cdn).url}vod/v0/seg_0.ts`);
    const head = await fetch(new URL(segs[0] as string, stack.url).href, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(head.status).toBe(302);

    // VOD included: the same playlist's next segment goes elsewhere once its CDN is down.
    stack.cdn(cdn).setMode({ kind: 'down' });
    await waitFor(() => stack.server.runtime.monitor.health(cdn)?.healthy === false, 3000);
    const next = await get(new URL(segs[1] as string, stack.url).href);
    expect(next.status).toBe(302);
    expect(next.headers.get('x-switchyard-cdn')).not.toBe(cdn);
    const seg = await fetch(next.headers.get('location') as string);
    expect(seg.status).toBe(200);
  });

  test('a tampered segment token is a 403', async () => {
    const { url } = await variantOf('vod');
    const seg = parse((await get(url)).body).segments[0]?.uri as string;
    const res = await get(new URL(seg.replace(/\.([A-Za-z0-9_-])/, '.X$1'), stack.url).href);
    expect(res.status).toBe(403);
  });
});

describe('steering mode (HLS Content Steering)', () => {
  test('the master lists one pathway per CDN and the steering server; each pathway plays from its CDN', async () => {
    const { master } = await variantOf('live');
    const m = parse(master);
    const steering = /#EXT-X-CONTENT-STEERING:SERVER-URI="([^"]+)",PATHWAY-ID="([^"]+)"/.exec(master);
    expect(steering).not.toBeNull();
    expect(['a', 'b']).toContain(steering?.[2]);
    const variants = m.playlists ?? [];
    // livesrc has 2 variants: each appears once per pathway.
    expect(variants).toHaveLength(4);
    const byPathway = new Map<string, string[]>();
    for (const v of variants) {
      const id = String((v.attributes as Record<string, unknown>)['PATHWAY-ID']);
      byPathway.set(id, [...(byPathway.get(id) ?? []), v.uri]);
    }
    expect([...byPathway.keys()].sort()).toEqual(['a', 'b']);
    for (const [pathway, uris] of byPathway) {
      for (const uri of uris) {
        const media = await get(new URL(uri, stack.url).href);
        expect(media.headers.get('x-switchyard-cdn')).toBe(pathway);
        for (const s of parse(media.body).segments)
          expect(s.uri.startsWith(stack.cdn(pathway).url)).toBe(true);
      }
    }
  });

  test('the steering manifest follows the spec and puts a dead CDN last', async () => {
    const { master } = await variantOf('live');
    const serverUri = /SERVER-URI="([^"]+)"/.exec(master)?.[1] as string;
    // The player is on the pathway the master starts it on (a report of another would demote that
    // one for the session). SERVER-URI carries Switchyard's own query: the signals are added to it.
    const initial = /EXT-X-CONTENT-STEERING:[^\n]*PATHWAY-ID="([^"]+)"/.exec(master)?.[1] as string;
    expect(['a', 'b']).toContain(initial);
    const asked = new URL(serverUri, stack.url);
    asked.searchParams.set('_HLS_pathway', initial);
    asked.searchParams.set('_HLS_throughput', '500000');
    const res = await get(asked.href);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const doc = JSON.parse(res.body) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual(['PATHWAY-PRIORITY', 'RELOAD-URI', 'TTL', 'VERSION']);
    expect(doc.VERSION).toBe(1);
    expect(doc.TTL).toBe(5);
    expect(Number.isInteger(doc.TTL)).toBe(true);
    // The same carried state, marked as a reload (a first request gets the startup TTL).
    expect(doc['RELOAD-URI']).toBe(`${serverUri}&sy_reload=1`);
    expect([...(doc['PATHWAY-PRIORITY'] as string[])].sort()).toEqual(['a', 'b']);

    const first = (doc['PATHWAY-PRIORITY'] as string[])[0] as string;
    stack.cdn(first).setMode({ kind: 'down' });
    await waitFor(() => stack.server.runtime.monitor.health(first)?.healthy === false, 3000);
    const after = JSON.parse((await get(new URL(serverUri, stack.url).href)).body) as Record<
      string,
      string[]
    >;
    expect(after['PATHWAY-PRIORITY']?.[0]).not.toBe(first);
    expect(after['PATHWAY-PRIORITY']?.at(-1)).toBe(first);
  });
});

test('a malformed _HLS_pathway is ignored, not an error', async () => {
  const { master } = await variantOf('live');
  const serverUri = /SERVER-URI="([^"]+)"/.exec(master)?.[1] as string;
  const res = await get(new URL(`${serverUri}&_HLS_pathway=%E0%A4%A&_HLS_throughput=abc`, stack.url).href);
  expect(res.status).toBe(200);
  expect(JSON.parse(res.body)['PATHWAY-PRIORITY']).toHaveLength(2);
});
