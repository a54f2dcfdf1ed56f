import { switchPoint, type SegmentLayout } from '../../src/manifest/handoff';
import { ListingHistory } from '../../src/server/delivery/listings';

describe('ListingHistory', () => {
  test('the newest msn listed by renderings up to a time; null before the first; per playlist', () => {
    const h = new ListingHistory();
    h.note('p', 1000, 10);
    h.note('p', 2000, 11);
    h.note('p', 3000, 12);
    h.note('q', 1500, 99);
    expect(h.listedBy('p', 999)).toBeNull();
    expect(h.listedBy('p', 1000)).toBe(10);
    expect(h.listedBy('p', 2999)).toBe(11);
    expect(h.listedBy('p', 10_000)).toBe(12);
    expect(h.listedBy('q', 2000)).toBe(99);
    expect(h.listedBy('unknown', 2000)).toBeUndefined();
  });

  test('once trimmed, times before what it kept are unknown rather than "nothing listed"', () => {
    const h = new ListingHistory();
    for (let i = 0; i < 100; i++) h.note('p', 1000 + i * 10, i);
    expect(h.listedBy('p', 1000)).toBeUndefined();
    expect(h.listedBy('p', 1000 + 99 * 10)).toBe(99);
    // Between the newest dropped version and the oldest kept one: the dropped one is not known.
    expect(h.listedBy('p', 1000 + 35 * 10 + 5)).toBeUndefined();
    expect(h.listedBy('p', 1000 + 36 * 10)).toBe(36);
  });

  test('a late note of an older version keeps the history ordered and the bound safe', () => {
    const h = new ListingHistory();
    h.note('p', 2000, 12);
    h.note('p', 1500, 11);
    expect(h.listedBy('p', 2000)).toBe(12);
    expect(h.listedBy('p', 1999)).toBeNull();
  });
});

describe('switchPoint with what earlier renderings listed', () => {
  const layout = (over: Partial<SegmentLayout> = {}): SegmentLayout => ({
    msn: [],
    firstMsn: 100,
    lastMsn: 105,
    firstPartIndependent: new Map(),
    marksIndependent: false,
    segmentSlot: new Map(),
    mapSlots: [],
    keySlots: [],
    ...over,
  });

  test('unknown: everything in this rendering counts as handed out', () => {
    expect(switchPoint(layout())).toBe(106);
    expect(switchPoint(layout(), undefined, undefined)).toBe(106);
  });
  test('the segment after the newest one listed before the move', () => {
    expect(switchPoint(layout(), undefined, 102)).toBe(103);
  });
  test('never listed: the whole window moves', () => {
    expect(switchPoint(layout(), undefined, null)).toBe(100);
  });
  test('listed beyond this rendering (an older copy served now): nothing here moves', () => {
    expect(switchPoint(layout(), undefined, 110)).toBe(106);
  });
  test('older than the window: from the first segment listed', () => {
    expect(switchPoint(layout(), undefined, 50)).toBe(100);
  });
  test('a blocking reload and the history: the lower bound wins', () => {
    expect(switchPoint(layout(), 101, 103)).toBe(102);
    expect(switchPoint(layout(), 104, 102)).toBe(103);
  });
  test('LL-HLS: moved on to a segment whose first part is independent', () => {
    const ll = layout({
      marksIndependent: true,
      firstPartIndependent: new Map([
        [103, false],
        [104, true],
        [105, true],
      ]),
    });
    expect(switchPoint(ll, undefined, 102)).toBe(104);
  });
});
