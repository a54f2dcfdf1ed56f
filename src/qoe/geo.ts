/**
 * Where a viewer is, as the CDN or load balancer in front of Switchyard tells it in request headers:
 * ISO 3166-1 alpha-2 country and autonomous system number. Pure; unknown or malformed values are absent.
 */
export interface GeoHeaders {
  /** Header names (lower case), first present wins. */
  readonly country: readonly string[];
  readonly asn: readonly string[];
}

export const DEFAULT_GEO_HEADERS: GeoHeaders = {
  country: ['cloudfront-viewer-country', 'cf-ipcountry', 'x-country-code'],
  asn: ['cloudfront-viewer-asn', 'x-asn'],
};

export interface Geo {
  readonly country?: string;
  readonly asn?: number;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function first(headers: Headers, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = headers[name];
    const s = Array.isArray(v) ? v[0] : v;
    if (s !== undefined && s !== '') return s.trim();
  }
  return undefined;
}

/** `DE`, `us` → `US`; `XX`/`T1` (unknown, Tor) and anything not two letters → absent. */
export function parseCountry(raw: string | undefined): string | undefined {
  if (raw === undefined || !/^[A-Za-z]{2}$/.test(raw)) return undefined;
  const c = raw.toUpperCase();
  return c === 'XX' ? undefined : c;
}

/** `3320`, `AS3320` → 3320; anything else (or beyond 32 bits) → absent. */
export function parseAsn(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(?:AS)?(\d{1,10})$/i.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 && n <= 4_294_967_295 ? n : undefined;
}

export function geoOf(headers: Headers, names: GeoHeaders = DEFAULT_GEO_HEADERS): Geo {
  const country = parseCountry(first(headers, names.country));
  const asn = parseAsn(first(headers, names.asn));
  return { ...(country === undefined ? {} : { country }), ...(asn === undefined ? {} : { asn }) };
}
