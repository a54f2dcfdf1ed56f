/**
 * URI reference resolution (RFC 3986 §5.2) on strings.
 *
 * WHATWG `URL` re-encodes characters (`{`, `}`, `|`, quotes, spaces...) and normalises queries, which
 * breaks signed CDN tokens and HLS `{$variable}` placeholders. Manifests must come out with every URI
 * byte the origin wrote, so resolution here only ever concatenates and removes dot segments.
 */

export interface UriParts {
  scheme: string | undefined;
  authority: string | undefined;
  path: string;
  query: string | undefined;
  fragment: string | undefined;
}

const URI_RE = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;

export function parseUri(uri: string): UriParts {
  const m = URI_RE.exec(uri);
  // The regex matches every string (all groups optional), so m is never null.
  const g = m as RegExpExecArray;
  return { scheme: g[1], authority: g[2], path: g[3] ?? '', query: g[4], fragment: g[5] };
}

export function formatUri(p: UriParts): string {
  let out = '';
  if (p.scheme !== undefined) out += p.scheme + ':';
  if (p.authority !== undefined) out += '//' + p.authority;
  out += p.path;
  if (p.query !== undefined) out += '?' + p.query;
  if (p.fragment !== undefined) out += '#' + p.fragment;
  return out;
}

export function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const input = path.split('/');
  const output: string[] = [];
  for (let i = 0; i < input.length; i++) {
    const seg = input[i] as string;
    const last = i === input.length - 1;
    if (seg === '.') {
      if (last) output.push('');
    } else if (seg === '..') {
      if (output.length > 1 || (output.length === 1 && output[0] !== '')) output.pop();
      if (last) output.push('');
    } else {
      output.push(seg);
    }
  }
  let out = output.join('/');
  if (path.startsWith('/') && !out.startsWith('/')) out = '/' + out;
  return out;
}

function mergePaths(base: UriParts, refPath: string): string {
  if (base.authority !== undefined && base.path === '') return '/' + refPath;
  const i = base.path.lastIndexOf('/');
  return i < 0 ? refPath : base.path.slice(0, i + 1) + refPath;
}

/** Resolves `ref` against the absolute `base` (RFC 3986 §5.2.2), keeping every other byte as written. */
export function resolveUri(base: string, ref: string): string {
  const r = parseUri(ref);
  const b = parseUri(base);
  const t: UriParts = {
    scheme: undefined,
    authority: undefined,
    path: '',
    query: undefined,
    fragment: r.fragment,
  };
  if (r.scheme !== undefined) {
    t.scheme = r.scheme;
    t.authority = r.authority;
    t.path = removeDotSegments(r.path);
    t.query = r.query;
  } else {
    if (r.authority !== undefined) {
      t.authority = r.authority;
      t.path = removeDotSegments(r.path);
      t.query = r.query;
    } else {
      if (r.path === '') {
        t.path = b.path;
        t.query = r.query !== undefined ? r.query : b.query;
      } else {
        t.path = r.path.startsWith('/')
          ? removeDotSegments(r.path)
          : removeDotSegments(mergePaths(b, r.path));
        t.query = r.query;
      }
      t.authority = b.authority;
    }
    t.scheme = b.scheme;
  }
  return formatUri(t);
}

/** True for URIs a proxy can rewrite: http(s) absolute, scheme-relative or relative references. */
export function isHttpReference(ref: string): boolean {
  const scheme = parseUri(ref).scheme;
  return scheme === undefined || /^https?$/i.test(scheme);
}

/**
 * The part of `absolute` under `base` (a URL ending in '/'), or undefined when it lies elsewhere.
 * Scheme and host compare case-insensitively, the path exactly.
 */
export function relativeTo(base: string, absolute: string): string | undefined {
  if (absolute.length >= base.length && absolute.startsWith(base)) return absolute.slice(base.length);
  const b = parseUri(base);
  const a = parseUri(absolute);
  if (
    a.scheme?.toLowerCase() !== b.scheme?.toLowerCase() ||
    a.authority?.toLowerCase() !== b.authority?.toLowerCase() ||
    !a.path.startsWith(b.path)
  ) {
    return undefined;
  }
  const rest = a.path.slice(b.path.length);
  return (
    rest + (a.query !== undefined ? '?' + a.query : '') + (a.fragment !== undefined ? '#' + a.fragment : '')
  );
}

/** Removes one query parameter by name, leaving every other byte of the query as written. */
export function withoutQueryParam(query: string, name: string): string {
  if (query === '') return query;
  const kept = query.split('&').filter((pair) => {
    const eq = pair.indexOf('=');
    return (eq < 0 ? pair : pair.slice(0, eq)) !== name;
  });
  return kept.join('&');
}

/** The raw (undecoded) value of a query parameter, or undefined. */
export function queryParam(query: string, name: string): string | undefined {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}
