import { Parser, type Manifest } from 'm3u8-parser';
import { isSwitchyardError } from '../../src/errors';
import { parseHls, type HlsManifest } from '../../src/manifest/hls';
import { render, type Slot } from '../../src/manifest/template';

/** Mapped URIs carry this prefix, so a re-parse shows which URIs went through a slot. */
export const MARK = 'MAPPED:';

export const markSlot = (slot: Slot): string => MARK + slot.original;

export function m3u8(text: string): Manifest {
  const parser = new Parser();
  parser.on('warn', () => undefined);
  parser.on('info', () => undefined);
  parser.push(text);
  parser.end();
  return parser.manifest;
}

/** Whether m3u8-parser reads the text without throwing (it throws on some malformed lines). */
export function m3u8Reads(text: string): boolean {
  try {
    m3u8(text);
    return true;
  } catch {
    return false;
  }
}

/** A deep copy with MARK removed from the start of every string. */
export function unmark(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith(MARK) ? value.slice(MARK.length) : value;
  if (Array.isArray(value)) return value.map(unmark);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unmark(v)]));
  }
  return value;
}

/** Every URI m3u8-parser reports, with where it found it. */
export function parserUris(m: Manifest): { where: string; uri: string }[] {
  const out: { where: string; uri: string }[] = [];
  const add = (where: string, uri: unknown) => {
    if (typeof uri === 'string') out.push({ where, uri });
  };
  const segs = [...m.segments, ...(m.preloadSegment ? [m.preloadSegment] : [])];
  segs.forEach((s, i) => {
    if (s !== m.preloadSegment) add(`segments.${i}`, s.uri);
    add(`segments.${i}.key`, s.key?.uri);
    add(`segments.${i}.map`, s.map?.uri);
    (s.parts ?? []).forEach((p, j) => add(`segments.${i}.parts.${j}`, p.uri));
    ((s.preloadHints ?? []) as { uri?: unknown }[]).forEach((p, j) => add(`segments.${i}.hints.${j}`, p.uri));
  });
  (m.playlists ?? []).forEach((p, i) => add(`playlists.${i}`, p.uri));
  m.iFramePlaylists.forEach((p, i) => add(`iFramePlaylists.${i}`, p.uri));
  for (const [type, groups] of Object.entries(m.mediaGroups ?? {})) {
    for (const [group, items] of Object.entries(groups)) {
      for (const [name, item] of Object.entries(items)) add(`mediaGroups.${type}.${group}.${name}`, item.uri);
    }
  }
  (m.renditionReports ?? []).forEach((r, i) => add(`renditionReports.${i}`, r.uri));
  const steering = (m as { contentSteering?: { serverUri?: unknown } }).contentSteering;
  add('contentSteering', steering?.serverUri);
  (m.dateRanges as Record<string, unknown>[]).forEach((d, i) => {
    add(`dateRanges.${i}.xAssetUri`, d.xAssetUri);
    add(`dateRanges.${i}.xAssetList`, d.xAssetList);
  });
  return out;
}

export const PLAYLIST_URL = 'https://origin.example.com/live1/sub/index.m3u8?token=abc~hmac=9f';
export const ORIGIN_BASE = 'https://origin.example.com/live1/';

/**
 * The lossless-rewrite contract for one text: identity render is the input; a render that maps every
 * slot re-parses (m3u8-parser) to the same structure; every URI m3u8-parser sees went through a slot.
 */
export function checkRoundTrip(text: string, parsed: HlsManifest): void {
  const { template } = parsed;
  expect(template.chunks.length).toBe(template.slots.length + 1);
  expect(render(template, (s) => s.original)).toBe(text);
  // Switchyard accepts playlists m3u8-parser throws on (players read them): the structure check
  // below needs m3u8-parser to read the text, the identity render above holds either way.
  if (!m3u8Reads(text)) return;
  const mapped = render(template, markSlot);
  const before = m3u8(text);
  const after = m3u8(mapped);
  expect(unmark(after)).toEqual(unmark(before));
  const unmapped = parserUris(after).filter((u) => !u.uri.startsWith(MARK));
  expect(unmapped).toEqual([]);
}

/** parseHls, or the SwitchyardError code it threw; anything else fails the test. */
export function parseOrCode(text: string, url = PLAYLIST_URL): HlsManifest | string {
  try {
    return parseHls(text, url, ORIGIN_BASE);
  } catch (err) {
    if (isSwitchyardError(err)) return err.code;
    throw err;
  }
}
