/** Shared helpers of the DASH tests: rewrite an MPD as the manifest handler does, compare with mpd-parser. */
import { parse as parseMpd, type MpdManifest, type MpdPlaylist } from 'mpd-parser';
import { escapeXml, parseDash, type DashManifest } from '../../src/manifest/dash';
import { render, type Slot } from '../../src/manifest/template';
import { relativeTo } from '../../src/url';

export const ORIGIN_BASE = 'http://origin.test/vod/';
export const MPD_URL = 'http://origin.test/vod/dash/manifest.mpd';
export const CDN_PREFIX = 'https://cdn-a.test/edge/vod/';
export const SESSION_PREFIX = 'https://sy.test/s/TOKEN/vod/';

export interface Rewritten {
  manifest: DashManifest;
  text: string;
}

/** Maps slots exactly like src/server/manifest-handler.ts (prefixes escaped, slot paths already are). */
export function mapSlot(slot: Slot, cdnPrefix = CDN_PREFIX, sessionPrefix = SESSION_PREFIX): string {
  if (slot.path === undefined) return slot.absolute;
  switch (slot.role) {
    case 'playlist':
      return escapeXml(sessionPrefix) + slot.path;
    case 'media':
      return escapeXml(cdnPrefix) + slot.path;
    default:
      return slot.absolute;
  }
}

export function rewrite(
  text: string,
  mpdUrl = MPD_URL,
  originBase = ORIGIN_BASE,
  cdnPrefix = CDN_PREFIX,
): Rewritten {
  const manifest = parseDash(text, mpdUrl, originBase);
  return { manifest, text: render(manifest.template, (s) => mapSlot(s, cdnPrefix)) };
}

const INSERTED = '@@SWITCHYARD-INSERTED@@';

/**
 * The input again, from the template alone: every slot as written in the MPD, inserted elements
 * removed. Equal to the input when every byte outside the slots was kept.
 */
export function outsideSlots(manifest: DashManifest): string {
  const joined = render(manifest.template, (s) => (s.original === '' ? INSERTED : s.original));
  return joined.replace(
    /<((?:[\w.-]+:)?(?:BaseURL|Location))>@@SWITCHYARD-INSERTED@@<\/\1>(\r?\n[ \t]*)?/g,
    '',
  );
}

/** Normalises a URL as mpd-parser's resolver (WHATWG URL) would write it. */
function norm(u: string): string {
  try {
    return new URL(u).href;
  } catch {
    return u;
  }
}

/** Where a URL the origin MPD resolves to should be after the rewrite. */
export function expectedLocation(
  originUrl: string,
  originBase = ORIGIN_BASE,
  cdnPrefix = CDN_PREFIX,
): string {
  const path = relativeTo(norm(originBase), norm(originUrl));
  return norm(path === undefined ? originUrl : cdnPrefix + path);
}

interface Flat {
  id: string;
  segments: string[];
  maps: string[];
  sidx: string | undefined;
  bytes: string[];
}

function playlistsOf(m: MpdManifest): MpdPlaylist[] {
  const out: MpdPlaylist[] = [...(m.playlists ?? [])];
  for (const type of ['AUDIO', 'SUBTITLES'] as const) {
    for (const group of Object.values(m.mediaGroups?.[type] ?? {})) {
      for (const label of Object.values(group)) out.push(...label.playlists);
    }
  }
  return out;
}

function flatten(m: MpdManifest, mapUrl: (u: string) => string): Flat[] {
  return playlistsOf(m).map((p) => ({
    id: `${String(p.attributes.NAME)}|${String(p.attributes.BANDWIDTH)}|${String(p.attributes.serviceLocation)}`,
    segments: p.segments.map((s) => mapUrl(s.resolvedUri)),
    maps: p.segments.map((s) => (s.map ? mapUrl(s.map.resolvedUri) : '')),
    sidx: p.sidx ? mapUrl(p.sidx.resolvedUri) : undefined,
    bytes: p.segments.map((s) => (s.byterange ? `${s.byterange.offset}+${s.byterange.length}` : '')),
  }));
}

/**
 * mpd-parser's reading of the input (from the origin URL) and of the output (from Switchyard's session
 * URL): the same playlists, each segment URL now where `expectedLocation` says. Both are returned so a
 * test can compare them with toEqual and see a readable diff.
 */
export function mpdParserViews(
  input: string,
  output: string,
  opts: { mpdUrl?: string; originBase?: string; cdnPrefix?: string; now?: number } = {},
): { expected: Flat[]; actual: Flat[] } {
  const mpdUrl = opts.mpdUrl ?? MPD_URL;
  const originBase = opts.originBase ?? ORIGIN_BASE;
  const cdnPrefix = opts.cdnPrefix ?? CDN_PREFIX;
  const now = opts.now ?? Date.parse('2024-01-01T00:10:00Z');
  const sessionUrl = SESSION_PREFIX + (relativeTo(originBase, mpdUrl) ?? 'manifest.mpd');
  const before = parseMpd(input, { manifestUri: mpdUrl, NOW: now });
  const after = parseMpd(output, { manifestUri: sessionUrl, NOW: now });
  return {
    expected: flatten(before, (u) => expectedLocation(u, originBase, cdnPrefix)),
    actual: flatten(after, norm),
  };
}
