import { SwitchyardError } from '../errors';

export const MAX_URL_LENGTH = 4096;

export type ManifestRoute =
  | {
      readonly kind: 'session';
      readonly token: string;
      readonly streamId: string;
      readonly path: string;
      readonly query: string;
    }
  | { readonly kind: 'new'; readonly streamId: string; readonly path: string; readonly query: string }
  /** Redirect mode: `/s/<token>/seg/<path>`, answered with a 302 to the CDN chosen now. */
  | { readonly kind: 'segment'; readonly token: string; readonly path: string; readonly query: string }
  /** Content steering manifest: `/s/<token>/steering.json` (HLS) or `/s/<token>/dash-steering.json`. */
  | {
      readonly kind: 'steering';
      readonly token: string;
      readonly format: 'hls' | 'dash';
      readonly query: string;
    };

/** Path segment after the token that marks a redirect-mode segment URL (a reserved stream id). */
export const SEGMENT_ROUTE = 'seg';
export const STEERING_FILES: Readonly<Record<string, 'hls' | 'dash'>> = {
  'steering.json': 'hls',
  'dash-steering.json': 'dash',
};

const FORBIDDEN_IN_PATH = /%2f|%5c|%00|%2e|\\|\0/i;

/**
 * Matches `/s/<token>/<stream>/<path>` (an existing session) or `/<stream>/<path>` (a new one) for a
 * configured stream; undefined for every other URL (Switchyard's own routes). Path and query stay
 * raw (never decoded and re-encoded) because they are forwarded to the origin as the player sent them.
 * Throws BAD_PATH for traversal, encoded separators, NUL or backslashes, URL_TOO_LONG past the limit.
 */
export function matchManifestRoute(
  rawUrl: string,
  isStream: (id: string) => boolean,
): ManifestRoute | undefined {
  if (rawUrl.length > MAX_URL_LENGTH)
    throw new SwitchyardError('URL_TOO_LONG', `URL longer than ${MAX_URL_LENGTH} characters`);
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  if (!pathname.startsWith('/')) return undefined;
  const first = segmentAt(pathname, 1);
  let route: ManifestRoute;
  if (first.value === 's') {
    const token = segmentAt(pathname, first.next);
    const stream = segmentAt(pathname, token.next);
    const steering = STEERING_FILES[stream.value];
    if (steering !== undefined && stream.next === pathname.length) {
      return { kind: 'steering', token: token.value, format: steering, query };
    }
    if (stream.value === SEGMENT_ROUTE) {
      const path = pathname.slice(stream.next);
      checkPath(path);
      return { kind: 'segment', token: token.value, path, query };
    }
    if (!isStream(stream.value)) return undefined;
    route = {
      kind: 'session',
      token: token.value,
      streamId: stream.value,
      path: pathname.slice(stream.next),
      query,
    };
  } else {
    if (!isStream(first.value)) return undefined;
    route = { kind: 'new', streamId: first.value, path: pathname.slice(first.next), query };
  }
  checkPath(route.path);
  return route;
}

function segmentAt(pathname: string, from: number): { value: string; next: number } {
  const slash = pathname.indexOf('/', from);
  return slash < 0
    ? { value: pathname.slice(from), next: pathname.length }
    : { value: pathname.slice(from, slash), next: slash + 1 };
}

function checkPath(path: string): void {
  if (path === '') throw new SwitchyardError('BAD_PATH', 'no manifest path after the stream id');
  if (FORBIDDEN_IN_PATH.test(path))
    throw new SwitchyardError('BAD_PATH', 'path holds an encoded separator, dot, backslash or NUL');
  for (const seg of path.split('/')) {
    if (seg === '.' || seg === '..') throw new SwitchyardError('BAD_PATH', 'path holds a dot segment');
    if (seg === '') throw new SwitchyardError('BAD_PATH', 'path holds an empty segment');
  }
}
