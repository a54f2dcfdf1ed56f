/**
 * A Structured Field dictionary decoder (RFC 8941) for CMCD on the request path. @svta/cml-cmcd decodes
 * the same grammar but builds an Error (with a stack trace) for every number it reads: measured 18x
 * this decoder's time on a typical v1 payload as it is, still 3.6x with stack traces off (bench section
 * `cmcd`), which is too much on every playlist reload. This decoder reads exactly the grammar, agrees
 * with the library on every well-formed payload (a property test compares them), never throws, and on
 * a malformed member skips to the next one.
 *
 * Values: integers and decimals as numbers, strings and tokens as strings, booleans as booleans, byte
 * sequences and dates are dropped; an inner list is its items with their parameters; parameters of a
 * top-level member are dropped (CMCD defines none).
 */
import type { CmcdListItem, CmcdPayload, CmcdValue } from './cmcd-values';

const enum C {
  Space = 32,
  Quote = 34,
  Comma = 44,
  Semicolon = 59,
  Equals = 61,
  Open = 40,
  Close = 41,
  Backslash = 92,
  Question = 63,
  Colon = 58,
  At = 64,
  Minus = 45,
  Dot = 46,
  Star = 42,
  Tab = 9,
}

class Fail extends Error {}
const FAIL = new Fail();
FAIL.stack = '';

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLcalpha = (c: number) => c >= 97 && c <= 122;
const isAlpha = (c: number) => isLcalpha(c) || (c >= 65 && c <= 90);
const isKeyChar = (c: number) =>
  isLcalpha(c) || isDigit(c) || c === 95 || c === C.Minus || c === C.Dot || c === C.Star;
/** tchar / ":" / "/" (RFC 8941 sf-token). */
const isTokenChar = (c: number) =>
  isAlpha(c) ||
  isDigit(c) ||
  c === C.Colon ||
  c === 47 ||
  c === 33 ||
  (c >= 35 && c <= 39) || // # $ % & '
  c === C.Star ||
  c === 43 ||
  c === C.Minus ||
  c === C.Dot ||
  c === 94 ||
  c === 95 ||
  c === 96 ||
  c === 124 ||
  c === 126;

class Reader {
  i = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): number {
    return this.s.charCodeAt(this.i);
  }
  spaces(): void {
    while (this.peek() === C.Space) this.i++;
  }
  ows(): void {
    let c = this.peek();
    while (c === C.Space || c === C.Tab) c = this.s.charCodeAt(++this.i);
  }

  key(): string {
    const start = this.i;
    const first = this.peek();
    if (!isLcalpha(first) && first !== C.Star) throw FAIL;
    this.i++;
    while (this.i < this.s.length && isKeyChar(this.peek())) this.i++;
    return this.s.slice(start, this.i);
  }

  /** A bare item; undefined for the kinds CMCD never uses (bytes, dates), which are skipped. */
  bare(): CmcdValue | undefined {
    const c = this.peek();
    if (c === C.Quote) return this.string();
    if (c === C.Minus || isDigit(c)) return this.number();
    if (c === C.Question) {
      const v = this.s.charCodeAt(this.i + 1);
      if (v !== 48 && v !== 49) throw FAIL;
      this.i += 2;
      return v === 49;
    }
    if (isAlpha(c) || c === C.Star) {
      const start = this.i++;
      while (this.i < this.s.length && isTokenChar(this.peek())) this.i++;
      return this.s.slice(start, this.i);
    }
    if (c === C.Colon) {
      const end = this.s.indexOf(':', this.i + 1);
      if (end < 0 || !/^[A-Za-z0-9+/=]*$/.test(this.s.slice(this.i + 1, end))) throw FAIL;
      this.i = end + 1;
      return undefined;
    }
    if (c === C.At) {
      this.i++;
      this.integerDigits(true);
      return undefined;
    }
    throw FAIL;
  }

  private integerDigits(allowSign: boolean): string {
    const start = this.i;
    if (allowSign && this.peek() === C.Minus) this.i++;
    const digits = this.i;
    while (isDigit(this.peek())) this.i++;
    if (this.i === digits) throw FAIL;
    return this.s.slice(start, this.i);
  }

  number(): number {
    const neg = this.peek() === C.Minus;
    if (neg) this.i++;
    const intStart = this.i;
    while (isDigit(this.peek())) this.i++;
    const intLen = this.i - intStart;
    if (intLen === 0) throw FAIL;
    if (this.peek() !== C.Dot) {
      if (intLen > 15) throw FAIL;
      const v = Number(this.s.slice(intStart, this.i));
      return neg ? -v : v;
    }
    if (intLen > 12) throw FAIL;
    this.i++;
    const fracStart = this.i;
    while (isDigit(this.peek())) this.i++;
    const fracLen = this.i - fracStart;
    if (fracLen === 0 || fracLen > 3) throw FAIL;
    const v = Number(this.s.slice(intStart, this.i));
    return neg ? -v : v;
  }

  string(): string {
    this.i++; // opening quote
    let out = '';
    let from = this.i;
    for (;;) {
      if (this.i >= this.s.length) throw FAIL;
      const c = this.peek();
      if (c === C.Quote) {
        out += this.s.slice(from, this.i);
        this.i++;
        return out;
      }
      if (c === C.Backslash) {
        const next = this.s.charCodeAt(this.i + 1);
        if (next !== C.Quote && next !== C.Backslash) throw FAIL;
        out += this.s.slice(from, this.i) + String.fromCharCode(next);
        this.i += 2;
        from = this.i;
        continue;
      }
      if (c < 0x20 || c > 0x7e) throw FAIL;
      this.i++;
    }
  }

  params(): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    while (this.peek() === C.Semicolon) {
      this.i++;
      this.spaces();
      const k = this.key();
      let v: CmcdValue | undefined = true;
      if (this.peek() === C.Equals) {
        this.i++;
        v = this.bare();
      }
      out ??= Object.create(null) as Record<string, unknown>;
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  innerList(): CmcdListItem[] {
    this.i++; // (
    const items: CmcdListItem[] = [];
    for (;;) {
      this.spaces();
      if (this.peek() === C.Close) {
        this.i++;
        return items;
      }
      if (this.done) throw FAIL;
      const v = this.bare();
      const p = this.params();
      if (v !== undefined) items.push(p ? { value: v, params: { ...p } } : { value: v });
      const c = this.peek();
      if (c !== C.Space && c !== C.Close) throw FAIL;
    }
  }
}

/** Skips to just after the next comma outside quotes and parentheses (the next member). */
function skipMember(r: Reader): void {
  let depth = 0;
  let quoted = false;
  const s = r.s;
  for (; r.i < s.length; r.i++) {
    const c = s.charCodeAt(r.i);
    if (quoted) {
      if (c === C.Backslash) r.i++;
      else if (c === C.Quote) quoted = false;
    } else if (c === C.Quote) quoted = true;
    else if (c === C.Open) depth++;
    else if (c === C.Close) depth = Math.max(0, depth - 1);
    else if (c === C.Comma && depth === 0) {
      r.i++;
      return;
    }
  }
}

/**
 * Decodes a dictionary into `into` (members already there are kept: the first wins), at most
 * `maxKeys` members; returns how many members were malformed (skipped).
 */
export function decodeSfDictInto(
  text: string,
  into: CmcdPayload,
  maxKeys: number,
  maxKeyLength: number,
): number {
  const r = new Reader(text.trim());
  let bad = 0;
  let members = 0;
  while (!r.done && members < maxKeys) {
    members++;
    const start = r.i;
    try {
      const key = r.key();
      let value: CmcdValue | CmcdListItem[] | undefined = true;
      if (r.peek() === C.Equals) {
        r.i++;
        if (r.peek() === C.Open) value = r.innerList();
        else value = r.bare();
      }
      r.params();
      r.ows();
      if (!r.done) {
        if (r.peek() !== C.Comma) throw FAIL;
        r.i++;
        r.ows();
        if (r.done) throw FAIL; // a trailing comma
      }
      if (value !== undefined && key.length <= maxKeyLength && !(key in into)) into[key] = value;
    } catch (err) {
      if (err !== FAIL) throw err;
      bad++;
      if (r.i <= start) r.i = start;
      skipMember(r);
      r.ows();
    }
  }
  return bad;
}
