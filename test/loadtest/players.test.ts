import { readMpd } from '../../src/loadtest/dash';
import {
  chooseByBandwidth,
  isMasterPlaylist,
  parseMasterVariants,
  parseMediaPlaylist,
  withPlayerQuery,
} from '../../src/loadtest/hls';
import { renderHtml } from '../../src/loadtest/html';
import { buildEntries, cdnResolver } from '../../src/loadtest/run';

const MPD_TIMELINE = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT12S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <BaseURL>https://cdn-a.test/edge/vod/dash/</BaseURL>
  <Period id="p0">
    <AdaptationSet mimeType="video/mp4" segmentAlignment="true">
      <SegmentTemplate timescale="1000" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/t$Time$.m4s">
        <SegmentTimeline><S t="0" d="2000" r="5"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="v0" bandwidth="60000" codecs="avc1.4d401e" width="160" height="90"/>
      <Representation id="v1" bandwidth="150000" codecs="avc1.4d401e" width="320" height="180"/>
    </AdaptationSet>
  </Period>
</MPD>`;

const MPD_LIST = `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S" availabilityStartTime="2024-01-01T00:00:00Z" publishTime="2024-01-01T00:00:00Z" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Location>https://switchyard.test/s/tok/live/manifest.mpd</Location>
  <Period id="p0" start="PT0S">
    <AdaptationSet mimeType="video/mp4">
      <Representation id="v0" bandwidth="80000" codecs="avc1.4d401e" width="160" height="90">
        <SegmentList timescale="1000" duration="2000">
          <Initialization sourceURL="v0/init.mp4"/>
          <SegmentURL media="v0/1.m4s"/>
          <SegmentURL media="v0/2.m4s"/>
          <SegmentURL media="v0/3.m4s"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`;

describe('DASH player view of an MPD (mpd-parser)', () => {
  it('reads SegmentTemplate + SegmentTimeline URLs through the BaseURL, picking by bandwidth', () => {
    const low = readMpd(MPD_TIMELINE, 'https://switchyard.test/s/tok/vod/manifest.mpd', 'lowest');
    expect(low).toMatchObject({ dynamic: false, representationId: 'v0', bandwidth: 60000 });
    expect(low.segments).toHaveLength(6);
    expect(low.segments[0]).toMatchObject({
      uri: 'https://cdn-a.test/edge/vod/dash/v0/t0.m4s',
      init: 'https://cdn-a.test/edge/vod/dash/v0/init.mp4',
      durationS: 2,
    });
    expect(low.segments[5]?.uri).toBe('https://cdn-a.test/edge/vod/dash/v0/t10000.m4s');
    const high = readMpd(MPD_TIMELINE, 'https://switchyard.test/s/tok/vod/manifest.mpd', 'highest');
    expect(high.representationId).toBe('v1');
    // A refresh keeps the Representation chosen first, whatever the choice rule says.
    const kept = readMpd(MPD_TIMELINE, 'https://switchyard.test/x.mpd', 'highest', { previousId: 'v0' });
    expect(kept.representationId).toBe('v0');
  });

  it('reads SegmentList URLs, minimumUpdatePeriod and Location of a dynamic MPD', () => {
    const snap = readMpd(MPD_LIST, 'https://switchyard.test/s/tok/live/manifest.mpd', 'lowest', {
      now: Date.parse('2024-01-01T00:01:00Z'),
    });
    expect(snap).toMatchObject({
      dynamic: true,
      minimumUpdatePeriodMs: 2000,
      location: 'https://switchyard.test/s/tok/live/manifest.mpd',
      segmentDurationS: 2,
    });
    expect(snap.segments.map((s) => s.uri)).toEqual([
      'https://switchyard.test/s/tok/live/v0/1.m4s',
      'https://switchyard.test/s/tok/live/v0/2.m4s',
      'https://switchyard.test/s/tok/live/v0/3.m4s',
    ]);
    expect(snap.segments[0]?.init).toBe('https://switchyard.test/s/tok/live/v0/init.mp4');
  });

  it('refuses what is not an MPD', () => {
    expect(() => readMpd('<html/>', 'https://x.test/a.mpd', 'lowest')).toThrow(/MPD/);
  });
});

describe('HLS player view of playlists', () => {
  const MASTER = `#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=200200,RESOLUTION=320x180,CODECS="avc1.4d401e,mp4a.40.2"
/s/tok/live/v1/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=101200,CODECS="avc1.4d401e,mp4a.40.2"
/s/tok/live/v0/index.m3u8
`;

  it('finds variants and picks lowest, highest or random', () => {
    expect(isMasterPlaylist(MASTER)).toBe(true);
    const variants = parseMasterVariants(MASTER, 'http://127.0.0.1:8080/live/master.m3u8');
    expect(variants).toEqual([
      {
        uri: 'http://127.0.0.1:8080/s/tok/live/v1/index.m3u8',
        bandwidth: 200200,
        copyKey: '200200|320x180|avc1.4d401e,mp4a.40.2|',
      },
      {
        uri: 'http://127.0.0.1:8080/s/tok/live/v0/index.m3u8',
        bandwidth: 101200,
        copyKey: '101200||avc1.4d401e,mp4a.40.2|',
      },
    ]);
    expect(chooseByBandwidth(variants, 'lowest')?.bandwidth).toBe(101200);
    expect(chooseByBandwidth(variants, 'highest')?.bandwidth).toBe(200200);
    expect(chooseByBandwidth(variants, 'random', () => 0.99)?.bandwidth).toBe(101200);
  });

  it('reads byte ranges, init sections and absolute segment URIs', () => {
    const snap = parseMediaPlaylist(
      `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2,
#EXT-X-BYTERANGE:100@0
http://cdn-a.test/vod/main.mp4
#EXTINF:2,
#EXT-X-BYTERANGE:50
http://cdn-a.test/vod/main.mp4
#EXT-X-ENDLIST
`,
      'http://127.0.0.1:8080/s/tok/vod/v0/index.m3u8',
    );
    expect(snap.endList).toBe(true);
    expect(snap.segments.map((s) => [s.msn, s.range, s.map])).toEqual([
      [0, 'bytes=0-99', 'http://127.0.0.1:8080/s/tok/vod/v0/init.mp4'],
      [1, 'bytes=100-149', 'http://127.0.0.1:8080/s/tok/vod/v0/init.mp4'],
    ]);
    expect(() => parseMediaPlaylist('#EXTM3U\nseg.ts\n', 'http://x.test/a.m3u8')).toThrow(/TARGETDURATION/);
  });

  it('adds its own query to a URL without re-encoding the one it had', () => {
    expect(withPlayerQuery('http://x.test/a.m3u8?tok=a~b%2F=', [['_HLS_msn', '5']])).toBe(
      'http://x.test/a.m3u8?tok=a~b%2F=&_HLS_msn=5',
    );
    expect(withPlayerQuery('http://x.test/a.m3u8', [])).toBe('http://x.test/a.m3u8');
  });
});

describe('run wiring', () => {
  it('expands instances × streams and filters by protocol', () => {
    const entries = buildEntries(
      ['http://127.0.0.1:1/', 'http://127.0.0.1:2/x/live.mpd'],
      ['live', 'dash/m.mpd'],
      'mix',
    );
    expect(entries).toEqual([
      { instance: 0, url: 'http://127.0.0.1:1/live/master.m3u8', protocol: 'hls' },
      { instance: 0, url: 'http://127.0.0.1:1/dash/m.mpd', protocol: 'dash' },
      { instance: 1, url: 'http://127.0.0.1:2/x/live.mpd', protocol: 'dash' },
    ]);
    expect(buildEntries(['http://127.0.0.1:1/'], ['live'], 'hls')).toHaveLength(1);
    expect(() => buildEntries(['http://127.0.0.1:1/'], ['live'], 'dash')).toThrow(/no DASH stream/);
  });

  it('names segment hosts by CDN', () => {
    const cdnOf = cdnResolver([{ id: 'a', url: 'http://127.0.0.1:9101/' }]);
    expect(cdnOf('http://127.0.0.1:9101/live/seg_1.ts')).toBe('a');
    expect(cdnOf('http://127.0.0.1:9999/live/seg_1.ts')).toBe('127.0.0.1:9999');
  });
});

describe('HTML report', () => {
  it('is self-contained: inline SVG, no external references', () => {
    const html = renderHtml({
      version: 1,
      startedAt: '2024-01-01T00:00:00.000Z',
      durationMs: 2000,
      settings: { note: '<script>' },
      sessions: { target: 1, started: 1, ended: 1 },
      manifests: {
        requests: 2,
        errors: 0,
        perSecond: 1,
        latencyMs: { count: 2, p50: 1, p90: 1, p99: 2, p999: 2, max: 2, mean: 1.5 },
        blockingReloads: 0,
        blockingLatencyMs: { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 },
      },
      segments: {
        requests: 2,
        errors: 0,
        latencyMs: { count: 2, p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 },
        byCdn: { a: { requests: 2, errors: 0, bytes: 10, share: 1 } },
      },
      errors: { total: 0, duringDetection: 0, afterEvacuation: 0, byKind: {} },
      switches: { total: 0, sessionsSwitched: 0, meanPerSession: 0, p50: 0, p99: 0, max: 0 },
      playback: {
        lostSegments: 0,
        sessionsWithLoss: 0,
        maxLostPerSession: 0,
        fallbacks: 0,
        stallMs: {
          total: 0,
          sessionsStalled: 0,
          meanPerSession: 0,
          p99PerSession: 0,
          maxPerSession: 0,
          longest: 0,
        },
      },
      origin: { fetches: 1, perManifestRequest: 0.5 },
      faults: [
        {
          spec: 'at=1s cdn=a down',
          cdn: 'a',
          action: 'down',
          outage: true,
          atMs: 1000,
          endMs: null,
          evacuateMs: null,
          requestsAfterFault: 1,
          lastRequestMs: 1500,
        },
      ],
      evacuateMs: null,
      evacuateBoundMs: null,
      timeline: [0, 1].map((t) => ({
        t,
        sessions: 1,
        manifests: 1,
        errors: 0,
        p50: 1,
        p99: 2,
        segmentsByCdn: { a: 1 },
        share: { a: 1 },
      })),
      instances: [],
      expectations: [],
      passed: true,
    });
    expect(html).toContain('<svg');
    expect(html).toContain('a down');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});

describe('a live MPD with ranked BaseURLs (one per CDN)', () => {
  const mpd = (now: string) => `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S" availabilityStartTime="2024-01-01T00:00:00Z" publishTime="${now}" timeShiftBufferDepth="PT10S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <BaseURL serviceLocation="b">https://cdn-b.test/live/</BaseURL>
  <BaseURL serviceLocation="a">https://cdn-a.test/live/</BaseURL>
  <Period id="0" start="PT0S">
    <AdaptationSet mimeType="video/mp4">
      <Representation id="0" bandwidth="60000" codecs="avc1.4d401e" width="160" height="90">
        <SegmentTemplate timescale="1000" duration="2000" initialization="init-$RepresentationID$.m4s" media="live-$RepresentationID$-$Number$.m4s" startNumber="1"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`;

  test('identifies a segment by its reference, so a refresh adds only the newly published ones', () => {
    const url = 'https://switchyard.test/s/tok/live/manifest.mpd';
    const t0 = Date.parse('2024-01-01T00:01:00Z');
    const first = readMpd(mpd('2024-01-01T00:01:00Z'), url, 'lowest', { now: t0 });
    const later = readMpd(mpd('2024-01-01T00:01:04Z'), url, 'lowest', { now: t0 + 4000 });
    const seen = new Set(first.segments.map((s) => s.key));
    const fresh = later.segments.filter((s) => !seen.has(s.key));
    // Two segments of 2 s were published in the 4 s between the two refreshes.
    expect(fresh.map((s) => s.uri.replace(/.*\//, ''))).toEqual(
      later.segments.slice(-2).map((s) => s.uri.replace(/.*\//, '')),
    );
    expect(fresh).toHaveLength(2);
    // Each segment is offered on both CDNs, the session's first.
    expect(fresh[0]?.copies.map((c) => c.location)).toEqual(['b', 'a']);
  });
});
