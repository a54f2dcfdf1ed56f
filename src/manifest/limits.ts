import { SwitchyardError } from '../errors';

/**
 * How much structure one manifest may have before Switchyard refuses it (`502 MANIFEST_TOO_COMPLEX`)
 * rather than spend the event loop and the heap on it. Every parser step is linear in the input; these
 * caps bound the work (and the memory of the parsed template) of one parse on the main thread. The
 * defaults hold a 24-hour DVR window of 1-second segments (86,400 segments, about 175k lines) and an
 * MPD of 150k elements (one SegmentTimeline S per segment over a day). Measured on a busy 2-core
 * machine, a parse at the caps takes about a second (150k segments: 0.65-1 s; 60k S elements: 2.3 s
 * before the attribute scan fix, linear now): lower them where the event loop matters more.
 */
export interface ManifestLimits {
  /** HLS: lines of a playlist (blank lines included). */
  readonly maxLines: number;
  /** HLS: media segments of one media playlist. */
  readonly maxSegments: number;
  /** HLS: variants (EXT-X-STREAM-INF, EXT-X-I-FRAME-STREAM-INF) of one multivariant playlist. */
  readonly maxVariants: number;
  /** HLS: characters of one line (a tag with its attribute list, or a URI); DASH: of one attribute value. */
  readonly maxLineLength: number;
  /** DASH: elements of one MPD (or remote element, or patch). */
  readonly maxElements: number;
  /** DASH: nesting depth of elements. */
  readonly maxDepth: number;
  /** DASH: attributes of one element. */
  readonly maxAttributes: number;
  /** DASH: BaseURL combinations resolved at one level (BaseURLs multiply down the chain). */
  readonly maxBaseUrls: number;
}

export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = Object.freeze({
  maxLines: 400_000,
  maxSegments: 150_000,
  maxVariants: 1_000,
  maxLineLength: 64 * 1024,
  maxElements: 150_000,
  maxDepth: 32,
  maxAttributes: 256,
  maxBaseUrls: 64,
});

/** The catalogued answer for a manifest past one of its caps: what was counted, and the cap. */
export function tooComplex(what: string, limit: number, key: keyof ManifestLimits): SwitchyardError {
  return new SwitchyardError(
    'MANIFEST_TOO_COMPLEX',
    `manifest too complex: more than ${limit} ${what} (limits.manifest.${key})`,
    { details: { limit, key: `limits.manifest.${key}` } },
  );
}
