/**
 * CTA-5004 Common Media Client Data, v1 and v2, on the wire: the `CMCD=` query parameter, the
 * CMCD-Request/-Object/-Status/-Session headers and event-mode bodies (`application/cmcd`, one report
 * per line). Event-mode bodies are decoded by @svta/cml-cmcd; on the request path (every playlist
 * reload) the library measured 18x slower than a plain decoder of the same grammar, 3.6x with stack
 * traces off (bench section `cmcd`), so requests go through ./sf-dict.ts, which a property test holds
 * to the library's results.
 * This module bounds the work, survives malformed input (a malformed member is skipped, the others
 * are kept) and reduces v2 inner lists (`br=(3000;v 128;a)`) to what a policy compares.
 *
 * Players are not always right, and anyone can send anything: nothing here throws.
 */
import { decodeCmcd } from '@svta/cml-cmcd';
import { decodeSfDictInto } from './sf-dict';

export type { CmcdListItem, CmcdPayload, CmcdValue } from './cmcd-values';
import type { CmcdListItem, CmcdPayload, CmcdValue } from './cmcd-values';

/** A CMCD payload as policies see it: one scalar per key (v2 lists reduced, see flattenValue). */
export type CmcdData = Record<string, CmcdValue>;

export const CMCD_HEADERS = ['cmcd-request', 'cmcd-object', 'cmcd-status', 'cmcd-session'] as const;
export const CMCD_MIME_TYPE = 'application/cmcd';

/** Longest payload read (the spec has no limit; real payloads are a few hundred bytes). */
export const MAX_CMCD_PAYLOAD = 4096;
const MAX_KEYS = 64;
/** Longest key kept (spec keys are 1-4 letters; custom ones carry a short reverse-DNS prefix). */
const MAX_KEY_LENGTH = 64;

/**
 * Decodes one payload (`br=3200,bs,ot=v,sid="abc"` or v2 `br=(3200;v),e=rr,rc=200`) on the request
 * path (./sf-dict.ts). Malformed members are dropped; the first of a repeated key wins, and keys
 * already in `into` (merging headers and query) are kept.
 */
export function decodePayload(text: string, into: CmcdPayload = {}): CmcdPayload {
  const payload = text.length > MAX_CMCD_PAYLOAD ? text.slice(0, MAX_CMCD_PAYLOAD) : text;
  decodeSfDictInto(payload, into, MAX_KEYS, MAX_KEY_LENGTH);
  return into;
}

/**
 * The same through @svta/cml-cmcd (event-mode bodies): whole payloads in one call; when the library
 * refuses one, each comma-separated member is decoded alone and the unreadable ones are dropped.
 */
export function decodePayloadWithLibrary(text: string, into: CmcdPayload = {}): CmcdPayload {
  const payload = text.length > MAX_CMCD_PAYLOAD ? text.slice(0, MAX_CMCD_PAYLOAD) : text;
  if (payload.trim() === '') return into;
  const whole = tryDecode(payload);
  if (whole) {
    let count = 0;
    for (const key in whole) {
      if (count++ >= MAX_KEYS) break;
      if (!(key in into)) into[key] = whole[key] as CmcdValue | CmcdListItem[];
    }
    return into;
  }
  let count = 0;
  for (const pair of splitPairs(payload)) {
    if (count++ >= MAX_KEYS) break;
    const one = tryDecode(pair);
    if (!one) continue;
    for (const key in one) if (!(key in into)) into[key] = one[key] as CmcdValue | CmcdListItem[];
  }
  return into;
}

function tryDecode(text: string): CmcdPayload | undefined {
  let raw: Record<string, unknown>;
  // The library builds an Error for every number it reads (and throws some): without stack traces
  // that costs a fraction. Synchronous, so nothing else runs while the limit is lowered.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    raw = decodeCmcd(text) as Record<string, unknown>;
  } catch {
    return undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
  const out: CmcdPayload = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.length > MAX_KEY_LENGTH) continue;
    const v = normalise(value);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** The library's values (scalars, symbols already as strings, SfItems, lists) as plain data. */
function normalise(value: unknown): CmcdValue | CmcdListItem[] | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'symbol') return value.description ?? undefined;
  if (Array.isArray(value)) {
    const items: CmcdListItem[] = [];
    for (const member of value) {
      const item = listItem(member);
      if (item) items.push(item);
    }
    return items;
  }
  if (isItem(value)) {
    // A parameterised scalar outside a list (v2 allows `ot` flags on some keys): the value counts.
    return normalise(value.value);
  }
  return undefined;
}

function listItem(member: unknown): CmcdListItem | undefined {
  if (isItem(member)) {
    const v = normalise(member.value);
    if (v === undefined || Array.isArray(v)) return undefined;
    const params =
      member.params && typeof member.params === 'object' ? plainParams(member.params) : undefined;
    return params ? { value: v, params } : { value: v };
  }
  const v = normalise(member);
  return v === undefined || Array.isArray(v) ? undefined : { value: v };
}

/** Parameters as plain data (the library leaves tokens as Symbols there); bytes and dates dropped. */
function plainParams(params: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    const n = typeof v === 'symbol' ? v.description : v;
    if (typeof n === 'string' || typeof n === 'number' || typeof n === 'boolean') out[k] = n;
  }
  return out;
}

function isItem(v: unknown): v is { value: unknown; params?: unknown } {
  return typeof v === 'object' && v !== null && 'value' in v;
}

/** Splits at commas outside quoted strings and parentheses (inner lists). */
function splitPairs(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * One scalar per key: a v2 list gives the member flagged with the payload's object type (`ot=v` picks
 * `3000;v`), else its first member. `bsd` (durations of each starvation) is summed.
 */
export function flatten(payload: CmcdPayload): CmcdData {
  const out: CmcdData = {};
  const ot = typeof payload.ot === 'string' ? payload.ot : undefined;
  for (const key in payload) {
    const v = payload[key] as CmcdValue | readonly CmcdListItem[];
    if (!Array.isArray(v)) {
      out[key] = v as CmcdValue;
      continue;
    }
    const list = v as readonly CmcdListItem[];
    if (key === 'bsd' || key === 'bsda' || key === 'bsa') {
      const sum = listSum(list);
      if (sum !== undefined) out[key] = sum;
      continue;
    }
    const picked = (ot !== undefined ? list.find((i) => i.params?.[ot] === true) : undefined) ?? list[0];
    if (picked !== undefined) out[key] = picked.value;
  }
  return out;
}

/** Sum of a list's numeric members (undefined when it has none). */
export function listSum(list: readonly CmcdListItem[]): number | undefined {
  let sum: number | undefined;
  for (const item of list) if (typeof item.value === 'number') sum = (sum ?? 0) + item.value;
  return sum;
}

/** A decoded payload's value for `key` as a number (a v2 list's flattened member), if it is one. */
export function numberOf(payload: CmcdPayload, key: string): number | undefined {
  const v = payload[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) {
    const flat = flatten({ [key]: v, ...(payload.ot === undefined ? {} : { ot: payload.ot }) })[key];
    return typeof flat === 'number' ? flat : undefined;
  }
  return undefined;
}

/** Parses a decoded CMCD payload into flat scalars (what policies match on). */
export function parseCmcd(payload: string): CmcdData {
  return flatten(decodePayload(payload));
}

/**
 * The raw `CMCD` parameter of a query string (without the leading "?"), percent-decoded; undefined
 * when absent. A malformed percent escape leaves that run as sent rather than failing the value.
 */
export function cmcdQueryValue(query: string): string | undefined {
  if (query.length === 0) return undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (query.startsWith('CMCD=', start)) return percentDecode(query.slice(start + 5, end));
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

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The query's CMCD payload, decoded; undefined when the query has none. */
export function decodeQuery(query: string): CmcdPayload | undefined {
  const value = cmcdQueryValue(query);
  return value === undefined ? undefined : decodePayload(value);
}

/** The four CMCD-* headers merged (Node lower-cases header names); undefined when none is present. */
export function decodeHeaders(headers: Headers): CmcdPayload | undefined {
  let out: CmcdPayload | undefined;
  for (const name of CMCD_HEADERS) {
    const value = headers[name];
    if (value === undefined) continue;
    out = decodePayload(Array.isArray(value) ? value.join(',') : value, out ?? {});
  }
  return out;
}

/** Whether a request carries CMCD at all (a cheap test before any decoding). */
export function hasCmcd(query: string, headers: Headers): boolean {
  return (
    query.includes('CMCD=') ||
    headers['cmcd-request'] !== undefined ||
    headers['cmcd-object'] !== undefined ||
    headers['cmcd-status'] !== undefined ||
    headers['cmcd-session'] !== undefined
  );
}

/** CMCD of a request: the query and the headers together (the query wins a conflict), and how it came. */
export function decodeRequest(
  query: string,
  headers: Headers,
): { payload: CmcdPayload; via: 'query' | 'header' } | undefined {
  const fromQuery = decodeQuery(query);
  const fromHeaders = decodeHeaders(headers);
  if (!fromHeaders) return fromQuery ? { payload: fromQuery, via: 'query' } : undefined;
  if (!fromQuery) return { payload: fromHeaders, via: 'header' };
  return { payload: { ...fromHeaders, ...fromQuery }, via: 'query' };
}

export interface EventBatch {
  /** Each readable line's payload, in order. */
  readonly reports: CmcdPayload[];
  /** 1-based numbers of the lines that held no readable key (reported back to the sender). */
  readonly rejected: number[];
}

/**
 * An event-mode body: one report per line (CRLF or LF), blank lines ignored, at most `maxReports`
 * read. A line the library cannot read at all is rejected by number; a line with some unreadable pairs
 * keeps the readable ones (as on requests).
 */
export function decodeEventBody(body: string, maxReports: number): EventBatch & { truncated: boolean } {
  const reports: CmcdPayload[] = [];
  const rejected: number[] = [];
  const lines = body.split('\n');
  let seen = 0;
  let truncated = false;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (seen++ >= maxReports) {
      truncated = true;
      break;
    }
    const payload = decodePayloadWithLibrary(line);
    if (Object.keys(payload).length === 0) rejected.push(i + 1);
    else reports.push(payload);
  }
  return { reports, rejected, truncated };
}
