import { answerSteering, DEMOTE_SECONDS, OVERLOAD_TTL_FACTOR } from '../../src/steering/answer';
import { clonesFor, steeringDocument } from '../../src/steering/response';
import { readSignals } from '../../src/steering/signals';

const NOW = 1_800_000_000;
const PREFIX: Record<string, string> = {
  a: 'https://a.cdn.test/vod/',
  b: 'https://b.cdn.test/vod/',
  c: 'https://c.cdn.test/vod/',
  d: 'https://d.other.test/elsewhere/',
};

function answer(
  format: 'hls' | 'dash',
  query: string,
  ranked: string[] | Error,
  configured = ['a', 'b'],
  ttl: { ttlSeconds: number; startupTtlSeconds?: number } = { ttlSeconds: 10 },
) {
  const out = answerSteering(
    {
      format,
      signals: readSignals(query, format, NOW),
      configured,
      mediaPrefix: (id) => PREFIX[id],
      reloadBase: 'https://sy.test/s/T/steering.json',
      ...ttl,
      nowSeconds: NOW,
    },
    ranked,
  );
  return { ...out, doc: out.status === 200 ? (JSON.parse(out.body) as Record<string, unknown>) : undefined };
}

describe('steering signals', () => {
  it('HLS: _HLS_pathway quoted (the spec) or bare (hls.js), _HLS_throughput in bits/s', () => {
    expect(readSignals('_HLS_pathway=%22a%22&_HLS_throughput=5000000', 'hls', NOW)).toMatchObject({
      current: 'a',
      throughput: 5_000_000,
    });
    expect(readSignals('_HLS_pathway="b"&_HLS_throughput=1', 'hls', NOW)).toMatchObject({ current: 'b' });
    expect(readSignals('_HLS_pathway=b', 'hls', NOW)).toMatchObject({ current: 'b', throughput: undefined });
  });

  it('DASH: comma lists of every location used since the last poll, paired by position', () => {
    const s = readSignals('_DASH_pathway=%22b%2Ca%2Cc%22&_DASH_throughput=900000%2C400000', 'dash', NOW);
    expect(s.used).toEqual([{ id: 'b', throughput: 900_000 }, { id: 'a', throughput: 400_000 }, { id: 'c' }]);
    // Without the previous answer, the first reported is current (dash.js lists the fastest first).
    expect(s).toMatchObject({ current: 'b', throughput: 900_000 });
    // With it, the location Switchyard ranked first is current when the player still used it.
    expect(readSignals('_DASH_pathway="b,a"&_DASH_throughput=9,4&sy_last=a,b', 'dash', NOW)).toMatchObject({
      current: 'a',
      throughput: 4,
    });
  });

  it('malformed values are ignored, never thrown', () => {
    expect(
      readSignals('_HLS_pathway=%E0%A4%A&_HLS_throughput=abc&sy_demoted=a:x,:5,b', 'hls', NOW),
    ).toMatchObject({
      current: undefined,
      throughput: undefined,
      demoted: new Map(),
    });
    expect(readSignals('_HLS_pathway=%22a%20b%22', 'hls', NOW).current).toBeUndefined();
  });
});

describe('steering answers', () => {
  it('HLS answers PATHWAY-PRIORITY; DASH also SERVICE-LOCATION-PRIORITY for older clients', () => {
    expect(answer('hls', '', ['b', 'a']).doc).toEqual({
      VERSION: 1,
      TTL: 10,
      'RELOAD-URI': 'https://sy.test/s/T/steering.json?sy_last=b,a&sy_reload=1',
      'PATHWAY-PRIORITY': ['b', 'a'],
    });
    expect(answer('dash', '', ['b', 'a']).doc).toMatchObject({
      'PATHWAY-PRIORITY': ['b', 'a'],
      'SERVICE-LOCATION-PRIORITY': ['b', 'a'],
    });
  });

  it('a pathway the player left is demoted for its session, and forgiven when it is used again', () => {
    // Switchyard said a first; the player reports b: a failed for it.
    const left = answer('hls', '_HLS_pathway=%22b%22&sy_last=a,b', ['a', 'b']);
    expect(left.priority).toEqual(['b', 'a']);
    expect(left.demoted).toEqual(new Map([['a', NOW + DEMOTE_SECONDS]]));
    expect(left.doc?.['RELOAD-URI']).toBe(
      `https://sy.test/s/T/steering.json?sy_last=b,a&sy_demoted=a:${NOW + DEMOTE_SECONDS}&sy_reload=1`,
    );
    // Next poll (the URL carries the demotion): the policy still prefers a, the session does not.
    const next = answer('hls', `_HLS_pathway=b&sy_last=b,a&sy_demoted=a:${NOW + 100}`, ['a', 'b']);
    expect(next.priority).toEqual(['b', 'a']);
    // Expired demotions are dropped.
    const expired = answer('hls', `_HLS_pathway=b&sy_last=b,a&sy_demoted=a:${NOW - 1}`, ['a', 'b']);
    expect(expired.priority).toEqual(['a', 'b']);
    // The player is back on a (b failed for it): a is forgiven, b demoted.
    const back = answer('hls', `_HLS_pathway=a&sy_last=b,a&sy_demoted=a:${NOW + 100}`, ['a', 'b']);
    expect(back.priority).toEqual(['a', 'b']);
    expect([...back.demoted.keys()]).toEqual(['b']);
    // A demotion is capped, however far the URL puts it.
    expect(answer('hls', `sy_demoted=a:${NOW + 10 ** 9}`, ['a', 'b']).demoted.get('a')).toBe(NOW + 3600);
  });

  it('when every pathway is demoted the policy order stands', () => {
    const out = answer('hls', `sy_demoted=a:${NOW + 60},b:${NOW + 60}&sy_last=a`, ['a', 'b']);
    expect(out.priority).toEqual(['a', 'b']);
  });

  it("a player's first request naming no pathway (still starting up) gets at least the startup TTL", () => {
    const ttl = { ttlSeconds: 2, startupTtlSeconds: 8 };
    // shaka's first request: only what SERVER-URI carries, no pathway (it has no PATHWAY-PRIORITY yet).
    for (const format of ['hls', 'dash'] as const) {
      const first = answer(format, 'sy_listed=a,b&sy_last=a,b', ['a', 'b'], ['a', 'b'], ttl);
      expect(first.doc?.TTL).toBe(8);
      expect(first.headers['cache-control']).toBe('private, max-age=8');
      // Its next request comes from RELOAD-URI, which carries the answer: the configured TTL again.
      const reload = String(first.doc?.['RELOAD-URI']).split('?')[1] ?? '';
      expect(answer(format, reload, ['b', 'a'], ['a', 'b'], ttl).doc?.TTL).toBe(2);
    }
    // A player that names no pathway on its reloads either still follows the configured TTL then.
    expect(answer('hls', 'sy_last=a,b&sy_reload=1', ['a', 'b'], ['a', 'b'], ttl).doc?.TTL).toBe(2);
    // A first request that names the pathway the player picked (hls.js) is not starting up.
    expect(answer('hls', '_HLS_pathway=a&sy_listed=a,b', ['a', 'b'], ['a', 'b'], ttl).doc?.TTL).toBe(2);
    expect(answer('dash', '_DASH_pathway=%22a%22', ['a', 'b'], ['a', 'b'], ttl).doc?.TTL).toBe(2);
    // It never shortens the configured TTL.
    const long = { ttlSeconds: 30, startupTtlSeconds: 8 };
    expect(answer('hls', '', ['a', 'b'], ['a', 'b'], long).doc?.TTL).toBe(30);
    // Overload rules are unchanged: a first request with no decision is 429 with the configured TTL.
    const busy = answer('hls', '', new Error('busy'), ['a', 'b'], ttl);
    expect([busy.status, busy.headers['retry-after']]).toEqual([429, '2']);
  });

  it('under overload: the last decision with a longer TTL, else 429 + Retry-After; never 5xx', () => {
    const busy = new Error('policy failed');
    const again = answer('hls', '_HLS_pathway=b&sy_last=b,a', busy);
    expect(again.status).toBe(200);
    expect(again.fallback).toBe(true);
    expect(again.doc).toMatchObject({ TTL: 10 * OVERLOAD_TTL_FACTOR, 'PATHWAY-PRIORITY': ['b', 'a'] });
    expect(again.headers['cache-control']).toBe(`private, max-age=${10 * OVERLOAD_TTL_FACTOR}`);
    const first = answer('dash', '', busy);
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('10');
    // A carried ranking naming only CDNs no longer configured is no decision either.
    expect(answer('hls', 'sy_last=x,y', busy).status).toBe(429);
  });

  it('CDNs the manifest does not list are offered as PATHWAY-CLONES', () => {
    const hls = answer('hls', '_HLS_pathway=a&sy_listed=a,b', ['c', 'a', 'b'], ['a', 'b', 'c']);
    expect(hls.doc?.['PATHWAY-CLONES']).toEqual([
      { 'BASE-ID': 'a', ID: 'c', 'URI-REPLACEMENT': { PARAMS: { sy_pathway: 'c' } } },
    ]);
    expect(hls.doc?.['RELOAD-URI']).toContain('sy_listed=a,b');
    const dash = answer('dash', 'sy_listed=a,b', ['c', 'd', 'a', 'b'], ['a', 'b', 'c', 'd']);
    // c differs from a listed CDN in its host alone: a HOST clone; d has another path: no clone.
    expect(dash.doc?.['PATHWAY-CLONES']).toEqual([
      { 'BASE-ID': 'a', ID: 'c', 'URI-REPLACEMENT': { HOST: 'c.cdn.test' } },
    ]);
    expect(answer('hls', '', ['a', 'b']).doc).not.toHaveProperty('PATHWAY-CLONES');
  });

  it('clonesFor and steeringDocument are plain data', () => {
    expect(clonesFor('dash', [], ['a'], () => undefined)).toEqual([]);
    expect(steeringDocument({ format: 'hls', priority: ['a'], ttlSeconds: 0.2, reloadUri: 'x' })).toEqual({
      VERSION: 1,
      TTL: 1,
      'RELOAD-URI': 'x',
      'PATHWAY-PRIORITY': ['a'],
    });
  });
});
