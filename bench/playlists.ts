/**
 * The manifests of the benchmark, generated so every run measures the same bytes: live media playlists
 * of 10, 100 and 1,000 segments (6 s target, realistic names) and a master of 8 variants.
 */
export interface BenchManifest {
  readonly name: string;
  readonly file: string;
  readonly text: string;
}

export function mediaPlaylist(segments: number, firstMsn = 184_000): string {
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
    lines.push('#EXTINF:6.006,', `video/720p/segment_${msn}.ts`);
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

export const BENCH_MANIFESTS: readonly BenchManifest[] = [
  { name: 'media-10', file: 'media-10.m3u8', text: mediaPlaylist(10) },
  { name: 'media-100', file: 'media-100.m3u8', text: mediaPlaylist(100) },
  { name: 'media-1000', file: 'media-1000.m3u8', text: mediaPlaylist(1000) },
  { name: 'master-8', file: 'master-8.m3u8', text: masterPlaylist(8) },
];

export const BENCH_SECRET = 'bench-only-secret-0123456789abcdef';
export const BENCH_STREAM = 'bench';
/** Segment prefix of the naive reference (never contacted); Switchyard's CDNs are on the bench origin. */
export const CDN_BASE = 'http://127.0.0.1:9/cdn-a/';
