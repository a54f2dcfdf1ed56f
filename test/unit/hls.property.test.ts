import fc from 'fast-check';
import { checkRoundTrip, parseOrCode } from './hls-support';

/** One playlist line and the URIs it carries, in text order. */
interface Line {
  text: string;
  uris: string[];
}
const line = (text: string, ...uris: string[]): Line => ({ text, uris });

const segmentName = fc.stringMatching(/^[A-Za-z0-9_.%{}$-]{1,10}$/).filter((s) => s !== '.' && s !== '..');
const query = fc.constantFrom(
  '',
  '?token=abc',
  '?hdnts=exp=1700000000~acl=%2Flive%2F*~hmac=0a1b2c',
  '?a=1&b=%2F+c==',
  '?v={$q}',
  '?_HLS_msn=12&_HLS_part=3',
);
const prefix = fc.constantFrom(
  '',
  './',
  '../',
  '/',
  'sub/',
  'https://origin.example.com/live1/',
  '//cdn.example.net/x/',
  'http://Other.Example:8080/',
  '{$base}/',
);
const httpUri = fc
  .tuple(prefix, fc.array(segmentName, { minLength: 1, maxLength: 3 }), query)
  .map(([p, segs, q]) => p + segs.join('/') + q);
const uri = fc.oneof(
  { weight: 8, arbitrary: httpUri },
  { weight: 1, arbitrary: fc.constantFrom('skd://key-1', 'data:text/plain;base64,AAAA', 'urn:x:y') },
);

const extraAttr = fc.constantFrom(
  'BANDWIDTH=1280000',
  'CODECS="avc1.4d401f,mp4a.40.2"',
  'NAME="a, b=c"',
  'X-FOO=BAR',
  'X-QUOTE="URI=x.m3u8,URI=y"',
  'RESOLUTION=640x360',
);
const sep = fc.constantFrom(',', ', ');
/** An attribute list with `uriAttr="<uri>"` somewhere among random others. */
const attrsWithUri = (uriAttr: string) =>
  fc
    .tuple(fc.array(extraAttr, { maxLength: 3 }), fc.nat(3), uri, sep)
    .map(([extra, at, u, s]): { text: string; uri: string } => {
      const all: string[] = [...extra];
      all.splice(Math.min(at, all.length), 0, `${uriAttr}="${u}"`);
      return { text: all.join(s), uri: u };
    });

const comment = fc.constantFrom(
  line('# a comment URI="not-a-slot"'),
  line('#EXT-X-UNKNOWN-TAG:URI="not-a-slot",X=1'),
  line('#EXTX-LOOKS-LIKE-A-TAG'),
  line(''),
  line('#'),
);
const tagWithUri = (tag: string, uriAttr = 'URI') =>
  attrsWithUri(uriAttr).map((a) => line(`#${tag}:${a.text}`, a.uri));

const mediaPre = fc.oneof(
  tagWithUri('EXT-X-KEY').map((l) => line(l.text.replace(':', ':METHOD=AES-128,'), ...l.uris)),
  fc.constant(line('#EXT-X-KEY:METHOD=NONE')),
  tagWithUri('EXT-X-MAP'),
  tagWithUri('EXT-X-PART').map((l) => line(l.text.replace(':', ':DURATION=1.0,'), ...l.uris)),
  fc
    .tuple(uri, uri, fc.boolean())
    .map(([a, b, listFirst]) =>
      listFirst
        ? line(
            `#EXT-X-DATERANGE:ID="i",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00.000Z",X-ASSET-LIST="${a}",X-ASSET-URI="${b}"`,
            a,
            b,
          )
        : line(`#EXT-X-DATERANGE:ID="j",START-DATE="2024-01-01T00:00:00.000Z",X-ASSET-URI="${a}"`, a),
    ),
  fc.constant(line('#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z')),
  fc.constant(line('#EXT-X-DISCONTINUITY')),
  comment,
);
const between = fc.oneof(
  fc.constant(line('#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:04.000Z')),
  fc.constant(line('#EXT-X-DISCONTINUITY')),
  fc.constant(line('#EXT-X-BYTERANGE:1000@0')),
  fc.constant(line('#EXT-X-GAP')),
  comment,
);
const uriLine = uri.filter((u) => !u.startsWith('#'));
const segment = fc
  .tuple(
    fc.array(mediaPre, { maxLength: 3 }),
    fc.constantFrom('4.0', '3.96', '2'),
    fc.constantFrom('', 'title', 'a, b'),
    fc.array(between, { maxLength: 2 }),
    uriLine,
  )
  .map(([pre, dur, title, mid, u]) => [...pre, line(`#EXTINF:${dur},${title}`), ...mid, line(u, u)]);

const mediaPlaylist = fc
  .tuple(
    fc.subarray([
      line('#EXT-X-VERSION:9'),
      line('#EXT-X-MEDIA-SEQUENCE:100'),
      line('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0'),
      line('#EXT-X-PART-INF:PART-TARGET=1.0'),
      line('#EXT-X-PLAYLIST-TYPE:EVENT'),
      line('#EXT-X-INDEPENDENT-SEGMENTS'),
    ]),
    fc.array(segment, { maxLength: 5 }),
    fc.array(
      fc.oneof(
        tagWithUri('EXT-X-PART').map((l) => line(l.text.replace(':', ':DURATION=1.0,'), ...l.uris)),
        tagWithUri('EXT-X-PRELOAD-HINT').map((l) => line(l.text.replace(':', ':TYPE=PART,'), ...l.uris)),
        tagWithUri('EXT-X-RENDITION-REPORT').map((l) => line(l.text + ',LAST-MSN=1', ...l.uris)),
        comment,
      ),
      { maxLength: 3 },
    ),
    fc.boolean(),
  )
  .map(([header, segs, tail, end]) => [
    line('#EXTM3U'),
    line('#EXT-X-TARGETDURATION:4'),
    ...header,
    ...segs.flat(),
    ...tail,
    ...(end ? [line('#EXT-X-ENDLIST')] : []),
  ]);

const masterItem = fc.oneof(
  fc
    .tuple(fc.array(extraAttr, { maxLength: 3 }), sep, uriLine)
    .map(([attrs, s, u]) => [line(`#EXT-X-STREAM-INF:${['BANDWIDTH=1', ...attrs].join(s)}`), line(u, u)]),
  tagWithUri('EXT-X-I-FRAME-STREAM-INF').map((l) => [line(l.text.replace(':', ':BANDWIDTH=2,'), ...l.uris)]),
  tagWithUri('EXT-X-MEDIA').map((l) => [
    line(l.text.replace(':', ':TYPE=AUDIO,GROUP-ID="aud",NAME="n",'), ...l.uris),
  ]),
  fc.constant([line('#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"')]),
  tagWithUri('EXT-X-SESSION-DATA').map((l) => [line(l.text.replace(':', ':DATA-ID="com.x",'), ...l.uris)]),
  tagWithUri('EXT-X-SESSION-KEY').map((l) => [line(l.text.replace(':', ':METHOD=AES-128,'), ...l.uris)]),
  tagWithUri('EXT-X-CONTENT-STEERING', 'SERVER-URI').map((l) => [l]),
  fc.constant([line('#EXT-X-DEFINE:NAME="base",VALUE="https://v.example/"')]),
  comment.map((l) => [l]),
);
const masterPlaylist = fc
  .array(masterItem, { minLength: 1, maxLength: 8 })
  .map((items) => [line('#EXTM3U'), ...items.flat()]);

/** Joins lines with random line ends, indentation and trailing blanks. */
const playlist = fc
  .tuple(fc.oneof(mediaPlaylist, masterPlaylist), fc.infiniteStream(fc.nat(7)), fc.boolean())
  .map(([lines, noise, finalNewline]) => {
    const ends = ['\n', '\n', '\n', '\r\n', '\r\n', '\n', ' \n', '\t\r\n'];
    const text = lines
      .map((l, i) => {
        const n = noise.next().value;
        const indent = n === 7 && l.text !== '' ? ' ' : '';
        const end = i === lines.length - 1 && !finalNewline ? '' : ends[n];
        return indent + l.text + end;
      })
      .join('');
    return { text, uris: lines.flatMap((l) => l.uris) };
  });

describe('parseHls properties', () => {
  test('generated playlists: every URI is a slot, identity render, m3u8-parser structure kept', () => {
    fc.assert(
      fc.property(playlist, ({ text, uris }) => {
        const parsed = parseOrCode(text);
        if (typeof parsed === 'string') throw new Error(`rejected a valid playlist: ${parsed}`);
        expect(parsed.template.slots.map((s) => s.original)).toEqual(uris);
        checkRoundTrip(text, parsed);
      }),
      { numRuns: 400 },
    );
  });

  const mutation = fc.oneof(
    fc.record({ op: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({
      op: fc.constant('flip' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      ch: fc.constantFrom('"', '\n', '\r', '#', ',', '=', ':', ' ', 'A', '\uFEFF', '\u0000', '/'),
    }),
    fc.record({ op: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ op: fc.constant('duplicate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

  function mangle(text: string, m: Mutation): string {
    const pos = Math.floor(m.at * text.length);
    switch (m.op) {
      case 'truncate':
        return text.slice(0, pos);
      case 'flip':
        return text.slice(0, pos) + m.ch + text.slice(pos + 1);
      case 'delete':
      case 'duplicate': {
        const lines = text.split('\n');
        const i = Math.min(lines.length - 1, Math.floor(m.at * lines.length));
        if (m.op === 'delete') lines.splice(i, 1);
        else lines.splice(i, 0, lines[i] as string);
        return lines.join('\n');
      }
    }
  }

  test('mangled playlists: a valid template or MANIFEST_INVALID / NOT_A_MANIFEST, nothing else', () => {
    fc.assert(
      fc.property(playlist, fc.array(mutation, { minLength: 1, maxLength: 4 }), ({ text }, ms) => {
        const mangled = ms.reduce(mangle, text);
        const parsed = parseOrCode(mangled);
        if (typeof parsed === 'string') {
          expect(['MANIFEST_INVALID', 'NOT_A_MANIFEST']).toContain(parsed);
          return;
        }
        checkRoundTrip(mangled, parsed);
      }),
      { numRuns: 1500 },
    );
  });

  test('arbitrary text never throws anything but a SwitchyardError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (junk) => {
        const parsed = parseOrCode('#EXTM3U\n' + junk);
        if (typeof parsed !== 'string') checkRoundTrip('#EXTM3U\n' + junk, parsed);
      }),
      { numRuns: 500 },
    );
  });
});
