/** Unit tests of the DASH rewriter: one per URL-bearing place, detection, errors and info. */
import { SwitchyardError } from '../../src/errors';
import { looksLikeDash, parseDash, parseDuration } from '../../src/manifest/dash';
import { parseManifest } from '../../src/manifest/load';
import { CDN_PREFIX, MPD_URL, ORIGIN_BASE, SESSION_PREFIX, outsideSlots, rewrite } from './rewrite';

const NS = 'xmlns="urn:mpeg:dash:schema:mpd:2011"';
const mpd = (body: string, attrs = 'type="static"'): string =>
  `<?xml version="1.0"?>\n<MPD ${NS} ${attrs}>\n  <BaseURL>./</BaseURL>\n${body}\n</MPD>\n`;
const period = (inner: string): string =>
  mpd(
    `  <Period><AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="1">${inner}</Representation></AdaptationSet></Period>`,
  );
const CDN = CDN_PREFIX + 'dash/';

function expectInvalid(text: string, pattern?: RegExp): void {
  let err: unknown;
  try {
    parseDash(text, MPD_URL, ORIGIN_BASE);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SwitchyardError);
  expect((err as SwitchyardError).code).toBe('MANIFEST_INVALID');
  expect((err as SwitchyardError).status).toBe(502);
  if (pattern) expect((err as SwitchyardError).message).toMatch(pattern);
}

describe('URL-bearing places', () => {
  it('MPD BaseURL (relative) becomes absolute on the CDN', () => {
    const { text } = rewrite(mpd('  <Period/>'));
    expect(text).toContain(`<BaseURL>${CDN}</BaseURL>`);
  });

  it('several MPD BaseURLs keep @serviceLocation and DVB attributes; foreign ones stay', () => {
    const input = mpd(
      '  <BaseURL serviceLocation="a" dvb:priority="1" dvb:weight="2" xmlns:dvb="urn:dvb:dash:dash-extensions:2014-1">http://origin.test/vod/x/</BaseURL>\n' +
        '  <BaseURL serviceLocation="b">https://other.example/x/</BaseURL>\n  <Period/>',
    );
    const { text } = rewrite(input);
    expect(text).toContain(
      `<BaseURL serviceLocation="a" dvb:priority="1" dvb:weight="2" xmlns:dvb="urn:dvb:dash:dash-extensions:2014-1">${CDN_PREFIX}x/</BaseURL>`,
    );
    expect(text).toContain('<BaseURL serviceLocation="b">https://other.example/x/</BaseURL>');
  });

  it('Period, AdaptationSet and Representation BaseURLs: relative ones follow the rewritten parent', () => {
    const input = mpd(
      '  <Period><BaseURL>p/</BaseURL><AdaptationSet><BaseURL>as/</BaseURL><Representation id="1" bandwidth="1"><BaseURL>r/</BaseURL></Representation></AdaptationSet></Period>',
    );
    const { text, manifest } = rewrite(input);
    expect(text).toContain('<BaseURL>p/</BaseURL><AdaptationSet><BaseURL>as/</BaseURL>');
    expect(text).toContain('<BaseURL>r/</BaseURL>');
    expect(manifest.template.slots.map((s) => s.kind)).toEqual(['base-url']);
  });

  it('absolute BaseURLs on the origin at any level move to the CDN', () => {
    const { text } = rewrite(period('<BaseURL>http://origin.test/vod/dash/r/</BaseURL>'));
    expect(text).toContain(`<BaseURL>${CDN}r/</BaseURL>`);
  });

  it.each([
    ['media', 'seg-$Number%05d$.m4s'],
    ['initialization', 'init-$RepresentationID$.mp4'],
    ['index', '$Bandwidth$-$Time$-$SubNumber$-$$.sidx'],
  ])(
    'SegmentTemplate@%s keeps its $identifiers$ (relative: as written; absolute: on the CDN)',
    (attr, ref) => {
      const rel = rewrite(period(`<SegmentTemplate ${attr}="${ref}"/>`));
      expect(rel.text).toContain(`${attr}="${ref}"`);
      const abs = rewrite(period(`<SegmentTemplate ${attr}="http://origin.test/vod/dash/${ref}"/>`));
      expect(abs.text).toContain(`${attr}="${CDN}${ref}"`);
      expect(abs.manifest.template.slots[1]?.kind).toBe(
        attr === 'media' ? 'segment-template' : attr === 'index' ? 'representation-index' : 'initialization',
      );
    },
  );

  it('SegmentList/SegmentURL@media and @index, Initialization@sourceURL', () => {
    const { text } = rewrite(
      period(
        '<SegmentList><Initialization sourceURL="/vod/dash/i.mp4"/><SegmentURL media="/vod/dash/1.m4s" index="/vod/dash/1.sidx"/><SegmentURL media="2.m4s"/></SegmentList>',
      ),
    );
    expect(text).toContain(`<Initialization sourceURL="${CDN}i.mp4"/>`);
    expect(text).toContain(
      `<SegmentURL media="${CDN}1.m4s" index="${CDN}1.sidx"/><SegmentURL media="2.m4s"/>`,
    );
  });

  it('SegmentBase Initialization@sourceURL and RepresentationIndex@sourceURL', () => {
    const { text } = rewrite(
      period(
        '<SegmentBase indexRange="1-2"><Initialization sourceURL="//origin.test/vod/dash/i.mp4" range="0-1"/><RepresentationIndex sourceURL="http://origin.test/vod/dash/x.sidx"/></SegmentBase>',
      ),
    );
    expect(text).toContain(`<Initialization sourceURL="${CDN}i.mp4" range="0-1"/>`);
    expect(text).toContain(`<RepresentationIndex sourceURL="${CDN}x.sidx"/>`);
  });

  it('Location and PatchLocation go back through the session URL', () => {
    const { text, manifest } = rewrite(
      mpd(
        '  <Location>manifest.mpd</Location>\n  <PatchLocation ttl="60">p.mpp</PatchLocation>\n  <Period/>',
        'type="dynamic"',
      ),
    );
    expect(text).toContain(`<Location>${SESSION_PREFIX}dash/manifest.mpd</Location>`);
    expect(text).toContain(`<PatchLocation ttl="60">${SESSION_PREFIX}dash/p.mpp</PatchLocation>`);
    expect(manifest.template.slots.map((s) => s.kind)).toEqual(['base-url', 'location', 'patch-location']);
  });

  it('a dynamic MPD without Location gets one (after the BaseURLs, indented alike)', () => {
    const { text } = rewrite(mpd('  <Period/>', 'type="dynamic"'));
    expect(text).toContain(
      `  <BaseURL>${CDN}</BaseURL>\n  <Location>${SESSION_PREFIX}dash/manifest.mpd</Location>\n  <Period/>`,
    );
  });

  it('a static MPD gets no Location', () => {
    expect(rewrite(mpd('  <Period/>')).text).not.toContain('<Location>');
  });

  it('ContentSteering is made absolute and stays on the steering server', () => {
    const { text } = rewrite(
      mpd('  <ContentSteering defaultServiceLocation="a">steer.json</ContentSteering>\n  <Period/>'),
    );
    expect(text).toContain(
      '<ContentSteering defaultServiceLocation="a">http://origin.test/vod/dash/steer.json</ContentSteering>',
    );
  });

  it('Period@xlink:href goes through Switchyard; resolve-to-zero stays', () => {
    const { text } = rewrite(
      mpd(
        '  <Period xmlns:xl="http://www.w3.org/1999/xlink" xl:href="remote/p1.xml"/>\n  <Period xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="urn:mpeg:dash:resolve-to-zero:2013"/>',
      ),
    );
    expect(text).toContain(`xl:href="${SESSION_PREFIX}dash/remote/p1.xml"`);
    expect(text).toContain('xlink:href="urn:mpeg:dash:resolve-to-zero:2013"');
  });

  it('UTCTiming, EventStream and ContentProtection license URLs are untouched', () => {
    const input = mpd(
      '  <Period><EventStream schemeIdUri="x"><Event messageData="http://origin.test/vod/e"/></EventStream>' +
        '<AdaptationSet><ContentProtection schemeIdUri="urn:uuid:1"><dashif:Laurl xmlns:dashif="https://dashif.org/CPS">http://origin.test/vod/lic</dashif:Laurl></ContentProtection></AdaptationSet></Period>\n' +
        '  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="http://origin.test/vod/time"/>',
    );
    const { text, manifest } = rewrite(input);
    expect(manifest.template.slots).toHaveLength(1);
    expect(text).toContain('messageData="http://origin.test/vod/e"');
    expect(text).toContain('>http://origin.test/vod/lic</dashif:Laurl>');
    expect(text).toContain('value="http://origin.test/vod/time"');
  });

  it('elements of other namespaces named like DASH ones are left alone', () => {
    const { manifest } = rewrite(
      period('<x:BaseURL xmlns:x="urn:other">http://origin.test/vod/a/</x:BaseURL>'),
    );
    expect(manifest.template.slots).toHaveLength(1);
  });

  it('no MPD BaseURL: one is inserted for the MPD folder, relative templates are not touched', () => {
    const input = `<MPD ${NS}><Period><AdaptationSet><SegmentTemplate media="$Number$.m4s"/><Representation id="1" bandwidth="1"/></AdaptationSet></Period></MPD>`;
    const { text, manifest } = rewrite(input);
    expect(text).toBe(
      `<MPD ${NS}><BaseURL>${CDN}</BaseURL><Period><AdaptationSet><SegmentTemplate media="$Number$.m4s"/><Representation id="1" bandwidth="1"/></AdaptationSet></Period></MPD>`,
    );
    expect(manifest.template.slots[0]).toMatchObject({ kind: 'base-url', role: 'media', path: 'dash/' });
    expect(outsideSlots(manifest)).toBe(input);
  });

  it('entities: decoded for resolution, the emitted URL re-escaped, prefixes escaped by manifest.escape', () => {
    const input = period('<BaseURL>http://origin.test/vod/dash/a&amp;b/?t=1&#38;u=&quot;2&quot;</BaseURL>');
    const parsed = parseManifest(input, MPD_URL, ORIGIN_BASE, 'application/dash+xml');
    const slot = parsed.template.slots[1];
    expect(slot?.path).toBe('dash/a&amp;b/?t=1&amp;u=&quot;2&quot;');
    expect(parsed.escape?.('http://cdn/?a=1&b="<>')).toBe('http://cdn/?a=1&amp;b=&quot;&lt;&gt;');
  });
});

describe('detection and errors', () => {
  it.each([
    ['<MPD/>', true],
    ['\ufeff<?xml version="1.0"?>\n<!-- c -->\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">', true],
    ['<dash:MPD xmlns:dash="urn:mpeg:dash:schema:mpd:2011">', true],
    ['<MPDX/>', false],
    ['#EXTM3U', false],
    ['<html><MPD/></html>', false],
  ])('looksLikeDash(%j) = %s', (text, expected) => {
    expect(looksLikeDash(text)).toBe(expected);
  });

  it('parseManifest: MPD by content whatever the content type', () => {
    const parsed = parseManifest(mpd('<Period/>'), MPD_URL, ORIGIN_BASE, 'text/plain');
    expect(parsed.contentType).toBe('application/dash+xml');
    expect(parsed.info).toMatchObject({ protocol: 'dash', kind: 'media', live: false });
    expect(() => parseManifest('<html/>', MPD_URL, ORIGIN_BASE, 'application/dash+xml')).toThrow(
      expect.objectContaining({ code: 'MANIFEST_INVALID' }),
    );
  });

  it.each([
    ['truncated', mpd('<Period>').slice(0, 60)],
    ['mismatched tags', `<MPD ${NS}><Period></AdaptationSet></MPD>`],
    ['unquoted attribute', `<MPD ${NS} type=static/>`],
    ['bare ampersand', `<MPD ${NS}><BaseURL>a&b</BaseURL></MPD>`],
    ['unknown entity', `<MPD ${NS}><BaseURL>&nbsp;</BaseURL></MPD>`],
    ['two roots', `<MPD ${NS}/><MPD ${NS}/>`],
    ['undeclared prefix', `<x:MPD/>`],
    ['not an MPD root', `<?xml version="1.0"?><MPD/><x/>`],
  ])('%s → MANIFEST_INVALID', (_name, text) => {
    expectInvalid(text);
  });

  it('refuses DTDs: XXE and billion laughs never reach an XML parser', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY x SYSTEM "file:///etc/passwd">]><MPD ${NS}><BaseURL>&x;</BaseURL></MPD>`;
    const laughs = `<!DOCTYPE MPD [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><MPD ${NS}>&b;</MPD>`;
    expect(looksLikeDash(xxe)).toBe(true);
    expectInvalid(xxe, /DTD/);
    expectInvalid(laughs, /DTD/);
  });
});

describe('info', () => {
  it('a dynamic MPD is live; its TTL is half the minimumUpdatePeriod, at least 500 ms', () => {
    const live = (mup: string) =>
      rewrite(
        mpd(
          '<Period start="PT0S"><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="$Number$.m4s" duration="2" startNumber="1"/><Representation id="v" bandwidth="1"/></AdaptationSet></Period>',
          `type="dynamic" availabilityStartTime="2024-01-01T00:00:00Z" timeShiftBufferDepth="PT30S" minimumUpdatePeriod="${mup}"`,
        ),
      ).manifest.info;
    expect(live('PT4S')).toMatchObject({ live: true, minimumUpdatePeriodMs: 4000, liveTtlMs: 2000 });
    expect(live('PT0.2S').liveTtlMs).toBe(500);
    expect(live('PT4S').newestSegmentPath).toMatch(/^dash\/\d+\.m4s$/);
  });

  it('an MPD that would expand to millions of segments is understood from its attributes alone', () => {
    // Expanding the ~1.8e9 segments since 1970 could not finish within the test's timeout (nor fit in
    // memory): that it returns at all is the claim, no stopwatch needed.
    const { manifest } = rewrite(
      mpd(
        '<Period start="PT0S"><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="$Number$.m4s" duration="1" startNumber="1"/><Representation id="v" bandwidth="1"/></AdaptationSet></Period>',
        'type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" minimumUpdatePeriod="PT2S"',
      ),
    );
    expect(manifest.info).toMatchObject({ live: true, liveTtlMs: 1000, newestSegmentPath: undefined });
  });

  it('newestSegmentPath of a VOD MPD is its last segment', () => {
    const { manifest } = rewrite(
      mpd(
        '<Period duration="PT6S"><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="s$Number$.m4s" duration="2" startNumber="1"/><Representation id="v" bandwidth="1"/></AdaptationSet></Period>',
        'type="static" mediaPresentationDuration="PT6S"',
      ),
    );
    expect(manifest.info).toMatchObject({ live: false, newestSegmentPath: 'dash/s3.m4s' });
  });

  it.each([
    ['PT2S', 2000],
    ['PT1M30.5S', 90500],
    ['P1DT1H', 90000000],
    ['PT0S', 0],
    ['2S', undefined],
    ['-PT1S', undefined],
  ])('parseDuration(%s) = %s', (v, ms) => {
    expect(parseDuration(v)).toBe(ms);
  });
});

describe('undeclared namespace prefixes', () => {
  it('are read as players read them: kept byte for byte, never taken for MPD elements', () => {
    const text = mpd(
      '<foo:BaseURL>http://elsewhere.test/x/</foo:BaseURL><Period><AdaptationSet mimeType="video/mp4"><ContentProtection cenc:default_KID="1"><cenc:pssh>AA==</cenc:pssh></ContentProtection><SegmentTemplate media="$Number$.m4s" duration="2" startNumber="1"/><Representation id="v" bandwidth="1"/></AdaptationSet></Period>',
    );
    const { text: out } = rewrite(text);
    expect(out).toContain('<foo:BaseURL>http://elsewhere.test/x/</foo:BaseURL>');
    expect(out).toContain('<cenc:pssh>AA==</cenc:pssh>');
    // foo:BaseURL is not an MPD BaseURL: the MPD still gets its inserted CDN BaseURL.
    expect(out).toContain(`<BaseURL>${CDN_PREFIX}dash/</BaseURL>`);
  });
});

describe('documents an MPD refers to', () => {
  const period = `<Period xmlns="urn:mpeg:dash:schema:mpd:2011" id="x"><BaseURL>${ORIGIN_BASE}ads/</BaseURL></Period>`;
  const patch =
    '<Patch xmlns="urn:mpeg:dash:schema:mpd-patch:2020" xmlns:p="urn:ietf:params:xml:schema:patchops" mpdId="m" originalPublishTime="2026-01-01T00:00:00Z" publishTime="2026-01-01T00:00:02Z">' +
    '<p:replace sel="/MPD/PatchLocation[1]"><PatchLocation>next.mpp</PatchLocation></p:replace></Patch>';

  it('a remote Period and an MPD Patch are rewritten like MPDs, with their own content types', () => {
    const remote = parseManifest(
      period + period.replace('id="x"', 'id="y"'),
      MPD_URL,
      ORIGIN_BASE,
      'text/xml',
    );
    expect(remote.contentType).toBe('application/xml');
    expect(remote.dashDocument).toBe('remote-element');
    expect(remote.template.slots.map((s) => s.kind)).toEqual(['base-url', 'base-url']);
    const p = parseManifest(patch, MPD_URL, ORIGIN_BASE, undefined);
    expect(p.contentType).toBe('application/dash-patch+xml');
    expect(p.template.slots).toEqual([
      expect.objectContaining({ kind: 'patch-location', role: 'playlist', path: 'dash/next.mpp' }),
    ]);
  });

  it('anything else is still refused with MANIFEST_INVALID', () => {
    expectInvalid(`<Representation xmlns="urn:mpeg:dash:schema:mpd:2011" id="v"/>`);
    expectInvalid('<Patch xmlns="urn:example:other"/>');
    expect(() => parseManifest('<Period><x></Period>', MPD_URL, ORIGIN_BASE, undefined)).toThrow(
      expect.objectContaining({ code: 'MANIFEST_INVALID' }),
    );
  });
});
