import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseMpd } from 'mpd-parser';
import { parseDash } from '../../src/manifest/dash';
import { failoverMpd, steeringMpd, type ServiceLocation } from '../../src/manifest/dash-steering';
import { render } from '../../src/manifest/template';
import { MPD_URL, ORIGIN_BASE, SESSION_PREFIX, mapSlot } from '../dash/rewrite';

const FIXTURE = readFileSync(join(__dirname, '../../fixtures/media/dash/manifest.mpd'), 'utf8');
const STEERING = { serverUri: 'https://sy.test/s/TOKEN/dash-steering.json', defaultServiceLocation: 'b' };
const cdn = (id: string) => `https://cdn-${id}.test/edge/vod/`;
const location = (id: string): ServiceLocation => ({ id, mapSlot: (s) => mapSlot(s, cdn(id)) });
const NS = 'xmlns="urn:mpeg:dash:schema:mpd:2011"';

function steer(text: string, ids: readonly string[] = ['b', 'a'], steering = STEERING) {
  const { template } = parseDash(text, MPD_URL, ORIGIN_BASE);
  return { template, out: steeringMpd(template, ids.map(location), steering) };
}

describe('steeringMpd', () => {
  test('the ffmpeg MPD: one MPD-level BaseURL per CDN and a ContentSteering element; players see both', () => {
    const { template, out } = steer(FIXTURE);
    expect(out).toContain(
      `\t<BaseURL serviceLocation="b">${cdn('b')}dash/</BaseURL>\n\t<BaseURL serviceLocation="a">${cdn('a')}dash/</BaseURL>\n\t<ServiceDescription id="0">`,
    );
    // Last child of MPD (its place in the schema), indented like its siblings.
    expect(out).toContain(
      '\t</Period>\n\t<ContentSteering defaultServiceLocation="b" queryBeforeStart="false">' +
        'https://sy.test/s/TOKEN/dash-steering.json</ContentSteering>\n</MPD>',
    );

    const parsed = parseMpd(out, { manifestUri: 'https://sy.test/s/TOKEN/vod/dash/manifest.mpd' });
    expect(parsed.contentSteering).toEqual({
      serverURL: STEERING.serverUri,
      defaultServiceLocation: 'b',
      queryBeforeStart: false,
    });
    const playlists = [
      ...(parsed.playlists ?? []),
      ...Object.values(parsed.mediaGroups?.AUDIO ?? {}).flatMap((g) =>
        Object.values(g).flatMap((m) => m.playlists),
      ),
    ];
    const byLocation = new Map<string, string[]>();
    for (const p of playlists) {
      const loc = String(p.attributes.serviceLocation);
      byLocation.set(loc, [...(byLocation.get(loc) ?? []), ...p.segments.map((s) => s.resolvedUri)]);
    }
    expect([...byLocation.keys()].sort()).toEqual(['a', 'b']);
    for (const [loc, uris] of byLocation) {
      expect(uris.length).toBeGreaterThanOrEqual(18); // 6 segments x 3 representations
      for (const uri of uris) expect(uri.startsWith(`${cdn(loc)}dash/chunk-stream`)).toBe(true);
    }

    // Lossless: without the added elements and attribute, it is rewrite mode's rendering for the first CDN.
    const stripped = out
      .replace(/\n\t<BaseURL serviceLocation="a">[^<]*<\/BaseURL>/, '')
      .replace(/\n\t<ContentSteering[^>]*>[^<]*<\/ContentSteering>/, '')
      .replace(' serviceLocation="b"', '');
    expect(stripped).toBe(render(template, location('b').mapSlot));
  });

  test("the origin's BaseURLs: CDN ones repeated per location (attributes kept), foreign ones kept once", () => {
    const input =
      `<?xml version="1.0"?>\r\n<MPD ${NS} xmlns:dvb="urn:dvb:dash:dash-extensions:2014-1" type="static" mediaPresentationDuration="PT4S">\r\n` +
      '  <BaseURL serviceLocation="origin" dvb:priority="1">http://origin.test/vod/x/</BaseURL>\r\n' +
      '  <BaseURL serviceLocation="partner">https://partner.example/x/</BaseURL>\r\n' +
      '  <ContentSteering defaultServiceLocation="origin">https://steer.example/old</ContentSteering>\r\n' +
      '  <Period><BaseURL>http://origin.test/vod/x/p1/</BaseURL><AdaptationSet mimeType="video/mp4">' +
      '<SegmentTemplate media="$Number$.m4s" duration="1" startNumber="1"/>' +
      '<Representation id="v" bandwidth="1"/></AdaptationSet></Period>\r\n</MPD>\r\n';
    const { out } = steer(input, ['a', 'b'], { ...STEERING, defaultServiceLocation: 'a' });
    expect(out).toContain(
      `  <BaseURL serviceLocation="a" dvb:priority="1">${cdn('a')}x/</BaseURL>\r\n` +
        `  <BaseURL serviceLocation="b" dvb:priority="1">${cdn('b')}x/</BaseURL>\r\n` +
        '  <BaseURL serviceLocation="partner">https://partner.example/x/</BaseURL>\r\n' +
        '  <ContentSteering defaultServiceLocation="a" queryBeforeStart="false">' +
        'https://sy.test/s/TOKEN/dash-steering.json</ContentSteering>\r\n  <Period>',
    );
    expect(out).not.toContain('steer.example');
    expect(out.match(/<ContentSteering/g)).toHaveLength(1);
    // An absolute BaseURL lower down would pin every location to one CDN: it is repeated too.
    expect(out).toContain(
      `<Period><BaseURL serviceLocation="a">${cdn('a')}x/p1/</BaseURL><BaseURL serviceLocation="b">${cdn('b')}x/p1/</BaseURL><AdaptationSet`,
    );
    const parsed = parseMpd(out, { manifestUri: MPD_URL });
    // The Period's absolute BaseURLs override the MPD's (the partner's included): each location's
    // segments are on its own CDN.
    const playlists = parsed.playlists ?? [];
    expect(new Set(playlists.map((p) => p.attributes.serviceLocation))).toEqual(new Set(['a', 'b']));
    for (const p of playlists) {
      const loc = String(p.attributes.serviceLocation);
      expect(p.segments[0]?.resolvedUri).toBe(`${cdn(loc)}x/p1/1.m4s`);
    }
  });

  test('namespace prefixes, escaping, a dynamic MPD, and one layout serving many renderings', () => {
    const input =
      '<mpd:MPD xmlns:mpd="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S">' +
      '<mpd:Period id="1"><mpd:AdaptationSet><mpd:Representation id="v" bandwidth="1"/></mpd:AdaptationSet></mpd:Period>' +
      '</mpd:MPD>';
    const { template } = parseDash(input, MPD_URL, ORIGIN_BASE);
    const steering = {
      serverUri: 'https://sy.test/s/T/dash-steering.json?a=1&b=2',
      defaultServiceLocation: 'x&y',
    };
    const first = steeringMpd(template, [location('x&y'), location('b')], steering);
    expect(first).toContain(
      `<mpd:BaseURL serviceLocation="x&amp;y">${cdn('x&y').replace('&', '&amp;')}dash/</mpd:BaseURL>` +
        `<mpd:BaseURL serviceLocation="b">${cdn('b')}dash/</mpd:BaseURL>` +
        `<mpd:Location serviceLocation="x&amp;y">${SESSION_PREFIX}dash/manifest.mpd</mpd:Location>` +
        `<mpd:Location serviceLocation="b">${SESSION_PREFIX}dash/manifest.mpd</mpd:Location>`,
    );
    expect(first).toMatch(
      /<\/mpd:Period><mpd:ContentSteering defaultServiceLocation="x&amp;y" queryBeforeStart="false">https:\/\/sy\.test\/s\/T\/dash-steering\.json\?a=1&amp;b=2<\/mpd:ContentSteering><\/mpd:MPD>$/,
    );
    // Location carries @serviceLocation like BaseURL; every copy leads back to the session's URL.
    const again = steeringMpd(template, [location('c')], {
      ...steering,
      defaultServiceLocation: 'c',
      queryBeforeStart: true,
    });
    expect(again).toContain(
      `<mpd:BaseURL serviceLocation="c">${cdn('c')}dash/</mpd:BaseURL><mpd:Location serviceLocation="c">`,
    );
    expect(again).toContain('defaultServiceLocation="c" queryBeforeStart="true"');
    expect(again).not.toContain('serviceLocation="b"');
  });

  test('ContentSteering inside ServiceDescription is replaced too; PatchLocation per location; queryBeforeStart kept', () => {
    const input =
      '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S">\n' +
      '  <PatchLocation ttl="60">patch.mpp</PatchLocation>\n' +
      '  <ServiceDescription id="0">\n' +
      '    <ContentSteering defaultServiceLocation="o" queryBeforeStart="true">https://steer.example/sd</ContentSteering>\n' +
      '  </ServiceDescription>\n' +
      '  <Period id="1"><AdaptationSet><Representation id="v" bandwidth="1"/></AdaptationSet></Period>\n' +
      '</MPD>';
    const { template } = parseDash(input, MPD_URL, ORIGIN_BASE);
    const out = steeringMpd(template, [location('a'), location('b')], {
      ...STEERING,
      defaultServiceLocation: 'a',
    });
    expect(out).not.toContain('steer.example');
    const element = `<ContentSteering defaultServiceLocation="a" queryBeforeStart="true">${STEERING.serverUri}</ContentSteering>`;
    // Inside ServiceDescription, and at MPD level (shaka reads only that one).
    expect(out).toContain(`<ServiceDescription id="0">\n    ${element}\n  </ServiceDescription>`);
    expect(out).toContain(`</Period>\n  ${element}\n</MPD>`);
    expect(out).toContain(
      `<PatchLocation serviceLocation="a" ttl="60">${SESSION_PREFIX}dash/patch.mpp</PatchLocation>\n` +
        `  <PatchLocation serviceLocation="b" ttl="60">${SESSION_PREFIX}dash/patch.mpp</PatchLocation>`,
    );
    expect(out).toContain(`<Location serviceLocation="a">${SESSION_PREFIX}dash/manifest.mpd</Location>`);
    // The config decides when it says so.
    const off = steeringMpd(template, [location('a')], { ...STEERING, queryBeforeStart: false });
    expect(off).not.toContain('queryBeforeStart="true"');
  });

  test('no location is an error', () => {
    const { template } = parseDash(FIXTURE, MPD_URL, ORIGIN_BASE);
    expect(() => steeringMpd(template, [], STEERING)).toThrow(/no service location/);
  });
});

describe('failoverMpd', () => {
  const fail = (text: string, ids: readonly string[]) => {
    const { template } = parseDash(text, MPD_URL, ORIGIN_BASE);
    return { template, out: failoverMpd(template, ids.map(location)) };
  };

  test('one BaseURL per CDN in ranked order, with serviceLocation and DVB priority/weight; no steering', () => {
    const { template, out } = fail(FIXTURE, ['b', 'a']);
    expect(out).toContain(
      `\t<BaseURL serviceLocation="b" dvb:priority="1" dvb:weight="1">${cdn('b')}dash/</BaseURL>\n` +
        `\t<BaseURL serviceLocation="a" dvb:priority="2" dvb:weight="1">${cdn('a')}dash/</BaseURL>\n`,
    );
    expect(out).toMatch(/^[\s\S]*<MPD xmlns:dvb="urn:dvb:dash:dash-extensions:2014-1" /);
    expect(out).not.toContain('ContentSteering');

    // players resolve every segment under either CDN, the ranked first listed first
    const parsed = parseMpd(out, { manifestUri: 'https://sy.test/s/TOKEN/vod/dash/manifest.mpd' });
    const locs = (parsed.playlists ?? []).map((p) => String(p.attributes.serviceLocation));
    expect(new Set(locs)).toEqual(new Set(['a', 'b']));
    expect(locs[0]).toBe('b');

    // Lossless: without the additions it is rewrite mode's rendering for the first CDN.
    const stripped = out
      .replace(/\n\t<BaseURL serviceLocation="a" dvb:priority="2"[^>]*>[^<]*<\/BaseURL>/, '')
      .replace(' serviceLocation="b" dvb:priority="1" dvb:weight="1"', '')
      .replace(' xmlns:dvb="urn:dvb:dash:dash-extensions:2014-1"', '');
    expect(stripped).toBe(render(template, location('b').mapSlot));
  });

  test('an MPD that binds DVB already: its prefix, its attributes replaced, no second declaration', () => {
    const mpd = `<?xml version="1.0"?>
<MPD ${NS} xmlns:d="urn:dvb:dash:dash-extensions:2014-1" type="static" mediaPresentationDuration="PT4S">
  <BaseURL serviceLocation="o" d:priority="5" d:weight="3">http://origin.test/vod/</BaseURL>
  <Period><AdaptationSet mimeType="video/mp4"><SegmentTemplate media="s$Number$.m4s" initialization="i.mp4" duration="2" startNumber="1"/><Representation id="v" bandwidth="1000"/></AdaptationSet></Period>
</MPD>`;
    const { out } = fail(mpd, ['a', 'b', 'c']);
    expect(out.match(/xmlns:d=/g)).toHaveLength(1);
    expect(out).not.toContain('xmlns:dvb');
    expect(out).toContain(
      `<BaseURL serviceLocation="a" d:priority="1" d:weight="1">${cdn('a')}</BaseURL>\n` +
        `  <BaseURL serviceLocation="b" d:priority="2" d:weight="1">${cdn('b')}</BaseURL>\n` +
        `  <BaseURL serviceLocation="c" d:priority="3" d:weight="1">${cdn('c')}</BaseURL>`,
    );
  });
});
