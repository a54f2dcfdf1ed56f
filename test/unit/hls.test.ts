import { SwitchyardError } from '../../src/errors';
import { findAttribute, looksLikeHls, parseHls } from '../../src/manifest/hls';
import { render, type Slot } from '../../src/manifest/template';
import { makeSlot } from '../../src/manifest/uri';
import { checkRoundTrip, m3u8, ORIGIN_BASE, PLAYLIST_URL } from './hls-support';

const parse = (text: string, url = PLAYLIST_URL) => parseHls(text, url, ORIGIN_BASE);
const slotsOf = (text: string) =>
  parse(text).template.slots.map((s) => ({ kind: s.kind, role: s.role, original: s.original }));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    return (err as SwitchyardError).code;
  }
  throw new Error('expected a throw');
}

const MASTER = [
  '#EXTM3U',
  '#EXT-X-VERSION:7',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXT-X-CONTENT-STEERING:SERVER-URI="/steer/manifest.json?sid=1",PATHWAY-ID="cdn-a"',
  '#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="meta/title.json"',
  '#EXT-X-SESSION-DATA:DATA-ID="com.example.lang",VALUE="en"',
  '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://key-1",KEYFORMAT="com.apple.streamingkeydelivery"',
  '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="../keys/k1.key?t=a%2Fb"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, main",LANGUAGE="en",DEFAULT=YES,URI="audio/en.m3u8"',
  '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"',
  '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",URI="//subs.example.net/de.m3u8"',
  '# a comment with URI="not-a-slot.m3u8"',
  '#EXT-X-UNKNOWN-VENDOR:URI="unknown-tag.m3u8",X=1',
  '#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="aud",SUBTITLES="subs",CLOSED-CAPTIONS="cc"',
  '720p/index.m3u8?hdnts=exp=1~acl=/*~hmac=0a1b',
  '#EXT-X-STREAM-INF:BANDWIDTH=640000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"',
  'https://other.example.org/360p.m3u8',
  '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,CODECS="avc1.4d401f",URI="720p/iframes.m3u8"',
  '',
].join('\n');

const MEDIA = [
  '#EXTM3U',
  '#EXT-X-VERSION:9',
  '#EXT-X-TARGETDURATION:4',
  '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=24.0',
  '#EXT-X-PART-INF:PART-TARGET=1.0',
  '#EXT-X-MEDIA-SEQUENCE:100',
  '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k?id=7&sig=%2B%3D",IV=0x00000000000000000000000000000001',
  '#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"',
  '#EXT-X-DATERANGE:ID="ad1",CLASS="com.apple.hls.interstitial",START-DATE="2024-01-01T00:00:00.000Z",X-ASSET-LIST="/ads/list.json?x=1,2",X-ASSET-URI="ads/ad1.m3u8"',
  '#EXTINF:4.0,title, with comma',
  '#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z',
  '#EXT-X-DISCONTINUITY',
  '#EXT-X-BYTERANGE:1000@0',
  'seg_100.m4s?token=abc',
  '#EXT-X-PART:DURATION=1.0,URI="part_101.0.m4s",INDEPENDENT=YES',
  '#EXT-X-PART:DURATION=1.0,URI="/abs/part_101.1.m4s"',
  '#EXTINF:4.0,',
  '../up/seg_101.m4s',
  '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,AAAA",KEYFORMAT="identity"',
  '#EXT-X-PART:DURATION=1.0,URI="part_102.0.m4s"',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_102.1.m4s"',
  '#EXT-X-RENDITION-REPORT:URI="../720p/index.m3u8",LAST-MSN=101,LAST-PART=0',
  '',
].join('\n');

describe('parseHls: every URI-bearing place is a slot', () => {
  test('master playlist', () => {
    expect(slotsOf(MASTER)).toEqual([
      { kind: 'steering', role: 'absolute', original: '/steer/manifest.json?sid=1' },
      { kind: 'session-data', role: 'media', original: 'meta/title.json' },
      { kind: 'session-key', role: 'key', original: 'skd://key-1' },
      { kind: 'session-key', role: 'key', original: '../keys/k1.key?t=a%2Fb' },
      { kind: 'rendition', role: 'playlist', original: 'audio/en.m3u8' },
      { kind: 'rendition', role: 'playlist', original: '//subs.example.net/de.m3u8' },
      { kind: 'variant', role: 'playlist', original: '720p/index.m3u8?hdnts=exp=1~acl=/*~hmac=0a1b' },
      { kind: 'variant', role: 'playlist', original: 'https://other.example.org/360p.m3u8' },
      { kind: 'iframe-variant', role: 'playlist', original: '720p/iframes.m3u8' },
    ]);
  });

  test('media playlist', () => {
    expect(slotsOf(MEDIA)).toEqual([
      { kind: 'key', role: 'key', original: 'https://keys.example.com/k?id=7&sig=%2B%3D' },
      { kind: 'map', role: 'media', original: 'init.mp4' },
      { kind: 'interstitial-list', role: 'absolute', original: '/ads/list.json?x=1,2' },
      { kind: 'interstitial-asset', role: 'playlist', original: 'ads/ad1.m3u8' },
      { kind: 'segment', role: 'media', original: 'seg_100.m4s?token=abc' },
      { kind: 'part', role: 'media', original: 'part_101.0.m4s' },
      { kind: 'part', role: 'media', original: '/abs/part_101.1.m4s' },
      { kind: 'segment', role: 'media', original: '../up/seg_101.m4s' },
      { kind: 'key', role: 'key', original: 'data:text/plain;base64,AAAA' },
      { kind: 'part', role: 'media', original: 'part_102.0.m4s' },
      { kind: 'preload-hint', role: 'media', original: 'part_102.1.m4s' },
      { kind: 'rendition-report', role: 'playlist', original: '../720p/index.m3u8' },
    ]);
  });

  test('slots resolve against the playlist URL and place themselves under the origin base', () => {
    const byOriginal = new Map(parse(MEDIA).template.slots.map((s) => [s.original, s]));
    const pick = (o: string) => {
      const s = byOriginal.get(o) as Slot;
      return [s.absolute, s.path];
    };
    expect(pick('seg_100.m4s?token=abc')).toEqual([
      'https://origin.example.com/live1/sub/seg_100.m4s?token=abc',
      'sub/seg_100.m4s?token=abc',
    ]);
    expect(pick('../up/seg_101.m4s')).toEqual([
      'https://origin.example.com/live1/up/seg_101.m4s',
      'up/seg_101.m4s',
    ]);
    expect(pick('/abs/part_101.1.m4s')).toEqual(['https://origin.example.com/abs/part_101.1.m4s', undefined]);
    expect(pick('https://keys.example.com/k?id=7&sig=%2B%3D')).toEqual([
      'https://keys.example.com/k?id=7&sig=%2B%3D',
      undefined,
    ]);
    expect(pick('data:text/plain;base64,AAAA')).toEqual(['data:text/plain;base64,AAAA', undefined]);
    expect(pick('../720p/index.m3u8')).toEqual([
      'https://origin.example.com/live1/720p/index.m3u8',
      '720p/index.m3u8',
    ]);
    const master = new Map(parse(MASTER).template.slots.map((s) => [s.original, s]));
    expect(master.get('//subs.example.net/de.m3u8')?.absolute).toBe('https://subs.example.net/de.m3u8');
    expect(master.get('skd://key-1')?.absolute).toBe('skd://key-1');
    expect(master.get('skd://key-1')?.path).toBeUndefined();
  });

  test('{$var} URIs are kept intact', () => {
    const text =
      '#EXTM3U\n#EXT-X-DEFINE:NAME="t",VALUE="x"\n#EXTINF:4,\n{$base}/seg.ts\n#EXTINF:4,\nseg_{$t}.ts?k={$t}\n';
    const slots = parse(text).template.slots;
    expect(slots.map((s) => [s.original, s.absolute, s.path])).toEqual([
      ['{$base}/seg.ts', '{$base}/seg.ts', undefined],
      [
        'seg_{$t}.ts?k={$t}',
        'https://origin.example.com/live1/sub/seg_{$t}.ts?k={$t}',
        'sub/seg_{$t}.ts?k={$t}',
      ],
    ]);
  });

  test('makeSlot keeps non-http and variable-prefixed URIs unresolved', () => {
    expect(makeSlot('key', 'key', 'skd://abc', PLAYLIST_URL, ORIGIN_BASE)).toEqual({
      kind: 'key',
      role: 'key',
      original: 'skd://abc',
      absolute: 'skd://abc',
      path: undefined,
    });
    expect(makeSlot('segment', 'media', 'a.ts', 'http://o/x/y.m3u8', 'http://o/x/').path).toBe('a.ts');
  });
});

describe('parseHls: lossless', () => {
  const cases: [string, string][] = [
    ['master', MASTER],
    ['media', MEDIA],
    ['CRLF', MEDIA.replace(/\n/g, '\r\n')],
    [
      'mixed line ends, no final newline',
      '#EXTM3U\r\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\r\na.ts\n#EXTINF:2,\nb.ts',
    ],
    [
      'blank lines and indentation',
      '\n\n#EXTM3U\n\n  #EXT-X-TARGETDURATION:2  \n\t#EXTINF:2,\t\n   a.ts   \n\n#EXT-X-ENDLIST\n\n',
    ],
    ['stray CR and form feed before tags', '\r#EXTM3U\n\f#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n'],
    ['BOM', '\uFEFF#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n'],
  ];

  test.each(cases)('%s: identity render and re-parse', (_name, text) => {
    checkRoundTrip(text, parse(text));
  });

  test('a mapper changes only the slot spans', () => {
    const text = MEDIA.replace(/\n/g, '\r\n');
    const out = render(parse(text).template, (s) => `<${s.kind}>`);
    expect(out.split('\r\n')).toEqual(
      text.split('\r\n').map((line) =>
        line
          .replace(/^(seg_100\.m4s\?token=abc|\.\.\/up\/seg_101\.m4s)$/, '<segment>')
          .replace(/^(#EXT-X-PART:.*URI=")[^"]*/, '$1<part>')
          .replace(/^(#EXT-X-KEY:.*URI=")[^"]*/, '$1<key>')
          .replace(/^(#EXT-X-MAP:URI=")[^"]*/, '$1<map>')
          .replace(/^(#EXT-X-PRELOAD-HINT:.*URI=")[^"]*/, '$1<preload-hint>')
          .replace(/^(#EXT-X-RENDITION-REPORT:URI=")[^"]*/, '$1<rendition-report>')
          .replace(/X-ASSET-LIST="[^"]*"/, 'X-ASSET-LIST="<interstitial-list>"')
          .replace(/X-ASSET-URI="[^"]*"/, 'X-ASSET-URI="<interstitial-asset>"'),
      ),
    );
  });

  test('BOM and #EXTM3U are never a URI', () => {
    const text = '\uFEFF#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n';
    expect(parse(text).template.slots.map((s) => s.original)).toEqual(['a.ts']);
    expect(render(parse(text).template, (s) => 'X' + s.original)).toBe(text.replace('a.ts', 'Xa.ts'));
  });

  test('tags between EXTINF and the URI stay in order; the URI is still the segment', () => {
    const text =
      '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\n#EXT-X-DISCONTINUITY\n#EXT-X-BYTERANGE:500@100\n#EXT-X-CUSTOM:A="b,c"\n# comment\nmain.ts\n#EXT-X-ENDLIST\n';
    const m = parse(text);
    expect(m.template.slots.map((s) => [s.kind, s.original])).toEqual([['segment', 'main.ts']]);
    expect(m.template.chunks[0]).toBe(text.slice(0, text.indexOf('main.ts')));
    const seg = m3u8(render(m.template, (s) => 'x/' + s.original)).segments[0];
    expect(seg?.uri).toBe('x/main.ts');
    expect(seg?.byterange).toEqual({ length: 500, offset: 100 });
    expect(seg?.discontinuity).toBe(true);
  });

  test('quoted attribute values may hold commas, "=" and the attribute name', () => {
    const text =
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,NAME="URI=fake.m3u8, really",GROUP-ID="a,b",URI="real.m3u8?a=1,2"\n';
    expect(slotsOf(text).map((s) => s.original)).toEqual(['real.m3u8?a=1,2']);
  });

  test('a tag whose name merely ends in a URI tag name is not a URI tag', () => {
    const text =
      '#EXTM3U\n#EXT-X-MAPX:URI="no.mp4"\n#EXT-X-KEYS:URI="no.key"\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\na.ts\n';
    expect(slotsOf(text).map((s) => s.original)).toEqual(['a.ts']);
  });

  test('whitespace around attributes', () => {
    const text =
      '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:BYTERANGE="1@0", URI="init.mp4"\n#EXTINF:1,\na.ts\n';
    expect(slotsOf(text).map((s) => s.original)).toEqual(['init.mp4', 'a.ts']);
    checkRoundTrip(text, parse(text));
  });

  test('empty URI attributes and EXT-X-KEY METHOD=NONE make no slot', () => {
    const text =
      '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-KEY:METHOD=NONE\n#EXT-X-MAP:URI=""\n#EXTINF:1,\na.ts\n';
    expect(slotsOf(text).map((s) => s.original)).toEqual(['a.ts']);
  });
});

describe('parseHls: errors', () => {
  test.each([
    ['empty', ''],
    ['HTML', '<html><body>502</body></html>'],
    ['MPD', '<?xml version="1.0"?><MPD/>'],
    ['JSON', '{"error":"x"}'],
    ['only a comment', '# hello\n'],
  ])('%s is NOT_A_MANIFEST', (_name, text) => {
    expect(codeOf(() => parse(text))).toBe('NOT_A_MANIFEST');
  });

  test.each([
    ['EXTINF at the end', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n#EXTINF:4,\n'],
    ['EXTINF then tags at the end', '#EXTM3U\n#EXTINF:4,\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\n'],
    ['STREAM-INF at the end', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n'],
    [
      'STREAM-INF then STREAM-INF',
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nb.m3u8\n',
    ],
    ['unterminated quote', '#EXTM3U\n#EXT-X-MAP:URI="init.mp4\n#EXTINF:4,\na.ts\n'],
  ])('%s is MANIFEST_INVALID', (_name, text) => {
    expect(codeOf(() => parse(text))).toBe('MANIFEST_INVALID');
  });

  test('the error names the line and the tag that lacks its URI', () => {
    try {
      parse('#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n');
      throw new Error('expected a throw');
    } catch (err) {
      expect(err).toBeInstanceOf(SwitchyardError);
      expect((err as SwitchyardError).code).toBe('MANIFEST_INVALID');
      expect((err as SwitchyardError).details.line).toBe(3);
      expect((err as SwitchyardError).message).toContain('EXTINF');
    }
  });

  test('an item without "=" or a trailing comma is skipped, as players do (m3u8-parser threw on it)', () => {
    const text =
      '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\na.ts\n#EXT-X-RENDITION-REPORT:URI="b.m3u8",LAST-MS\n' +
      '#EXT-X-MAP:URI="init.mp4",\n#EXT-X-DATERANGE:ID="x",FLAG,X-ASSET-URI="ad.m3u8"\n';
    expect(slotsOf(text).map((s) => s.original)).toEqual(['a.ts', 'b.m3u8', 'init.mp4', 'ad.m3u8']);
    expect(render(parse(text).template, (s) => s.original)).toBe(text);
  });

  test('findAttribute reports unterminated quotes with the line number', () => {
    const text = 'A=1,URI="x';
    expect(() => findAttribute(text, 0, text.length, 'URI', 7)).toThrow('line 7');
    expect(findAttribute('A=1,B="2,3",URI=x', 0, 17, 'URI', 1)).toEqual({ start: 16, end: 17 });
    expect(findAttribute('A=1', 0, 3, 'URI', 1)).toBeUndefined();
  });
});

describe('looksLikeHls', () => {
  test.each([
    ['#EXTM3U\n', true],
    ['\uFEFF#EXTM3U\n', true],
    ['\n\n  #EXTM3U  \r\n', true],
    ['# generated by x\n#EXTM3U\n', true],
    ['#EXTINF:4,\na.ts\n', true],
    ['#EXT-X-TARGETDURATION:4\n', true],
    ['#EXTM3U8\n', false],
    ['seg.ts\n', false],
    ['<MPD>', false],
    ['', false],
  ])('%j -> %j', (text, expected) => {
    expect(looksLikeHls(text)).toBe(expected);
  });
});

describe('parseHls: info', () => {
  test('master', () => {
    const { info } = parse(MASTER);
    expect(info).toMatchObject({ protocol: 'hls', kind: 'master', live: false, segmentCount: 0 });
  });

  test('master with only I-frame variants and renditions is still a master', () => {
    expect(parse('#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="i.m3u8"\n').info.kind).toBe('master');
    expect(parse('#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="n",URI="a.m3u8"\n').info.kind).toBe(
      'master',
    );
  });

  test('LL-HLS live media', () => {
    const { info } = parse(MEDIA);
    expect(info).toEqual({
      protocol: 'hls',
      kind: 'media',
      live: true,
      targetDuration: 4,
      partTarget: 1,
      mediaSequence: 100,
      canBlockReload: true,
      blockingEdge: { lastMsn: 101, partsInProgress: 1, targetDuration: 4, partTarget: 1 },
      newestSegmentPath: 'up/seg_101.m4s',
      segmentCount: 2,
      totalDuration: expect.any(Number),
      variantBandwidths: new Map(),
      liveTtlMs: 500,
    });
    expect(info.totalDuration).toBeGreaterThan(0);
  });

  test('a master maps each resolved variant URL to its BANDWIDTH', () => {
    const { info } = parseHls(
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1280000\nlow/index.m3u8?t=1\n#EXT-X-STREAM-INF:BANDWIDTH=2560000\nhttp://other.example/hi.m3u8\n',
      'http://o/live/master.m3u8',
      'http://o/live/',
    );
    expect([...info.variantBandwidths]).toEqual([
      ['http://o/live/low/index.m3u8?t=1', 1280000],
      ['http://other.example/hi.m3u8', 2560000],
    ]);
  });

  test('live without parts: half the target duration', () => {
    const { info } = parse('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:6,\na.ts\n');
    expect(info).toMatchObject({ live: true, targetDuration: 6, partTarget: undefined, liveTtlMs: 3000 });
    expect(info.canBlockReload).toBe(false);
    expect(info.mediaSequence).toBe(7);
  });

  test('missing target duration: the longest segment stands in; none at all: 1 s', () => {
    expect(parse('#EXTM3U\n#EXTINF:3,\na.ts\n#EXTINF:5.5,\nb.ts\n').info).toMatchObject({
      targetDuration: 5.5,
      liveTtlMs: 2750,
    });
    expect(parse('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n').info.liveTtlMs).toBe(1000);
  });

  test('tiny part targets are floored at 100 ms', () => {
    const text = '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=0.1\n#EXTINF:1,\na.ts\n';
    expect(parse(text).info.liveTtlMs).toBe(100);
  });

  test.each([
    ['#EXT-X-ENDLIST', false],
    ['#EXT-X-PLAYLIST-TYPE:VOD', false],
    ['#EXT-X-PLAYLIST-TYPE:EVENT', true],
  ])('%s -> live %j', (tag, live) => {
    const text = `#EXTM3U\n#EXT-X-TARGETDURATION:2\n${tag}\n#EXTINF:2,\na.ts\n`;
    expect(parse(text).info.live).toBe(live);
  });

  test('a segment outside the origin base has no newestSegmentPath', () => {
    const text = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttps://elsewhere.example/a.ts\n';
    expect(parse(text).info.newestSegmentPath).toBeUndefined();
  });
});
