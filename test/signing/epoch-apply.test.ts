import { authSchema, createSigner, mintTimes, usageNeedMs } from '../../src/signing';
import { signTemplate, withToken, type TemplateSigning } from '../../src/signing/apply';
import { parseHls } from '../../src/manifest/hls';
import { parseDash } from '../../src/manifest/dash';
import { render } from '../../src/manifest/template';

const KEY = '52a152a152a152a152a152a152a1';
const MIN = 60_000;

describe('epochs and expiry', () => {
  it('every moment of one epoch gets the same token times; the next epoch new ones', () => {
    const window = 10 * MIN;
    const base = 1_764_547_200_000; // a multiple of the 2.5 min epoch
    const a = mintTimes(base, window, 0, false);
    const b = mintTimes(base + 2.5 * MIN - 1, window, 0, false);
    const c = mintTimes(base + 2.5 * MIN, window, 0, false);
    expect(b).toEqual(a);
    expect(c.key).not.toBe(a.key);
    expect(a.times.start).toBe(base / 1000);
    // Served at the epoch's last moment, a token still has the whole window ahead.
    expect(a.times.expires * 1000 - (base + 2.5 * MIN)).toBeGreaterThanOrEqual(window);
  });

  it('a need longer than the window (DVR) extends the lifetime, rounded up to whole epochs', () => {
    const window = 4 * MIN; // 1 min epochs
    const need = 30 * MIN + 7_000;
    const t = mintTimes(0, window, need, false);
    expect(t.times.expires * 1000).toBe(MIN + 31 * MIN);
    // A DVR window that varies by a segment keeps the same token.
    expect(mintTimes(0, window, need + 2_000, false)).toEqual(t);
  });

  it('a CDN-side lifetime (Cloudflare) is counted from the epoch start; a need beyond it is reported', () => {
    const t = mintTimes(3 * MIN + 5, 8 * MIN, 5 * MIN, true);
    expect(t.times.start).toBe((2 * MIN) / 1000);
    expect(t.shortfallMs).toBe(0);
    expect(mintTimes(0, 8 * MIN, 7 * MIN, true).shortfallMs).toBe(MIN);
  });

  it('need: live HLS = reload + a segment + the DVR window (+3 target durations with parts); VOD and DASH = maxAge', () => {
    const live = {
      protocol: 'hls' as const,
      kind: 'media' as const,
      live: true,
      targetDuration: 6,
      totalDuration: 60,
    };
    expect(usageNeedMs(live, 86_400_000)).toBe(72_000);
    expect(usageNeedMs({ ...live, partTarget: 1 }, 86_400_000)).toBe(90_000);
    expect(usageNeedMs({ ...live, live: false, totalDuration: 7200 }, 3_600_000)).toBe(7_200_000);
    expect(usageNeedMs({ ...live, live: false }, 3_600_000)).toBe(3_600_000);
    expect(
      usageNeedMs(
        { protocol: 'dash', kind: 'media', live: true, minimumUpdatePeriodMs: 2000, dvrWindowMs: 30_000 },
        1,
      ),
    ).toBe(34_000);
  });
});

function signing(config: Record<string, unknown>, over: Partial<TemplateSigning> = {}): TemplateSigning {
  const auth = authSchema.parse(config);
  const signer = createSigner(auth, { streamId: 'live1', streamPrefix: 'https://cdn-a.example.com/live1/' });
  return {
    signer,
    keepOriginQuery: auth.keepOriginQuery,
    mediaPrefix: 'https://cdn-a.example.com/live1/',
    media: true,
    keys: false,
    xml: false,
    token: (t) => signer.sign(t, { start: 100, expires: 200 }),
    ...over,
  };
}

describe('putting tokens into URIs', () => {
  const s = signing({ scheme: 'akamai-token2', key: KEY });
  const token = 'hdnts=st=100~exp=200~acl=/live1/*~hmac=';

  it('appends to a path, keeps the origin query (minus the token parameter) or drops it, keeps a fragment', () => {
    expect(withToken('v0/seg.ts', s, 'v0/seg.ts', false)).toMatch(
      /^v0\/seg\.ts\?hdnts=st=100~exp=200~acl=\/live1\/\*~hmac=[0-9a-f]{64}$/,
    );
    expect(withToken('v0/seg.ts?o=1&hdnts=old', s, undefined, false)).toMatch(
      /^v0\/seg\.ts\?o=1&hdnts=st=100/,
    );
    const drop = signing({ scheme: 'akamai-token2', key: KEY, keepOriginQuery: false });
    expect(withToken('v0/seg.ts?o=1#t=5', drop, undefined, false)).toMatch(/^v0\/seg\.ts\?hdnts=[^#]+#t=5$/);
  });

  it('signs every CDN-bound HLS URI (segments, MAP, PART, PRELOAD-HINT, SESSION-DATA) and nothing else', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-PART-INF:PART-TARGET=1',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXT-X-KEY:METHOD=AES-128,URI="key.bin"',
      '#EXTINF:4,',
      'seg_1.m4s?o=1',
      '#EXT-X-PART:DURATION=1,URI="seg_2.p0.m4s"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_2.p1.m4s"',
      '#EXT-X-RENDITION-REPORT:URI="../v1/index.m3u8",LAST-MSN=1',
      '',
    ].join('\n');
    const { template } = parseHls(text, 'http://origin/live1/v0/index.m3u8', 'http://origin/live1/');
    const signed = signTemplate(template, s);
    const out = render(signed, (slot) =>
      slot.path === undefined ? slot.absolute : (slot.role === 'playlist' ? 'SW/' : 'CDN/') + slot.path,
    );
    expect(out).toContain(`URI="CDN/v0/init.mp4?${token}`);
    expect(out).toContain(`CDN/v0/seg_1.m4s?o=1&${token}`);
    expect(out).toContain(`URI="CDN/v0/seg_2.p0.m4s?${token}`);
    expect(out).toContain(`URI="CDN/v0/seg_2.p1.m4s?${token}`);
    expect(out).toContain('URI="CDN/v0/key.bin"'); // keys.via origin: no CDN token
    expect(out).toContain('URI="SW/v1/index.m3u8"');
    const withKeys = signTemplate(template, { ...s, keys: true });
    expect(render(withKeys, (slot) => slot.path ?? slot.absolute)).toContain(`v0/key.bin?${token}`);
  });

  it('DASH: the token goes on SegmentTemplate@media/@initialization ($ escaped) and SegmentURL, not on a folder BaseURL', () => {
    const mpd = `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period>
    <AdaptationSet mimeType="video/mp4">
      <SegmentTemplate media="v_$Number$.m4s?a=1&amp;b=2" initialization="v_init.mp4" duration="2" startNumber="1"/>
      <Representation id="v" bandwidth="1000"/>
    </AdaptationSet>
    <AdaptationSet mimeType="audio/mp4">
      <Representation id="a" bandwidth="100">
        <SegmentList duration="2"><Initialization sourceURL="a_init.mp4"/><SegmentURL media="a_1.m4s"/></SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`;
    const { template } = parseDash(mpd, 'http://origin/live1/m.mpd', 'http://origin/live1/');
    const cf = signing(
      {
        scheme: 'cloudfront',
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: testPem(),
        resource: 'https://cdn-a.example.com/{stream}/*',
      },
      { xml: true, token: () => 'Policy=x$y&Key-Pair-Id=K&Signature=s' },
    );
    const out = render(signTemplate(template, cf), (slot) =>
      slot.path === undefined ? slot.absolute : 'https://cdn/' + slot.path,
    );
    expect(out).toContain(
      'media="v_$Number$.m4s?a=1&amp;b=2&amp;Policy=x$$y&amp;Key-Pair-Id=K&amp;Signature=s"',
    );
    expect(out).toContain('initialization="v_init.mp4?Policy=x$$y&amp;');
    expect(out).toContain('sourceURL="a_init.mp4?Policy=x$y&amp;');
    expect(out).toContain('media="a_1.m4s?Policy=x$y&amp;');
    expect(out).toContain('<BaseURL>https://cdn/</BaseURL>');
  });

  it('a per-URL scheme signs each DASH SegmentURL on its own, and refuses a SegmentTemplate with a clear error', () => {
    const mpd = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S"><Period><AdaptationSet>
<Representation id="a" bandwidth="1"><SegmentList duration="2"><SegmentURL media="a_1.m4s"/></SegmentList></Representation>
</AdaptationSet></Period></MPD>`;
    const { template } = parseDash(mpd, 'http://origin/live1/m.mpd', 'http://origin/live1/');
    const seen: string[] = [];
    const fastly = signing(
      { scheme: 'fastly-token', key: 'iqFPeN2u+Z0Lm5IrsKaOFKRqEU5Gw8ePtaEkHZWuD24=' },
      { xml: true, token: (t) => (seen.push(t.path), 'token=1') },
    );
    signTemplate(template, fastly);
    expect(seen).toEqual(['/live1/a_1.m4s']);
    const tpl = parseDash(
      mpd.replace(
        '<SegmentList duration="2"><SegmentURL media="a_1.m4s"/></SegmentList>',
        '<SegmentTemplate media="$Number$.m4s" duration="2"/>',
      ),
      'http://origin/live1/m.mpd',
      'http://origin/live1/',
    ).template;
    expect(() => signTemplate(tpl, fastly)).toThrow(/SegmentTemplate names no single URL/);
  });
});

let pem: string | undefined;
function testPem(): string {
  if (pem === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { generateKeyPairSync } = require('node:crypto') as typeof import('node:crypto');
    pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
  }
  return pem;
}
