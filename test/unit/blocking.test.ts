/**
 * The pure LL-HLS delivery-directive rules of src/server/blocking.ts against the spec text
 * (draft-pantos-hls-rfc8216bis §6.2.5 "Delivery Directives Interface", §6.2.5.2 "Blocking Playlist
 * Reload"; /work/shared/STANDARDS.md), and the cache key the directives make (src/server/origin-query.ts):
 * a delta update (`_HLS_skip=YES`, `_HLS_skip=v2`) and the full playlist are never one entry.
 */
import {
  advancePartLimit,
  blockingAnswerTtl,
  blockingDirectives,
  cachedAnswerTtl,
  checkDirectives,
  directivesApply,
  hasDirectives,
  holdLimitMs,
  satisfiedBy,
  withoutDirectives,
} from '../../src/server/blocking';
import { originQuery } from '../../src/server/origin-query';
import { parseHls } from '../../src/manifest/hls';
import { SwitchyardError } from '../../src/errors';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SwitchyardError ? err.code : 'not a SwitchyardError';
  }
};

/** Last complete segment 101, two parts of 102 listed, part target 0.2 s, target duration 1 s. */
const EDGE = { lastMsn: 101, partsInProgress: 2, targetDuration: 1, partTarget: 0.2 };

describe('blockingDirectives: which requests block (§6.2.5.2)', () => {
  test.each([
    ['', undefined],
    ['a=1', undefined],
    ['_HLS_skip=YES', undefined],
    ['_HLS_msn=5', { msn: 5, part: undefined }],
    ['_HLS_msn=5&_HLS_part=0', { msn: 5, part: 0 }],
    ['_HLS_part=0&_HLS_msn=5', { msn: 5, part: 0 }],
    ['_HLS_msn=5&_HLS_skip=v2', { msn: 5, part: undefined }],
  ])('%j', (query, want) => {
    expect(blockingDirectives(query)).toEqual(want);
  });

  test.each([
    // "_HLS_part ... MUST be accompanied by _HLS_msn" (a request with _HLS_part alone is malformed).
    ['_HLS_part=1'],
    ['_HLS_msn=1e3'],
    ['_HLS_msn=-1'],
    ['_HLS_msn='],
    ['_HLS_msn=5&_HLS_part=x'],
  ])('%j is a 400', (query) => {
    expect(code(() => blockingDirectives(query))).toBe('BLOCKING_RELOAD_INVALID');
  });
});

describe('limits of §6.2.5.2', () => {
  test('Advance Part Limit: 3 / PART-TARGET under one second, else 3', () => {
    expect(advancePartLimit(0.2)).toBe(15);
    expect(advancePartLimit(0.333)).toBe(10);
    expect(advancePartLimit(1)).toBe(3);
    expect(advancePartLimit(2)).toBe(3);
  });

  test('_HLS_msn more than two past the last segment is a 400; up to two is held', () => {
    expect(code(() => checkDirectives({ msn: 103, part: undefined }, EDGE))).toBeUndefined();
    expect(code(() => checkDirectives({ msn: 104, part: undefined }, EDGE))).toBe('BLOCKING_RELOAD_INVALID');
  });

  test('_HLS_part past the Advance Part Limit from the last part listed is a 400', () => {
    // Last part listed: 102.1. 15 parts ahead is 102.16; 102.17 is one too many.
    expect(code(() => checkDirectives({ msn: 102, part: 16 }, EDGE))).toBeUndefined();
    expect(code(() => checkDirectives({ msn: 102, part: 17 }, EDGE))).toBe('BLOCKING_RELOAD_INVALID');
  });

  test('a request is held at most three target durations', () => {
    expect(holdLimitMs({ targetDuration: 1 })).toBe(3000);
    expect(holdLimitMs({ targetDuration: 4 })).toBe(12_000);
  });
});

describe('directives on a complete playlist (EXT-X-ENDLIST) are ignored', () => {
  const ended = parseHls(
    '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n' +
      '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,PART-HOLD-BACK=0.6\n' +
      '#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:100\n' +
      '#EXTINF:1.0,\ns100.mp4\n#EXTINF:1.0,\ns101.mp4\n#EXT-X-ENDLIST\n',
    'http://o.test/ll/index.m3u8',
    'http://o.test/',
  );
  const vod = parseHls(
    '#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n',
    'http://o.test/v.m3u8',
    'http://o.test/',
  );
  const live = parseHls(
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:1,\na.ts\n',
    'http://o.test/l.m3u8',
    'http://o.test/',
  );
  test('they apply to a live media playlist only', () => {
    expect(directivesApply(live.info)).toBe(true);
    expect(directivesApply(ended.info)).toBe(false);
    expect(directivesApply(vod.info)).toBe(false);
  });
  test('an ended playlist has no edge to check an msn against (no 400 past its end)', () => {
    expect(ended.info.blockingEdge).toBeUndefined();
  });
});

describe('the plain playlist a directive request names', () => {
  test.each([
    ['http://o.test/a.m3u8', 'http://o.test/a.m3u8'],
    ['http://o.test/a.m3u8?_HLS_msn=5&_HLS_part=1', 'http://o.test/a.m3u8'],
    ['http://o.test/a.m3u8?_HLS_skip=YES', 'http://o.test/a.m3u8'],
    ['http://o.test/a.m3u8?tok=1&_HLS_msn=5&_HLS_skip=v2&z=2', 'http://o.test/a.m3u8?tok=1&z=2'],
  ])('%s -> %s', (url, plain) => {
    expect(withoutDirectives(url)).toBe(plain);
  });
  test('hasDirectives sees _HLS_msn, _HLS_part and _HLS_skip, nothing else', () => {
    expect(hasDirectives('_HLS_skip=YES')).toBe(true);
    expect(hasDirectives('_HLS_msn=1')).toBe(true);
    expect(hasDirectives('_HLS_pathway=%22a%22')).toBe(false);
    expect(hasDirectives('x=_HLS_msn')).toBe(false);
    expect(hasDirectives('')).toBe(false);
  });
});

describe('the cache key of a delta update (_HLS_skip) is its own', () => {
  const keys = (queries: readonly string[]) => queries.map((q) => originQuery(q, []));
  test('full, YES and v2 are three keys; the order of the directives does not split a key', () => {
    const [full, yes, v2, yesOther] = keys([
      'CMCD=br%3D800',
      '_HLS_skip=YES&CMCD=br%3D800',
      '_HLS_skip=v2',
      'x=1&_HLS_skip=YES',
    ]);
    expect(new Set([full, yes, v2]).size).toBe(3);
    expect(yesOther).toBe(yes);
    expect(full).toBe('');
    expect(keys(['_HLS_skip=YES&_HLS_part=2&_HLS_msn=9', '_HLS_msn=9&_HLS_part=2&_HLS_skip=YES'])).toEqual([
      '_HLS_msn=9&_HLS_part=2&_HLS_skip=YES',
      '_HLS_msn=9&_HLS_part=2&_HLS_skip=YES',
    ]);
    // Blocking with and without a delta update: two keys.
    expect(originQuery('_HLS_msn=9&_HLS_part=2', [])).not.toBe(
      originQuery('_HLS_msn=9&_HLS_part=2&_HLS_skip=YES', []),
    );
  });
  test('a repeated _HLS_skip keeps its first value, as the origin reads it', () => {
    expect(originQuery('_HLS_skip=v2&_HLS_skip=YES', [])).toBe('_HLS_skip=v2');
  });
});

describe('how long an answer to a blocking reload serves identical ones', () => {
  const PLAIN = 100; // half the part target
  test('satisfiedBy: the segment, or the part of the segment in progress, is listed', () => {
    expect(satisfiedBy({ msn: 101, part: undefined }, EDGE)).toBe(true);
    expect(satisfiedBy({ msn: 102, part: undefined }, EDGE)).toBe(false);
    expect(satisfiedBy({ msn: 102, part: 1 }, EDGE)).toBe(true);
    expect(satisfiedBy({ msn: 102, part: 2 }, EDGE)).toBe(false);
    expect(satisfiedBy({ msn: 100, part: 9 }, EDGE)).toBe(true);
  });
  test('an answer holding what it waited for: a target duration, within the origin max-age', () => {
    expect(blockingAnswerTtl({ msn: 102, part: 1 }, EDGE, PLAIN, undefined)).toBe(1000);
    expect(blockingAnswerTtl({ msn: 102, part: 1 }, EDGE, PLAIN, 6000)).toBe(1000);
    expect(blockingAnswerTtl({ msn: 102, part: 1 }, EDGE, PLAIN, 500)).toBe(500);
    expect(blockingAnswerTtl({ msn: 102, part: 1 }, EDGE, PLAIN, 0)).toBe(0);
  });
  test('an answer without it (an origin that ignored the directives) keeps the plain TTL', () => {
    expect(blockingAnswerTtl({ msn: 102, part: 5 }, EDGE, PLAIN, 6000)).toBe(PLAIN);
    expect(blockingAnswerTtl({ msn: 102, part: 1 }, undefined, PLAIN, 6000)).toBe(PLAIN);
  });
  test('cachedAnswerTtl reads the directives from the URL an entry is cached under', () => {
    const u = 'http://o.test/ll/index.m3u8';
    expect(cachedAnswerTtl(u, EDGE, PLAIN, 'max-age=6')).toBe(PLAIN);
    expect(cachedAnswerTtl(`${u}?_HLS_skip=YES`, EDGE, PLAIN, 'max-age=6')).toBe(PLAIN);
    expect(cachedAnswerTtl(`${u}?_HLS_msn=102&_HLS_part=1`, EDGE, PLAIN, 'max-age=6')).toBe(1000);
    expect(cachedAnswerTtl(`${u}?_HLS_msn=102&_HLS_part=1`, EDGE, PLAIN, 'no-cache')).toBe(0);
  });
});
