import {
  decisionRecord,
  inSample,
  parseDecisionLine,
  routedHeaders,
  userAgentFamily,
} from '../../src/decisions/record';
import type { SelectionRequest } from '../../src/policy/types';

const request: SelectionRequest = {
  session: { id: 'sess-1', startedAt: 0 },
  client: {
    ip: '203.0.113.9',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36',
    headers: { 'cf-ipcountry': 'de', 'x-asn': 'AS3320', 'x-device': 'tv', cookie: 'secret=1' },
    cmcd: { br: 3200, ot: 'v', sid: 'sess-1' },
  },
  stream: { id: 'live', protocol: 'hls', live: true },
  cdns: [
    {
      id: 'a',
      baseUrl: 'http://a/',
      weight: 2,
      healthy: true,
      errorRate: 0.123456,
      latencyMs: 12.345,
      share: 0.6,
      tags: { tier: 'x' },
    },
    {
      id: 'b',
      baseUrl: 'http://b/',
      weight: 1,
      healthy: false,
      errorRate: 1,
      latencyMs: null,
      share: 0.4,
      tags: {},
    },
  ],
  now: Date.UTC(2026, 11, 1, 18, 0, 0, 123),
};

test('a record holds what the policy saw and chose, and reads back through the schema', () => {
  const r = decisionRecord({
    request,
    selection: {
      cdn: 'a',
      reason: 'weighted: rendezvous',
      ranked: ['a', 'b'],
      switched: { from: 'b', to: 'a' },
    },
    places: true,
    sampled: false,
    rate: 0.01,
    configVersion: 3,
    policy: 'weighted',
    headerNames: routedHeaders({ type: 'rules', headers: { country: ['X-Device'] }, rules: [] }),
    delivery: { mediaSeconds: 4, bitrateBps: 800_000 },
    qoe: new Map([['b', 0.25]]),
  });
  expect(r).toMatchObject({
    v: 1,
    at: '2026-12-01T18:00:00.123Z',
    session: 'sess-1',
    places: true,
    sampled: false,
    rate: 0.01,
    config: 3,
    client: {
      country: 'DE',
      asn: '3320',
      uaFamily: 'chrome',
      headers: { 'cf-ipcountry': 'de', 'x-asn': 'AS3320', 'x-device': 'tv' },
      cmcd: { br: 3200, ot: 'v', sid: 'sess-1' },
    },
    cdn: 'a',
    ranked: ['a', 'b'],
    switched: { from: 'b', to: 'a' },
    delivery: { mediaSeconds: 4, bitrateBps: 800_000 },
  });
  // Headers no policy routes on (cookies) and the viewer's address are not kept.
  expect(JSON.stringify(r)).not.toContain('secret');
  expect(JSON.stringify(r)).not.toContain('203.0.113.9');
  expect(r.cdns[0]).toEqual({
    id: 'a',
    healthy: true,
    weight: 2,
    share: 0.6,
    errorRate: 0.1235,
    latencyMs: 12.3,
    tags: { tier: 'x' },
  });
  expect(r.cdns[1]?.qoe).toBe(0.25);
  expect(parseDecisionLine(JSON.stringify(r))).toEqual(r);
});

test('unreadable lines say why', () => {
  expect(parseDecisionLine('{nope')).toEqual({ error: 'not JSON' });
  expect(parseDecisionLine('{"v":2}')).toEqual({ error: 'schema version 2 (this reader knows 1)' });
  expect(parseDecisionLine('{"v":1,"at":"x"}')).toMatchObject({ error: expect.stringMatching(/^at: /) });
});

test('sampling is a property of the session id, near the configured rate', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `session-${i}`);
  const picked = ids.filter((id) => inSample(id, 0.05));
  expect(picked.length / ids.length).toBeGreaterThan(0.04);
  expect(picked.length / ids.length).toBeLessThan(0.06);
  // The same ids on every call (any instance, any reload), and a larger rate keeps them all.
  expect(ids.filter((id) => inSample(id, 0.05))).toEqual(picked);
  expect(picked.every((id) => inSample(id, 0.2))).toBe(true);
  expect(inSample('x', 0)).toBe(false);
  expect(inSample('x', 1)).toBe(true);
});

test('user-agent families', () => {
  expect(userAgentFamily('AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X)')).toBe(
    'applecoremedia',
  );
  expect(userAgentFamily('Lavf/59.27.100')).toBe('ffmpeg');
  expect(userAgentFamily('Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15')).toBe(
    'safari',
  );
  expect(userAgentFamily('Mozilla/5.0 Firefox/121.0')).toBe('firefox');
  expect(userAgentFamily('something')).toBe('other');
});
