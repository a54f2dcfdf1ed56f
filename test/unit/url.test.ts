import {
  formatUri,
  isHttpReference,
  parseUri,
  queryParam,
  relativeTo,
  removeDotSegments,
  resolveUri,
  withoutQueryParam,
} from '../../src/url';

const BASE = 'http://a/b/c/d;p?q';

// RFC 3986 §5.4.1
const NORMAL: [string, string][] = [
  ['g:h', 'g:h'],
  ['g', 'http://a/b/c/g'],
  ['./g', 'http://a/b/c/g'],
  ['g/', 'http://a/b/c/g/'],
  ['/g', 'http://a/g'],
  ['//g', 'http://g'],
  ['?y', 'http://a/b/c/d;p?y'],
  ['g?y', 'http://a/b/c/g?y'],
  ['#s', 'http://a/b/c/d;p?q#s'],
  ['g#s', 'http://a/b/c/g#s'],
  ['g?y#s', 'http://a/b/c/g?y#s'],
  [';x', 'http://a/b/c/;x'],
  ['g;x', 'http://a/b/c/g;x'],
  ['g;x?y#s', 'http://a/b/c/g;x?y#s'],
  ['', 'http://a/b/c/d;p?q'],
  ['.', 'http://a/b/c/'],
  ['./', 'http://a/b/c/'],
  ['..', 'http://a/b/'],
  ['../', 'http://a/b/'],
  ['../g', 'http://a/b/g'],
  ['../..', 'http://a/'],
  ['../../', 'http://a/'],
  ['../../g', 'http://a/g'],
];

// RFC 3986 §5.4.2
const ABNORMAL: [string, string][] = [
  ['../../../g', 'http://a/g'],
  ['../../../../g', 'http://a/g'],
  ['/./g', 'http://a/g'],
  ['/../g', 'http://a/g'],
  ['g.', 'http://a/b/c/g.'],
  ['.g', 'http://a/b/c/.g'],
  ['g..', 'http://a/b/c/g..'],
  ['..g', 'http://a/b/c/..g'],
  ['./../g', 'http://a/b/g'],
  ['./g/.', 'http://a/b/c/g/'],
  ['g/./h', 'http://a/b/c/g/h'],
  ['g/../h', 'http://a/b/c/h'],
  ['g;x=1/./y', 'http://a/b/c/g;x=1/y'],
  ['g;x=1/../y', 'http://a/b/c/y'],
  ['g?y/./x', 'http://a/b/c/g?y/./x'],
  ['g?y/../x', 'http://a/b/c/g?y/../x'],
  ['g#s/./x', 'http://a/b/c/g#s/./x'],
  ['g#s/../x', 'http://a/b/c/g#s/../x'],
  // Strict parsers (as RFC 3986 recommends) keep the scheme.
  ['http:g', 'http:g'],
];

describe('resolveUri: RFC 3986 §5.4 examples', () => {
  test.each(NORMAL)('normal %j', (ref, expected) => {
    expect(resolveUri(BASE, ref)).toBe(expected);
  });
  test.each(ABNORMAL)('abnormal %j', (ref, expected) => {
    expect(resolveUri(BASE, ref)).toBe(expected);
  });
});

describe('removeDotSegments (RFC 3986 §5.2.4 examples)', () => {
  test.each([
    ['/a/b/c/./../../g', '/a/g'],
    ['mid/content=5/../6', 'mid/6'],
    ['/no/dots/here', '/no/dots/here'],
    ['/..', '/'],
    ['/.', '/'],
    ['/a//../b', '/a/b'],
    ['/a/b/..', '/a/'],
  ])('%j -> %j', (input, expected) => {
    expect(removeDotSegments(input)).toBe(expected);
  });
});

describe('resolveUri keeps bytes', () => {
  const base = 'https://origin.example.com/live/stream/master.m3u8?token=abc';

  test.each([
    [
      'seg_1.ts?hdnts=exp=1700000000~acl=/live/*~hmac=0a1b2c',
      'https://origin.example.com/live/stream/seg_1.ts?hdnts=exp=1700000000~acl=/live/*~hmac=0a1b2c',
    ],
    [
      'v/index.m3u8?p=a%2Fb%2fc&q=x+y&r==',
      'https://origin.example.com/live/stream/v/index.m3u8?p=a%2Fb%2fc&q=x+y&r==',
    ],
    ['../other/{$var}/seg.ts?{$q}', 'https://origin.example.com/live/other/{$var}/seg.ts?{$q}'],
    ['a b|"c".ts', 'https://origin.example.com/live/stream/a b|"c".ts'],
    ['%7Euser/x.ts', 'https://origin.example.com/live/stream/%7Euser/x.ts'],
    ['//cdn.example.net/x/y.ts?sig=%2B%3D', 'https://cdn.example.net/x/y.ts?sig=%2B%3D'],
    ['//cdn.example.net', 'https://cdn.example.net'],
    ['http://Other.Example/A/./B/../C?Q=1#F', 'http://Other.Example/A/C?Q=1#F'],
    ['/root.ts', 'https://origin.example.com/root.ts'],
    ['?only=query~hmac=x', 'https://origin.example.com/live/stream/master.m3u8?only=query~hmac=x'],
    ['', 'https://origin.example.com/live/stream/master.m3u8?token=abc'],
    ['#frag', 'https://origin.example.com/live/stream/master.m3u8?token=abc#frag'],
  ])('%j', (ref, expected) => {
    expect(resolveUri(base, ref)).toBe(expected);
  });

  test('base without a path gains "/" before a relative reference', () => {
    expect(resolveUri('http://a', 'g')).toBe('http://a/g');
    expect(resolveUri('http://a?x=1', '?y')).toBe('http://a?y');
  });

  test('non-http schemes are taken as absolute', () => {
    expect(resolveUri(base, 'skd://key-id-1')).toBe('skd://key-id-1');
    expect(resolveUri(base, 'data:text/plain;base64,AAAA')).toBe('data:text/plain;base64,AAAA');
  });
});

describe('parseUri / formatUri', () => {
  test('splits the five components', () => {
    expect(parseUri('https://u@h:8/p/q;x?a=1&b#f')).toEqual({
      scheme: 'https',
      authority: 'u@h:8',
      path: '/p/q;x',
      query: 'a=1&b',
      fragment: 'f',
    });
    expect(parseUri('rel/path')).toEqual({
      scheme: undefined,
      authority: undefined,
      path: 'rel/path',
      query: undefined,
      fragment: undefined,
    });
    expect(parseUri('?')).toMatchObject({ path: '', query: '' });
  });

  test.each(['https://h/p?q#f', '//h', '?', '#', 'a?', 'x:y', '/p?a=%2F&b=~&c=+#', 'mid/{$v}?x=1\n2'])(
    'round trip %j',
    (uri) => {
      expect(formatUri(parseUri(uri))).toBe(uri);
    },
  );
});

describe('isHttpReference', () => {
  test.each([
    ['seg.ts', true],
    ['/a/seg.ts', true],
    ['//cdn/seg.ts', true],
    ['http://a/b', true],
    ['HTTPS://a/b', true],
    ['skd://key', false],
    ['data:application/octet-stream;base64,AA==', false],
    ['urn:uuid:1234', false],
    ['ftp://x/y', false],
  ])('%j -> %j', (ref, expected) => {
    expect(isHttpReference(ref)).toBe(expected);
  });
});

describe('relativeTo', () => {
  const base = 'https://origin.example.com/live1/';
  test.each([
    ['https://origin.example.com/live1/720p/seg_1.ts', '720p/seg_1.ts'],
    ['https://origin.example.com/live1/seg.ts?hdnts=a~hmac=b%2F', 'seg.ts?hdnts=a~hmac=b%2F'],
    ['HTTPS://Origin.Example.com/live1/seg.ts?x#f', 'seg.ts?x#f'],
    ['https://origin.example.com/live1/', ''],
  ])('%j -> %j', (abs, expected) => {
    expect(relativeTo(base, abs)).toBe(expected);
  });

  test.each([
    'https://origin.example.com/live2/seg.ts',
    'https://origin.example.com/LIVE1/seg.ts',
    'http://origin.example.com/live1/seg.ts',
    'https://other.example.com/live1/seg.ts',
    'https://origin.example.com:8443/live1/seg.ts',
    'skd://key',
  ])('%j is elsewhere', (abs) => {
    expect(relativeTo(base, abs)).toBeUndefined();
  });
});

describe('query helpers keep other bytes', () => {
  const q = 'hdnts=exp=1~acl=%2Flive%2F*~hmac=ab+cd&_HLS_msn=12&x=a%2Fb&flag&_HLS_part=3&y=%7E';

  test('withoutQueryParam removes exactly one name', () => {
    expect(withoutQueryParam(q, '_HLS_msn')).toBe(
      'hdnts=exp=1~acl=%2Flive%2F*~hmac=ab+cd&x=a%2Fb&flag&_HLS_part=3&y=%7E',
    );
    expect(withoutQueryParam(q, 'flag')).toBe(
      'hdnts=exp=1~acl=%2Flive%2F*~hmac=ab+cd&_HLS_msn=12&x=a%2Fb&_HLS_part=3&y=%7E',
    );
    expect(withoutQueryParam(q, 'hdnts')).toBe('_HLS_msn=12&x=a%2Fb&flag&_HLS_part=3&y=%7E');
    expect(withoutQueryParam(q, 'absent')).toBe(q);
    expect(withoutQueryParam(q, 'exp')).toBe(q);
    expect(withoutQueryParam('', 'a')).toBe('');
    expect(withoutQueryParam('a=1', 'a')).toBe('');
    expect(withoutQueryParam('a=1&a=2&b', 'a')).toBe('b');
  });

  test('queryParam returns the raw value', () => {
    expect(queryParam(q, 'hdnts')).toBe('exp=1~acl=%2Flive%2F*~hmac=ab+cd');
    expect(queryParam(q, '_HLS_msn')).toBe('12');
    expect(queryParam(q, 'x')).toBe('a%2Fb');
    expect(queryParam(q, 'flag')).toBe('');
    expect(queryParam(q, 'y')).toBe('%7E');
    expect(queryParam(q, 'missing')).toBeUndefined();
    expect(queryParam(q, 'exp')).toBeUndefined();
    expect(queryParam('a=1&a=2', 'a')).toBe('1');
  });
});
