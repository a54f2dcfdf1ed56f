/**
 * The manifests of the benchmark, generated so every run measures the same bytes: live media playlists
 * of 10, 100 and 1,000 segments (6 s target, realistic names), an audio playlist, a master of 8
 * variants and a dynamic MPD.
 */
export interface BenchManifest {
  readonly name: string;
  readonly file: string;
  readonly text: string;
  readonly protocol: 'hls' | 'dash';
}

export function mediaPlaylist(segments: number, firstMsn = 184_000, folder = 'video/720p'): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:6',
    `#EXT-X-MEDIA-SEQUENCE:${firstMsn}`,
    '#EXT-X-DISCONTINUITY-SEQUENCE:12',
  ];
  const t0 = Date.UTC(2024, 0, 1, 12, 0, 0);
  for (let i = 0; i < segments; i++) {
    const msn = firstMsn + i;
    if (i % 10 === 0) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(t0 + i * 6000).toISOString()}`);
    lines.push('#EXTINF:6.006,', `${folder}/segment_${msn}.ts`);
  }
  return lines.join('\n') + '\n';
}

export function masterPlaylist(variants = 8): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  lines.push(
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8"',
  );
  const ladder = [
    [416, 234, 145_000],
    [640, 360, 365_000],
    [768, 432, 730_000],
    [960, 540, 2_000_000],
    [1280, 720, 3_000_000],
    [1280, 720, 4_500_000],
    [1920, 1080, 6_000_000],
    [1920, 1080, 7_800_000],
  ] as const;
  for (let i = 0; i < variants; i++) {
    const [w, h, bw] = ladder[i % ladder.length] as readonly [number, number, number];
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${bw},AVERAGE-BANDWIDTH=${Math.round(bw * 0.9)},RESOLUTION=${w}x${h},CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=29.970,AUDIO="aac"`,
      `video/${h}p_${i}/index.m3u8`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * A live (dynamic) MPD as packagers write it for 2 s segments: one Period, SegmentTemplate with a
 * SegmentTimeline per AdaptationSet, five video Representations and one audio.
 */
export function dynamicMpd(segments = 30): string {
  const timeline = (timescale: number) =>
    `<SegmentTimeline><S t="${184_000 * 2 * timescale}" d="${2 * timescale}" r="${segments - 1}"/></SegmentTimeline>`;
  const video = [
    [416, 234, 145_000],
    [640, 360, 365_000],
    [960, 540, 2_000_000],
    [1280, 720, 3_000_000],
    [1920, 1080, 6_000_000],
  ] as const;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic"',
    '  availabilityStartTime="2024-01-01T00:00:00Z" publishTime="2024-01-01T10:13:20Z" minimumUpdatePeriod="PT2S"',
    '  timeShiftBufferDepth="PT60S" suggestedPresentationDelay="PT6S" minBufferTime="PT2S" maxSegmentDuration="PT2S">',
    '  <Period id="p0" start="PT0S">',
    '    <AdaptationSet id="1" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">',
    `      <SegmentTemplate timescale="90000" initialization="video/$RepresentationID$/init.mp4" media="video/$RepresentationID$/$Time$.m4s">${timeline(90_000)}</SegmentTemplate>`,
    ...video.map(
      ([w, h, bw]) =>
        `      <Representation id="v${h}" bandwidth="${bw}" width="${w}" height="${h}" codecs="avc1.64001f" frameRate="30000/1001"/>`,
    ),
    '    </AdaptationSet>',
    '    <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" lang="en" segmentAlignment="true">',
    `      <SegmentTemplate timescale="48000" initialization="audio/$RepresentationID$/init.mp4" media="audio/$RepresentationID$/$Time$.m4s">${timeline(48_000)}</SegmentTemplate>`,
    '      <Representation id="a128" bandwidth="128000" codecs="mp4a.40.2" audioSamplingRate="48000"/>',
    '    </AdaptationSet>',
    '  </Period>',
    '</MPD>',
    '',
  ].join('\n');
}

export const BENCH_MANIFESTS: readonly BenchManifest[] = [
  { name: 'media-10', file: 'media-10.m3u8', text: mediaPlaylist(10), protocol: 'hls' },
  { name: 'media-100', file: 'media-100.m3u8', text: mediaPlaylist(100), protocol: 'hls' },
  { name: 'media-1000', file: 'media-1000.m3u8', text: mediaPlaylist(1000), protocol: 'hls' },
  {
    name: 'audio-100',
    file: 'audio-100.m3u8',
    text: mediaPlaylist(100, 184_000, 'audio/en'),
    protocol: 'hls',
  },
  { name: 'master-8', file: 'master-8.m3u8', text: masterPlaylist(8), protocol: 'hls' },
  { name: 'live-mpd', file: 'live.mpd', text: dynamicMpd(), protocol: 'dash' },
];

export const BENCH_SECRET = 'bench-only-secret-0123456789abcdef';
export const BENCH_STREAM = 'bench';
/** The same origin as a steering-mode stream (HLS Content Steering / DASH DCSM). */
export const BENCH_STEERING_STREAM = 'bench-steering';
/** Segment prefix of the naive reference (never contacted); Switchyard's CDNs are on the bench origin. */
export const CDN_BASE = 'http://127.0.0.1:9/cdn-a/';
