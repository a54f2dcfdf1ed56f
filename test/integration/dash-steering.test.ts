/**
 * DASH steering mode end to end: the real Switchyard against the fixture origin and CDNs. The MPD lists
 * one BaseURL per CDN (serviceLocation) and a ContentSteering element; the DCSM it points at ranks them
 * for the session (ETSI TS 103 998: VERSION, TTL, RELOAD-URI, PATHWAY-PRIORITY, and the draft's SERVICE-LOCATION-PRIORITY).
 */
import { parse as parseMpd } from 'mpd-parser';
import { get, restoreCdns, type Stack, startStack, waitFor } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    streams: ['dash', 'dash-live'],
    extra: ({ origin }) => ({
      streams: [
        { id: 'dash', origin: `${origin}dash/`, mode: 'steering', steering: { ttl: '3s' } },
        { id: 'dash-live', origin: `${origin}dash-live/`, mode: 'steering' },
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

const serviceLocations = (mpd: string): Map<string, string> =>
  new Map(
    [...mpd.matchAll(/<BaseURL serviceLocation="([^"]+)">([^<]+)<\/BaseURL>/g)].map((m) => [
      m[1] as string,
      m[2] as string,
    ]),
  );

function contentSteering(mpd: string): { default: string; queryBeforeStart: string; url: string } {
  const m =
    /<ContentSteering defaultServiceLocation="([^"]+)" queryBeforeStart="([^"]+)">([^<]+)<\/ContentSteering>/.exec(
      mpd,
    );
  expect(m).not.toBeNull();
  return {
    default: m?.[1] as string,
    queryBeforeStart: m?.[2] as string,
    url: (m?.[3] as string).replace(/&amp;/g, '&'),
  };
}

test('the MPD names every CDN as a service location and points at the session steering manifest', async () => {
  const res = await get(`${stack.url}dash/manifest.mpd`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/dash+xml');
  expect(res.headers.get('x-switchyard-reason')).toMatch(/^steering: service locations /);

  const locations = serviceLocations(res.body);
  expect([...locations.keys()].sort()).toEqual(['a', 'b']);
  for (const [id, url] of locations) expect(url).toBe(`${stack.cdn(id).url}dash/`);
  const steering = contentSteering(res.body);
  expect(steering.default).toBe(res.headers.get('x-switchyard-cdn'));
  expect(steering.queryBeforeStart).toBe('false');
  // The steering URL carries the pathways the MPD lists and the ranking it starts from.
  expect(steering.url).toMatch(/^\/s\/[^/]+\/dash-steering\.json\?sy_listed=[ab],[ab]&sy_last=[ab],[ab]$/);
  // Exactly one of each MPD-level element Switchyard writes; the rest of the MPD is the origin's.
  expect(res.body.match(/<ContentSteering/g)).toHaveLength(1);
  expect(res.body).toContain('<ServiceDescription id="0">');

  // A DASH client sees two copies of every Representation, each on its own CDN.
  const mpdUrl = `${stack.url}dash/manifest.mpd`;
  const parsed = parseMpd(res.body, { manifestUri: mpdUrl });
  expect(parsed.contentSteering?.serverURL).toBe(steering.url);
  for (const p of parsed.playlists ?? []) {
    const id = String(p.attributes.serviceLocation);
    for (const s of p.segments) expect(s.resolvedUri.startsWith(`${stack.cdn(id).url}dash/`)).toBe(true);
  }
  // And the CDNs serve them.
  const first = parsed.playlists?.[0]?.segments[0]?.resolvedUri as string;
  expect((await fetch(first)).status).toBe(200);
});

test('the DCSM follows the spec, reads the DASH query signals and puts a dead CDN last', async () => {
  const mpd = (await get(`${stack.url}dash/manifest.mpd`)).body;
  const steeringUrl = new URL(contentSteering(mpd).url, `${stack.url}dash/manifest.mpd`).href;
  // dash.js's form: a quoted comma list of every location used since the last poll, throughputs paired.
  const res = await get(`${steeringUrl}&_DASH_pathway=%22a%2Cb%22&_DASH_throughput=800000%2C400000`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(res.headers.get('access-control-allow-origin')).toBe('*');
  const doc = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(doc).sort()).toEqual([
    'PATHWAY-PRIORITY',
    'RELOAD-URI',
    'SERVICE-LOCATION-PRIORITY',
    'TTL',
    'VERSION',
  ]);
  expect(doc.VERSION).toBe(1);
  expect(doc.TTL).toBe(3);
  // dash.js and shaka read PATHWAY-PRIORITY (ETSI TS 103 998); older clients the draft's key.
  expect(doc['PATHWAY-PRIORITY']).toEqual(doc['SERVICE-LOCATION-PRIORITY']);
  const reload = new URL(doc['RELOAD-URI'] as string, steeringUrl);
  expect(reload.pathname).toBe(new URL(steeringUrl).pathname);
  const priority = doc['PATHWAY-PRIORITY'] as string[];
  expect(reload.searchParams.get('sy_last')).toBe(priority.join(','));
  expect([...priority].sort()).toEqual(['a', 'b']);
  // Every id it names is a serviceLocation of the MPD.
  for (const id of priority) expect(serviceLocations(mpd).has(id)).toBe(true);

  const top = priority[0] as string;
  stack.cdn(top).setMode({ kind: 'down' });
  await waitFor(() => stack.server.runtime.monitor.health(top)?.healthy === false, 3000);
  const afterRes = await get(reload.href);
  const after = JSON.parse(afterRes.body) as Record<string, string[]>;
  expect(after['PATHWAY-PRIORITY']?.[0]).not.toBe(top);
  expect(after['PATHWAY-PRIORITY']?.at(-1)).toBe(top);
  expect(after['SERVICE-LOCATION-PRIORITY']).toEqual(after['PATHWAY-PRIORITY']);
  // A new MPD now names the healthy CDN as the default.
  expect(contentSteering((await get(`${stack.url}dash/manifest.mpd`)).body).default).not.toBe(top);
});

test('a dynamic MPD keeps its session Location and its steering', async () => {
  const res = await get(`${stack.url}dash-live/manifest.mpd`);
  expect(res.status).toBe(200);
  // One Location per service location (@serviceLocation), each back to the session's URL.
  const locations = [...res.body.matchAll(/<Location serviceLocation="([^"]+)">([^<]+)<\/Location>/g)];
  expect(locations.map((m) => m[1]).sort()).toEqual(['a', 'b']);
  expect(new Set(locations.map((m) => m[2])).size).toBe(1);
  const location = locations[0]?.[2] as string;
  expect(location).toMatch(/\/s\/[^/]+\/dash-live\/manifest\.mpd$/);
  const again = await get(new URL(location, stack.url).href);
  expect(again.status).toBe(200);
  expect([...serviceLocations(again.body).keys()].sort()).toEqual(['a', 'b']);
  expect(contentSteering(again.body).url).toBe(contentSteering(res.body).url);
});
