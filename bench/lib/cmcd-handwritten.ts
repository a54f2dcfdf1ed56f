/**
 * The hand-written CMCD parser Switchyard used before @svta/cml-cmcd (kept only as the bench's
 * baseline: bench/cmcd.ts measures what the library costs on the hot path against it).
 */
export type CmcdValue = string | number | boolean;
export type CmcdData = Record<string, CmcdValue>;

const CMCD_HEADERS = ['cmcd-request', 'cmcd-object', 'cmcd-status', 'cmcd-session'] as const;

/** Longest payload read (the spec has no limit; real payloads are a few hundred bytes). */
const MAX_PAYLOAD = 4096;
const MAX_KEYS = 64;
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;

/** Parses a decoded CMCD payload (`br=3200,bs,ot=v,sid="abc"`) into a record; the first of a repeated key wins. */
export function parseCmcd(payload: string, into: CmcdData = {}): CmcdData {
  const text = payload.length > MAX_PAYLOAD ? payload.slice(0, MAX_PAYLOAD) : payload;
  let i = 0;
  let count = 0;
  while (i < text.length && count < MAX_KEYS) {
    // key
    let end = i;
    while (end < text.length && text[end] !== '=' && text[end] !== ',') end++;
    const key = text.slice(i, end).trim();
    let value: CmcdValue | undefined = true;
    i = end;
    if (text[i] === '=') {
      i++;
      while (text[i] === ' ') i++;
      if (text[i] === '"') {
        const read = readQuoted(text, i + 1);
        value = read?.value;
        i = read ? read.next : skipToComma(text, i);
      } else {
        const stop = skipToComma(text, i);
        value = scalar(text.slice(i, stop).trim());
        i = stop;
      }
    }
    // Whatever trails a value up to the next comma is garbage that belongs to this pair.
    i = skipToComma(text, i) + 1;
    count++;
    if (value === undefined || !KEY.test(key) || key === '__proto__' || key in into) continue;
    into[key] = value;
  }
  return into;
}

function readQuoted(text: string, from: number): { value: string; next: number } | undefined {
  let out = '';
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++;
      if (i >= text.length) return undefined;
      out += text[i];
    } else if (ch === '"') {
      return { value: out, next: i + 1 };
    } else {
      out += ch;
    }
  }
  return undefined;
}

function skipToComma(text: string, from: number): number {
  const at = text.indexOf(',', from);
  return at === -1 ? text.length : at;
}

function scalar(raw: string): CmcdValue | undefined {
  if (raw === '') return undefined;
  if (NUMBER.test(raw)) {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  // Structured-field booleans, which some players send instead of omitting a false flag.
  if (raw === '?1') return true;
  if (raw === '?0') return false;
  return raw;
}

/**
 * The `CMCD` parameter of a raw query string (without the leading "?"), percent-decoded and parsed;
 * undefined when absent. A malformed percent escape leaves the value as sent rather than failing.
 */
export function parseCmcdQuery(query: string): CmcdData | undefined {
  if (query.length === 0) return undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (query.startsWith('CMCD=', start)) {
      const raw = query.slice(start + 5, end);
      return parseCmcd(percentDecode(raw));
    }
    start = end + 1;
  }
  return undefined;
}

/** decodeURIComponent, except that a malformed escape is kept as sent instead of failing the whole value. */
function percentDecode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** Merges the four CMCD-* headers (Node lower-cases header names); undefined when none is present. */
export function parseCmcdHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): CmcdData | undefined {
  let out: CmcdData | undefined;
  for (const name of CMCD_HEADERS) {
    const value = headers[name];
    if (value === undefined) continue;
    out = parseCmcd(Array.isArray(value) ? value.join(',') : value, out ?? {});
  }
  return out;
}
