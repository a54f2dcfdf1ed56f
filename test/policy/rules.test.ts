import { build, cdn, issues, request } from './helpers';

const policy = build({
  type: 'rules',
  headers: { country: ['X-Geo-Country'] },
  rules: [
    { name: 'dach', match: { country: ['DE', 'AT', 'CH'] }, policy: { type: 'failover', order: ['a'] } },
    { name: 'us-west', match: { region: ['US-WA', 'OR'] }, policy: { type: 'failover', order: ['b'] } },
    { name: 'telco', match: { asn: [3320, 'AS7922'] }, policy: { type: 'failover', order: ['c'] } },
    {
      name: 'tv',
      match: { userAgent: 'AppleTV|Tizen', live: true },
      policy: { type: 'failover', order: ['b'] },
    },
    {
      name: 'vod-dash',
      match: { stream: ['movies'], protocol: 'dash' },
      policy: { type: 'failover', order: ['c'] },
    },
    {
      name: 'cmcd-live-hls',
      match: { cmcd: { st: 'l', sf: 'h', ot: ['m', 'v'], 'com.example-device': 'stb' } },
      policy: { type: 'failover', order: ['a'] },
    },
  ],
  default: { type: 'failover', order: ['c'] },
});

type Case = [string, Parameters<typeof request>[0], string, string];

// name, request, expected CDN, expected reason prefix
const table: Case[] = [
  ['configured country header', { client: { headers: { 'x-geo-country': 'de' } } }, 'a', 'rules dach:'],
  [
    'server-provided country wins',
    { client: { country: 'AT', headers: { 'x-geo-country': 'FR' } } },
    'a',
    'rules dach:',
  ],
  [
    'default header not configured here',
    { client: { headers: { 'cloudfront-viewer-country': 'DE' } } },
    'c',
    'rules default:',
  ],
  [
    'region with country prefix',
    { client: { headers: { 'x-geo-country': 'US', 'cloudfront-viewer-country-region': 'WA' } } },
    'b',
    'rules us-west:',
  ],
  ['bare region', { client: { headers: { 'x-region': 'or' } } }, 'b', 'rules us-west:'],
  ['ASN number', { client: { headers: { 'cloudfront-viewer-asn': '3320' } } }, 'c', 'rules telco:'],
  ['ASN with AS prefix', { client: { headers: { 'x-asn': 'as7922' } } }, 'c', 'rules telco:'],
  [
    'user agent on live',
    { client: { userAgent: 'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0)' } },
    'b',
    'rules tv:',
  ],
  [
    'user agent but VOD',
    { client: { userAgent: 'AppleTV11,1/11.1' }, stream: { live: false } },
    'c',
    'rules default:',
  ],
  ['stream + protocol', { stream: { id: 'movies', protocol: 'dash', live: false } }, 'c', 'rules vod-dash:'],
  [
    'stream, other protocol',
    { stream: { id: 'movies', protocol: 'hls', live: false } },
    'c',
    'rules default:',
  ],
  [
    'CMCD fields from the server',
    { client: { cmcd: { st: 'l', sf: 'h', ot: 'm', 'com.example-device': 'STB' } } },
    'a',
    'rules cmcd-live-hls:',
  ],
  [
    'CMCD from headers',
    { client: { headers: { 'cmcd-session': 'sf=h,st=l,com.example-device="stb"', 'cmcd-object': 'ot=v' } } },
    'a',
    'rules cmcd-live-hls:',
  ],
  ['CMCD field missing', { client: { cmcd: { st: 'l', sf: 'h', ot: 'm' } } }, 'c', 'rules default:'],
  ['first matching rule wins', { client: { country: 'DE', userAgent: 'AppleTV' } }, 'a', 'rules dach:'],
  ['nothing matches', {}, 'c', 'rules default: failover'],
];

describe('rules policy routing table', () => {
  it.each(table)('%s', (_name, req, expected, reason) => {
    const sel = policy.select(request(req));
    expect(sel.cdn).toBe(expected);
    expect(sel.reason.startsWith(reason)).toBe(true);
  });

  it('uses the child policy health logic', () => {
    const sel = policy.select(
      request({ client: { country: 'DE' }, cdns: [cdn('a', { healthy: false }), cdn('b'), cdn('c')] }),
    );
    expect(sel.cdn).not.toBe('a');
  });

  it('defaults to weighted for sessions no rule matches', () => {
    const p = build({ type: 'rules', rules: [] });
    expect(p.select(request()).reason).toBe('rules default: weighted: rendezvous');
  });

  it('reads CloudFront headers by default', () => {
    const p = build({
      type: 'rules',
      rules: [{ match: { country: 'FR' }, policy: { type: 'failover', order: ['b'] } }],
      default: { type: 'failover', order: ['a'] },
    });
    expect(p.select(request({ client: { headers: { 'cloudfront-viewer-country': 'FR' } } })).cdn).toBe('b');
    expect(p.select(request({ client: { headers: { 'cf-ipcountry': 'FR' } } })).reason).toMatch(/^rules #0:/);
  });

  it('validates rules, regexes and nested policies with paths', () => {
    expect(
      issues({
        type: 'rules',
        rules: [
          { match: { country: 5 }, policy: { type: 'weighted' } },
          { match: { userAgent: '(' }, policy: { type: 'weighted' } },
          { match: {}, policy: { type: 'failover', order: ['x'] } },
          { match: { stream: 's' } },
        ],
        default: { type: 'nope' },
      }),
    ).toEqual([
      'policy.rules.0.match.country: expected string or array, got number 5',
      'policy.rules.3.policy: expected a value, got nothing',
    ]);
    expect(
      issues({
        type: 'rules',
        rules: [
          { match: { userAgent: '(' }, policy: { type: 'weighted' } },
          { match: {}, policy: { type: 'failover', order: ['x'] } },
          { match: { stream: 's' }, policy: 'weighted' },
        ],
        default: { type: 'nope' },
      }),
    ).toEqual([
      expect.stringMatching(/^policy\.rules\.0\.match\.userAgent: expected a regular expression, got "\("/),
      'policy.rules.1.policy.order.0: unknown CDN "x" (expected one of a, b, c)',
      expect.stringMatching(/^policy\.rules\.2\.policy: expected a policy object/),
      expect.stringMatching(/^policy\.default\.type: unknown policy type "nope"/),
    ]);
  });
});
