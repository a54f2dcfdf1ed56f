/**
 * Parsing is linear and capped (issue 11): each cap of limits.manifest answers MANIFEST_TOO_COMPLEX
 * with the key to raise, the hostile inputs that used to cost seconds or a 500 parse (or are refused)
 * at once, and inputs just under a cap still parse.
 */
import { SwitchyardError } from '../../src/errors';
import { parseDash } from '../../src/manifest/dash';
import { parseHls } from '../../src/manifest/hls';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from '../../src/manifest/limits';
import { parseManifest } from '../../src/manifest/load';
import {
  baseUrlFanOutMpd,
  colonlessLinesPlaylist,
  deepMpd,
  longPlaylist,
  manyAttributesMpd,
  manyVariantsMaster,
  noTargetDurationPlaylist,
  TOLERATED_PLAYLIST,
} from '../hardening/hostile-manifests';

const URL_ = 'http://o.example/s/index.m3u8';
const MPD_URL = 'http://o.example/s/manifest.mpd';
const BASE = 'http://o.example/s/';
const limits = (over: Partial<ManifestLimits>): ManifestLimits => ({ ...DEFAULT_MANIFEST_LIMITS, ...over });

function thrown(fn: () => unknown): SwitchyardError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    return err as SwitchyardError;
  }
  throw new Error('expected a throw');
}

describe('HLS caps', () => {
  test.each([
    ['lines', longPlaylist(100), { maxLines: 150 }, 'maxLines'],
    ['segments', longPlaylist(100), { maxSegments: 99 }, 'maxSegments'],
    ['variants', manyVariantsMaster(20), { maxVariants: 19 }, 'maxVariants'],
    [
      'line length',
      '#EXTM3U\n#EXTINF:2,\n' + 'a'.repeat(2000) + '.ts\n',
      { maxLineLength: 1024 },
      'maxLineLength',
    ],
  ] as const)('%s: MANIFEST_TOO_COMPLEX naming the key', (_what, text, over, key) => {
    const err = thrown(() => parseHls(text, URL_, BASE, limits(over)));
    expect(err.code).toBe('MANIFEST_TOO_COMPLEX');
    expect(err.status).toBe(502);
    expect(err.details.key).toBe(`limits.manifest.${key}`);
    expect(err.message).toContain(`limits.manifest.${key}`);
  });

  test('exactly at each cap still parses', () => {
    expect(parseHls(longPlaylist(100), URL_, BASE, limits({ maxSegments: 100 })).info.segmentCount).toBe(100);
    expect(
      parseHls(manyVariantsMaster(20), URL_, BASE, limits({ maxVariants: 20 })).info.variantBandwidths.size,
    ).toBe(20);
  });

  test('130,000 segments without EXT-X-TARGETDURATION: parsed, the longest segment stands in', () => {
    // Math.max(...130k durations) overflowed the stack: a 500 for a playlist players play.
    const { info } = parseHls(noTargetDurationPlaylist(130_000), URL_, BASE);
    expect(info.segmentCount).toBe(130_000);
    expect(info.targetDuration).toBe(6.5);
    expect(info.totalDuration).toBeCloseTo(129_999 * 2 + 6.5, 3);
  });

  test('250,000 tag lines without a colon parse (the scan stays inside each line)', () => {
    const { info, template } = parseHls(colonlessLinesPlaylist(250_000), URL_, BASE);
    expect(info.segmentCount).toBe(1);
    expect(template.slots.map((s) => s.original)).toEqual(['a.ts']);
  });

  test('attribute lists players accept are accepted: trailing comma, items without "="', () => {
    const { template, info } = parseHls(TOLERATED_PLAYLIST, URL_, BASE);
    expect(template.slots.map((s) => s.original)).toEqual([
      'init.mp4',
      'key.bin',
      'seg_0.m4s',
      'seg_1.m4s',
      'other.m3u8',
    ]);
    expect(info).toMatchObject({ kind: 'media', live: true, targetDuration: 2, segmentCount: 2 });
  });
});

describe('DASH caps', () => {
  test('14 BaseURLs at each of four levels: MANIFEST_TOO_COMPLEX (they multiply to 38,416)', () => {
    const err = thrown(() => parseDash(baseUrlFanOutMpd(14), MPD_URL, BASE));
    expect(err.code).toBe('MANIFEST_TOO_COMPLEX');
    expect(err.details.key).toBe('limits.manifest.maxBaseUrls');
  });

  test('a few BaseURLs per level are fine (2 x 2 x 2 x 2 = 16 combinations)', () => {
    const { template } = parseDash(baseUrlFanOutMpd(2), MPD_URL, BASE);
    expect(template.slots.length).toBeGreaterThan(0);
  });

  test('30,000 attributes on one element: MANIFEST_TOO_COMPLEX; 200 are fine', () => {
    expect(thrown(() => parseDash(manyAttributesMpd(30_000), MPD_URL, BASE)).details.key).toBe(
      'limits.manifest.maxAttributes',
    );
    expect(parseDash(manyAttributesMpd(200), MPD_URL, BASE).template.slots.length).toBeGreaterThan(0);
  });

  test('a duplicate attribute is still MANIFEST_INVALID (the Set check finds it)', () => {
    const text = manyAttributesMpd(100).replace(' x99="99"', ' x5="again"');
    expect(thrown(() => parseDash(text, MPD_URL, BASE)).code).toBe('MANIFEST_INVALID');
  });

  test('100,000 nested elements: MANIFEST_TOO_COMPLEX, not a stack overflow', () => {
    expect(thrown(() => parseDash(deepMpd(100_000), MPD_URL, BASE)).details.key).toBe(
      'limits.manifest.maxDepth',
    );
    expect(parseDash(deepMpd(10), MPD_URL, BASE).template.slots.length).toBeGreaterThan(0);
  });

  test('elements past maxElements', () => {
    expect(
      thrown(() => parseDash(manyAttributesMpd(1), MPD_URL, BASE, limits({ maxElements: 4 }))).details.key,
    ).toBe('limits.manifest.maxElements');
  });

  test('an attribute value past maxLineLength', () => {
    const text = manyAttributesMpd(1).replace('x0="0"', `x0="${'v'.repeat(5000)}"`);
    expect(thrown(() => parseDash(text, MPD_URL, BASE, limits({ maxLineLength: 4096 }))).details.key).toBe(
      'limits.manifest.maxLineLength',
    );
  });
});

test('parseManifest passes its limits to either format', () => {
  expect(
    thrown(() => parseManifest(longPlaylist(10), URL_, BASE, undefined, limits({ maxSegments: 5 }))).code,
  ).toBe('MANIFEST_TOO_COMPLEX');
  expect(
    thrown(() => parseManifest(baseUrlFanOutMpd(3), MPD_URL, BASE, undefined, limits({ maxBaseUrls: 8 })))
      .code,
  ).toBe('MANIFEST_TOO_COMPLEX');
});
