/**
 * Manifests an origin under attack (or a broken packager) sends: each one cost the old parsers seconds
 * of event loop, hundreds of MB or a 500. Generated, so the tests and the hostile soak share them.
 */

const MPD_OPEN =
  '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" ' +
  'mediaPresentationDuration="PT4S" profiles="urn:mpeg:dash:profile:isoff-live:2011">\n';

/** `perLevel` BaseURLs at each of MPD, Period, AdaptationSet and Representation (1.6 kB at 14). */
export function baseUrlFanOutMpd(perLevel: number): string {
  const bases = (indent: string) =>
    Array.from({ length: perLevel }, (_, i) => `${indent}<BaseURL>b${i}/</BaseURL>\n`).join('');
  return (
    MPD_OPEN +
    bases('  ') +
    '  <Period>\n' +
    bases('    ') +
    '    <AdaptationSet mimeType="video/mp4">\n' +
    bases('      ') +
    '      <Representation id="v" bandwidth="1000">\n' +
    bases('        ') +
    '        <SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" duration="4" startNumber="1"/>\n' +
    '      </Representation>\n    </AdaptationSet>\n  </Period>\n</MPD>\n'
  );
}

/** One Representation with `count` extra attributes (a quadratic duplicate check took 2 s at 30,000). */
export function manyAttributesMpd(count: number): string {
  const attrs = Array.from({ length: count }, (_, i) => ` x${i}="${i}"`).join('');
  return (
    MPD_OPEN +
    '  <Period><AdaptationSet mimeType="video/mp4">\n' +
    `    <Representation id="v" bandwidth="1000"${attrs}>\n` +
    '      <SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" duration="4" startNumber="1"/>\n' +
    '    </Representation></AdaptationSet></Period>\n</MPD>\n'
  );
}

/** Elements nested `depth` deep inside a Representation (a recursive walk overflows its stack). */
export function deepMpd(depth: number): string {
  return (
    MPD_OPEN +
    '  <Period><AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="1000">\n' +
    '    <SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" duration="4" startNumber="1"/>\n' +
    '<Period>'.repeat(depth) +
    '</Period>'.repeat(depth) +
    '\n  </Representation></AdaptationSet></Period>\n</MPD>\n'
  );
}

/** A VOD media playlist of `count` segments without EXT-X-TARGETDURATION (a spread into Math.max gave 500). */
export function noTargetDurationPlaylist(count: number): string {
  const parts = ['#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n'];
  for (let i = 0; i < count; i++) parts.push(`#EXTINF:${i === 7 ? '6.5' : '2.0'},\ns${i}.ts\n`);
  parts.push('#EXT-X-ENDLIST\n');
  return parts.join('');
}

/** `count` tag lines without a colon (a search for ":" ran past each line's end: quadratic). */
export function colonlessLinesPlaylist(count: number): string {
  return (
    '#EXTM3U\n#EXT-X-TARGETDURATION:2\n' + '#EXT-X-GAP\n'.repeat(count) + '#EXTINF:2,\na.ts\n#EXT-X-ENDLIST\n'
  );
}

/** A media playlist with `count` segments (several lines each), for the line and segment caps. */
export function longPlaylist(count: number): string {
  const parts = ['#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n'];
  for (let i = 0; i < count; i++) parts.push(`#EXTINF:2.0,\nseg_${i}.ts\n`);
  parts.push('#EXT-X-ENDLIST\n');
  return parts.join('');
}

/** A master with `count` variants. */
export function manyVariantsMaster(count: number): string {
  const parts = ['#EXTM3U\n'];
  for (let i = 0; i < count; i++) parts.push(`#EXT-X-STREAM-INF:BANDWIDTH=${1000 + i}\nv${i}/index.m3u8\n`);
  return parts.join('');
}

/**
 * Attribute lists that players accept and m3u8-parser threw on: a trailing comma, an item without
 * "=", a bare flag in the middle.
 */
export const TOLERATED_PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n' +
  '#EXT-X-MAP:URI="init.mp4",\n' +
  '#EXT-X-KEY:METHOD=AES-128,URI="key.bin",IV=0x00000000000000000000000000000001,\n' +
  '#EXTINF:2.0,\nseg_0.m4s\n#EXTINF:2.0,\nseg_1.m4s\n' +
  '#EXT-X-RENDITION-REPORT:URI="other.m3u8",LAST-MSN\n' +
  '#EXT-X-DATERANGE:ID="ad",FLAG,START-DATE="2024-01-01T00:00:00Z"\n';
