import { Parser } from 'm3u8-parser';
import { parse as parseMpd } from 'mpd-parser';
import { get, startStack, waitFor, type Stack } from '../helpers/stack';

/*
 * Spec-correct moves in rewrite mode through a real Switchyard: across consecutive reloads of one
 * session's media playlist, a segment (and its parts and preload hint) keeps the URI it was first
 * listed with, whatever the session's CDN does; only segments listed after the move are on the new
 * CDN. And in-manifest failover: masters and MPDs that offer the other CDNs.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    streams: ['live', 'llhls', 'vod'],
    extra: ({ origin }) => ({
      streams: [
        { id: 'live', origin: `${origin}live/` },
        { id: 'llhls', origin: `${origin}llhls/` },
        { id: 'vod', origin: `${origin}vod/`, failover: 'manifest' },
        { id: 'live-fo', origin: `${origin}live/`, failover: 'manifest' },
        { id: 'live-redirect', origin: `${origin}live/`, mode: 'redirect', failover: 'manifest' },
        { id: 'dash', origin: `${origin}dash/` },
        { id: 'dash-none', origin: `${origin}dash/`, failover: 'none' },
      ],
    }),
  });
});
afterAll(() => stack.close());
afterEach(() => {
  for (const id of ['a', 'b']) stack.server.runtime.monitor.setDrained(id, false);
});

function parse(text: string) {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
}

async function variantUrl(stream: string, index = 0): Promise<string> {
  const master = await get(`${stack.url}${stream}/master.m3u8`);
  expect(master.status).toBe(200);
  return new URL(parse(master.body).playlists?.[index]?.uri as string, stack.url).href;
}

/** media sequence number → its parts and hint URIs in order, and its segment URI line. */
function urisByMsn(text: string): Map<number, { parts: string[]; segment?: string }> {
  const out = new Map<number, { parts: string[]; segment?: string }>();
  let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  msn += Number(/SKIPPED-SEGMENTS=(\d+)/.exec(text)?.[1] ?? 0);
  const entry = () => {
    let e = out.get(msn);
    if (!e) out.set(msn, (e = { parts: [] }));
    return e;
  };
  for (const line of text.split('\n')) {
    const m = /^#EXT-X-(?:PART|PRELOAD-HINT):.*URI="([^"]*)"/.exec(line);
    if (m) entry().parts.push(m[1] as string);
    else if (line !== '' && !line.startsWith('#')) {
      entry().segment = line;
      msn++;
    }
  }
  return out;
}

/** Every URI a reload shares with the one before is the same, byte for byte; returns how many. */
function expectOverlapKept(before: string, after: string): number {
  const old = urisByMsn(before);
  let shared = 0;
  for (const [msn, now] of urisByMsn(after)) {
    const was = old.get(msn);
    if (!was) continue;
    if (was.segment !== undefined && now.segment !== undefined) {
      expect({ msn, segment: now.segment }).toEqual({ msn, segment: was.segment });
      shared++;
    }
    // Parts are added to the newest segment (the hint becomes a part) and dropped whole from old ones.
    const n = Math.min(was.parts.length, now.parts.length);
    expect({ msn, parts: now.parts.slice(0, n) }).toEqual({ msn, parts: was.parts.slice(0, n) });
  }
  return shared;
}

const onCdn = (uri: string, id: string) => uri.startsWith(stack.cdn(id).url);

test('live: a drained CDN keeps the segments it listed; later segments come from the other CDN', async () => {
  const url = await variantUrl('live');
  let previous = await get(url);
  const from = previous.headers.get('x-switchyard-cdn') as string;
  const to = from === 'a' ? 'b' : 'a';
  stack.server.runtime.monitor.setDrained(from, true);
  let sharedTotal = 0;
  let last = previous;
  // Reload as a player does (about every half target duration) until a segment on `to` shows up.
  await waitFor(
    async () => {
      const next = await get(url);
      sharedTotal += expectOverlapKept(previous.body, next.body);
      previous = next;
      last = next;
      return (parse(next.body).segments.at(-1)?.uri ?? '').startsWith(stack.cdn(to).url);
    },
    15_000,
    400,
  );
  expect(sharedTotal).toBeGreaterThan(0);
  expect(last.headers.get('x-switchyard-cdn')).toBe(to);
  // The window holds both CDNs for a while: older segments on `from`, newer on `to`, in that order.
  const cdns = parse(last.body).segments.map((s) => (onCdn(s.uri, from) ? from : to));
  expect(cdns).toEqual([...cdns].sort((x, y) => (x === from ? -1 : 1) - (y === from ? -1 : 1)));
  // Once the old segments left the window, the playlist is all on `to` again.
  await waitFor(
    async () => {
      const next = await get(url);
      expectOverlapKept(previous.body, next.body);
      previous = next;
      return parse(next.body).segments.every((s) => onCdn(s.uri, to));
    },
    20_000,
    400,
  );
}, 60_000);

test('LL-HLS: blocking reloads across a move keep every listed part and hint; the move is at a segment starting with an independent part', async () => {
  const url = await variantUrl('llhls');
  let previous = await get(url);
  const from = previous.headers.get('x-switchyard-cdn') as string;
  const to = from === 'a' ? 'b' : 'a';
  stack.server.runtime.monitor.setDrained(from, true);
  const blocking = (body: string): string => {
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]*)"/.exec(body);
    // The hint is the next part: ask for it (its segment and index, as hls.js does).
    const byMsn = urisByMsn(body);
    const last = [...byMsn.keys()].pop() as number;
    const parts = byMsn.get(last)?.parts.length ?? 1;
    return `${url}${url.includes('?') ? '&' : '?'}_HLS_msn=${last}&_HLS_part=${hint ? parts - 1 : 0}`;
  };
  let firstOnTo: string | undefined;
  await waitFor(
    async () => {
      const next = await get(blocking(previous.body));
      expect(next.status).toBe(200);
      expectOverlapKept(previous.body, next.body);
      previous = next;
      const lines = next.body.split('\n');
      firstOnTo = lines.find((l) => l.startsWith('#EXT-X-PART:') && l.includes(stack.cdn(to).url));
      return firstOnTo !== undefined;
    },
    20_000,
    0,
  );
  // In the playlist: everything before the move on `from`, everything from it on `to`.
  const order = [...urisByMsn(previous.body).values()].flatMap((e) => [...e.parts, e.segment ?? '']);
  const owners = order.filter((u) => u !== '').map((u) => (onCdn(u, from) ? from : onCdn(u, to) ? to : '?'));
  const switchAt = owners.indexOf(to);
  expect(owners.slice(0, switchAt).every((o) => o === from)).toBe(true);
  expect(owners.slice(switchAt).every((o) => o === to)).toBe(true);
  // The first part on the new CDN is the first part of its parent segment, and independent.
  expect(firstOnTo).toContain('INDEPENDENT=YES');
  expect(firstOnTo).toMatch(/BYTERANGE="\d+@0"/);
}, 60_000);

test('failover: manifest — a master lists each variant again per CDN, pinned to it', async () => {
  const master = await get(`${stack.url}live-fo/master.m3u8`);
  const session = master.headers.get('x-switchyard-cdn') as string;
  const other = session === 'a' ? 'b' : 'a';
  const variants = parse(master.body).playlists ?? [];
  // 2 variants × (the session's own + one pinned copy per CDN: the other first, then its own CDN of
  // the moment, so that a session later moved onto the other CDN still has a copy off it).
  expect(variants.length).toBe(6);
  const [own, copy, last] = [
    variants[0]?.uri as string,
    variants[1]?.uri as string,
    variants[2]?.uri as string,
  ];
  const pinnedHere = await get(new URL(last, stack.url).href);
  expect(pinnedHere.headers.get('x-switchyard-cdn')).toBe(session);
  expect(pinnedHere.headers.get('x-switchyard-reason')).toBe(`failover copy pinned to ${session}`);
  expect(variants[1]?.attributes.BANDWIDTH).toBe(variants[0]?.attributes.BANDWIDTH);
  expect(copy).not.toBe(own);
  // The copy's playlist is on the other CDN whatever the policy says; the session's own follows it.
  stack.server.runtime.monitor.setDrained(other, true);
  const pinned = await get(new URL(copy, stack.url).href);
  expect(pinned.headers.get('x-switchyard-cdn')).toBe(other);
  expect(parse(pinned.body).segments.every((s) => onCdn(s.uri, other))).toBe(true);
  const mine = await get(new URL(own, stack.url).href);
  expect(mine.headers.get('x-switchyard-cdn')).toBe(session);

  // Redirect mode: the session's copy redirects per segment, the copies point straight at their CDN.
  const redirect = await get(`${stack.url}live-redirect/master.m3u8`);
  const rv = parse(redirect.body).playlists ?? [];
  expect(rv.length).toBe(4);
  const rOwn = await get(new URL(rv[0]?.uri as string, stack.url).href);
  expect(parse(rOwn.body).segments[0]?.uri).toMatch(/\/s\/[^/]+\/seg\//);
  const rCopy = await get(new URL(rv[1]?.uri as string, stack.url).href);
  const copyCdn = rCopy.headers.get('x-switchyard-cdn') as string;
  expect(parse(rCopy.body).segments.every((s) => onCdn(s.uri, copyCdn))).toBe(true);

  // Without failover (HLS default), one copy.
  const plain = await get(`${stack.url}live/master.m3u8`);
  expect(parse(plain.body).playlists?.length).toBe(2);
});

test('failover for DASH (on by default): every CDN as a ranked BaseURL; off with failover: none', async () => {
  const mpd = await get(`${stack.url}dash/manifest.mpd`);
  expect(mpd.status).toBe(200);
  const first = mpd.headers.get('x-switchyard-cdn') as string;
  const bases = [...mpd.body.matchAll(/<BaseURL([^>]*)>([^<]*)<\/BaseURL>/g)];
  expect(bases.map((m) => /serviceLocation="([^"]+)"/.exec(m[1] as string)?.[1])).toEqual([
    first,
    first === 'a' ? 'b' : 'a',
  ]);
  expect(bases.map((m) => /dvb:priority="(\d+)"/.exec(m[1] as string)?.[1])).toEqual(['1', '2']);
  expect(bases[0]?.[2]?.startsWith(stack.cdn(first).url)).toBe(true);
  const parsed = parseMpd(mpd.body, { manifestUri: `${stack.url}dash/manifest.mpd` });
  expect(new Set((parsed.playlists ?? []).map((p) => p.attributes.serviceLocation))).toEqual(
    new Set(['a', 'b']),
  );

  const none = await get(`${stack.url}dash-none/manifest.mpd`);
  expect([...none.body.matchAll(/<BaseURL/g)]).toHaveLength(1);
  expect(none.body).not.toContain('dvb:priority');
});
