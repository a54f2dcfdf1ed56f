/**
 * A small, strict XML scanner for MPDs that keeps the source offsets of everything it reads, so the DASH
 * rewriter can edit the original text by spans (no DOM round trip that would reorder attributes,
 * re-escape entities or drop comments).
 *
 * It checks well-formedness as far as a rewrite needs it (matching tags, quoted attributes, known entity
 * references, one root element) and refuses DTDs outright: a DOCTYPE or ENTITY declaration is how XXE and
 * "billion laughs" attacks reach a parser, and no real MPD needs one.
 */
import { SwitchyardError } from '../errors';
import { DEFAULT_MANIFEST_LIMITS, tooComplex, type ManifestLimits } from './limits';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface XmlAttribute {
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  /** Namespace URI; undefined for unprefixed attributes (they are in no namespace). */
  readonly ns: string | undefined;
  /** The value with entity references decoded. */
  readonly value: string;
  /** Span of the raw value inside the quotes. */
  readonly valueStart: number;
  readonly valueEnd: number;
  readonly quote: '"' | "'";
}

export interface XmlElement {
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  /** Namespace URI, undefined when the element is in no namespace. */
  readonly ns: string | undefined;
  readonly attributes: readonly XmlAttribute[];
  readonly children: XmlElement[];
  /** Offset of '<' of the start tag. */
  readonly start: number;
  /** Offset just after the start tag's '>'. */
  readonly contentStart: number;
  /** Offset of '</' of the end tag (=== contentStart for an empty element tag). */
  contentEnd: number;
  /** Offset just after the end tag (or the empty element tag). */
  end: number;
  /** Whether the content holds only character data (text, entity references, CDATA). */
  textOnly: boolean;
  /** Namespace bindings in scope (prefix '' = default namespace). */
  readonly scope: ReadonlyMap<string, string>;
}

export interface XmlDocument {
  readonly root: XmlElement;
}

export function invalidXml(message: string, text: string, offset: number): SwitchyardError {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return new SwitchyardError('MANIFEST_INVALID', `malformed MPD: ${message} (line ${line})`, {
    details: { line },
  });
}

const NAME_START = /[A-Za-z_:\u00C0-\uFFFF]/;
const NAME_RE = /[A-Za-z_:\u00C0-\uFFFF][A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]*/y;
const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * The first index of `code` in text[from, to), or -1. Never scans past `to`: text.indexOf would run on
 * to the next occurrence anywhere in the document, once per attribute value (quadratic on an MPD of
 * 100k elements without an "&": 17 s).
 */
function indexIn(text: string, code: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === code) return i;
  return -1;
}

/** Decodes character and predefined entity references of text[start, end). */
export function decodeXml(text: string, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const amp = indexIn(text, 38 /* & */, i, end);
    if (amp < 0) {
      out += text.slice(i, end);
      break;
    }
    out += text.slice(i, amp);
    const semi = indexIn(text, 59 /* ; */, amp, Math.min(end, amp + 13));
    if (semi < 0) throw invalidXml('bare "&" (use &amp;)', text, amp);
    const name = text.slice(amp + 1, semi);
    const known = PREDEFINED[name];
    if (known !== undefined) out += known;
    else if (/^#[0-9]{1,7}$/.test(name)) out += codePoint(Number(name.slice(1)), text, amp);
    else if (/^#x[0-9A-Fa-f]{1,6}$/.test(name)) out += codePoint(parseInt(name.slice(2), 16), text, amp);
    else throw invalidXml(`unknown entity "&${name};"`, text, amp);
    i = semi + 1;
  }
  return out;
}

function codePoint(cp: number, text: string, at: number): string {
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    throw invalidXml(`invalid character reference`, text, at);
  }
  return String.fromCodePoint(cp);
}

/** Escapes text for XML character data and attribute values (both quote characters included). */
export function escapeXml(text: string): string {
  return /[&<>"']/.test(text)
    ? text
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&apos;')
    : text;
}

/**
 * The character data of a text-only element: text with entities decoded and CDATA sections verbatim.
 * Comments and processing instructions inside are skipped.
 */
export function textContent(text: string, el: XmlElement): string {
  let out = '';
  let i = el.contentStart;
  const end = el.contentEnd;
  while (i < end) {
    const lt = text.indexOf('<', i);
    if (lt < 0 || lt >= end) {
      out += decodeXml(text, i, end);
      break;
    }
    out += decodeXml(text, i, lt);
    if (text.startsWith('<![CDATA[', lt)) {
      const close = text.indexOf(']]>', lt);
      out += text.slice(lt + 9, close);
      i = close + 3;
    } else if (text.startsWith('<!--', lt)) {
      i = text.indexOf('-->', lt) + 3;
    } else {
      i = text.indexOf('?>', lt) + 2;
    }
  }
  return out;
}

/** The local name of the synthetic root that parseXml(text, { fragment: true }) returns. */
export const FRAGMENT = '#fragment';

/**
 * Parses an XML document (one root element) with offsets. Throws MANIFEST_INVALID when malformed.
 * With `fragment`, the text may hold any number of top-level elements (an XLink remote element entity,
 * ISO/IEC 23009-1 §5.5.3, may hold several Periods): they become the children of a synthetic root
 * named FRAGMENT that spans the whole text.
 */
export function parseXml(
  text: string,
  options: { fragment?: boolean; limits?: ManifestLimits } = {},
): XmlDocument {
  const limits = options.limits ?? DEFAULT_MANIFEST_LIMITS;
  const len = text.length;
  let elements = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const baseScope: ReadonlyMap<string, string> = new Map([['xml', XML_NS]]);
  if (options.fragment) {
    root = {
      qname: FRAGMENT,
      prefix: '',
      local: FRAGMENT,
      ns: undefined,
      attributes: [],
      children: [],
      start: 0,
      contentStart: 0,
      contentEnd: len,
      end: len,
      textOnly: false,
      scope: baseScope,
    };
    stack.push(root);
  }

  const readName = (at: number): string => {
    NAME_RE.lastIndex = at;
    const m = NAME_RE.exec(text);
    if (!m) throw invalidXml('expected a name', text, at);
    return m[0];
  };
  const skipSpace = (at: number): number => {
    while (at < len) {
      const c = text.charCodeAt(at);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      at++;
    }
    return at;
  };

  while (i < len) {
    const lt = text.indexOf('<', i);
    const textEnd = lt < 0 ? len : lt;
    if (textEnd > i) {
      if (stack.length === 0) {
        if (text.slice(i, textEnd).trim() !== '') {
          throw invalidXml('text outside the root element', text, i);
        }
      } else {
        decodeXml(text, i, textEnd); // validates entity references
        if (text.slice(i, textEnd).includes(']]>')) throw invalidXml('"]]>" in text', text, i);
      }
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i + 4);
      if (close < 0) throw invalidXml('unterminated comment', text, i);
      i = close + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) throw invalidXml('CDATA outside the root element', text, i);
      const close = text.indexOf(']]>', i + 9);
      if (close < 0) throw invalidXml('unterminated CDATA section', text, i);
      i = close + 3;
      continue;
    }
    if (text.startsWith('<!', i)) {
      // DOCTYPE, ENTITY, ELEMENT, ATTLIST...: DTDs are where entity expansion attacks live.
      throw invalidXml('DTD declarations (DOCTYPE/ENTITY) are not allowed in an MPD', text, i);
    }
    if (text.startsWith('<?', i)) {
      const close = text.indexOf('?>', i + 2);
      if (close < 0) throw invalidXml('unterminated processing instruction', text, i);
      i = close + 2;
      continue;
    }
    if (text.startsWith('</', i)) {
      const name = readName(i + 2);
      const after = skipSpace(i + 2 + name.length);
      if (text[after] !== '>') throw invalidXml(`bad end tag </${name}`, text, i);
      const open = stack.pop();
      if (!open) throw invalidXml(`end tag </${name}> without a start tag`, text, i);
      if (open.qname !== name) throw invalidXml(`</${name}> closes <${open.qname}>`, text, i);
      open.contentEnd = i;
      open.end = after + 1;
      i = after + 1;
      continue;
    }
    // A start tag.
    if (stack.length === 0 && root !== undefined) throw invalidXml('a second root element', text, i);
    if (!NAME_START.test(text[i + 1] ?? '')) throw invalidXml('bare "<"', text, i);
    const qname = readName(i + 1);
    if (++elements > limits.maxElements) throw tooComplex('elements', limits.maxElements, 'maxElements');
    if (stack.length >= limits.maxDepth + (options.fragment ? 1 : 0))
      throw tooComplex('levels of nested elements', limits.maxDepth, 'maxDepth');
    let p = i + 1 + qname.length;
    const raw: { qname: string; valueStart: number; valueEnd: number; quote: '"' | "'" }[] = [];
    // Past a few attributes a Set, not a scan of those so far: 30,000 attributes stay linear.
    let names: Set<string> | undefined;
    let selfClosing = false;
    for (;;) {
      const q = skipSpace(p);
      if (q >= len) throw invalidXml(`unterminated start tag <${qname}`, text, i);
      if (text[q] === '>') {
        p = q + 1;
        break;
      }
      if (text.startsWith('/>', q)) {
        selfClosing = true;
        p = q + 2;
        break;
      }
      if (q === p) throw invalidXml(`expected a space before an attribute in <${qname}>`, text, q);
      const attrName = readName(q);
      let e = skipSpace(q + attrName.length);
      if (text[e] !== '=') throw invalidXml(`attribute ${attrName} without a value`, text, q);
      e = skipSpace(e + 1);
      const quote = text[e];
      if (quote !== '"' && quote !== "'") throw invalidXml(`unquoted value of ${attrName}`, text, e);
      const close = text.indexOf(quote, e + 1);
      if (close < 0) throw invalidXml(`unterminated value of ${attrName}`, text, e);
      if (close - e - 1 > limits.maxLineLength)
        throw tooComplex('characters in one attribute value', limits.maxLineLength, 'maxLineLength');
      // Only inside the value: a search to the next "<" anywhere would rescan the rest of the tag.
      for (let k = e + 1; k < close; k++)
        if (text.charCodeAt(k) === 60) throw invalidXml(`"<" in the value of ${attrName}`, text, k);
      if (raw.length >= 8 && names === undefined) names = new Set(raw.map((a) => a.qname));
      if (names ? names.has(attrName) : raw.some((a) => a.qname === attrName))
        throw invalidXml(`duplicate attribute ${attrName}`, text, q);
      names?.add(attrName);
      if (raw.length >= limits.maxAttributes)
        throw tooComplex('attributes on one element', limits.maxAttributes, 'maxAttributes');
      raw.push({ qname: attrName, valueStart: e + 1, valueEnd: close, quote });
      p = close + 1;
    }
    const parent = stack[stack.length - 1];
    let scope = parent ? parent.scope : baseScope;
    const values = raw.map((a) => decodeXml(text, a.valueStart, a.valueEnd));
    raw.forEach((a, k) => {
      if (a.qname === 'xmlns' || a.qname.startsWith('xmlns:')) {
        if (scope === (parent ? parent.scope : baseScope)) scope = new Map(scope);
        (scope as Map<string, string>).set(a.qname === 'xmlns' ? '' : a.qname.slice(6), values[k] as string);
      }
    });
    // Plain object literals, no `{ ...split(), ... }`: V8 built those spreads at ~40 µs an element
    // (an MPD of 140k elements took 5.5 s of CPU; 0.45 s this way).
    const nsOf = (prefix: string, isElement: boolean): string | undefined =>
      prefix === ''
        ? isElement
          ? scope.get('') || undefined
          : undefined
        : (scope.get(prefix) ?? (prefix === 'xmlns' ? undefined : undeclaredNamespace(prefix)));
    const attributes: XmlAttribute[] = raw.map((a, k) => {
      const colon = a.qname.indexOf(':');
      const prefix = colon < 0 ? '' : a.qname.slice(0, colon);
      return {
        qname: a.qname,
        prefix,
        local: colon < 0 ? a.qname : a.qname.slice(colon + 1),
        ns: nsOf(prefix, false),
        value: values[k] as string,
        valueStart: a.valueStart,
        valueEnd: a.valueEnd,
        quote: a.quote,
      };
    });
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    const el: XmlElement = {
      qname,
      prefix,
      local: colon < 0 ? qname : qname.slice(colon + 1),
      ns: nsOf(prefix, true),
      attributes,
      children: [],
      start: i,
      contentStart: p,
      contentEnd: p,
      end: p,
      textOnly: true,
      scope,
    };
    if (parent) {
      parent.children.push(el);
      parent.textOnly = false;
    } else {
      root = el;
    }
    if (!selfClosing) stack.push(el);
    i = p;
  }
  if (options.fragment && stack.length === 1) stack.pop();
  if (stack.length > 0) {
    const open = stack[stack.length - 1] as XmlElement;
    throw invalidXml(`<${open.qname}> is never closed (truncated?)`, text, open.start);
  }
  if (!root) throw invalidXml('no root element', text, 0);
  return { root };
}

/**
 * The namespace of a prefix the document never declares. Players read such MPDs (their XML readers
 * ignore namespaces, e.g. a DRM element's `cenc:` prefix left undeclared by a packager), and a rewriter
 * that edits spans needs no namespace-valid document: the element is kept byte for byte. The
 * conventional `xlink` prefix still means XLink (remote elements); any other undeclared prefix gets a
 * namespace of its own, so it is never mistaken for an MPD element.
 */
export function undeclaredNamespace(prefix: string): string {
  return prefix === 'xlink' ? 'http://www.w3.org/1999/xlink' : `urn:switchyard:undeclared-prefix:${prefix}`;
}

/** The attribute with this local name in no namespace, or in namespace `ns` when given. */
export function attribute(el: XmlElement, local: string, ns?: string): XmlAttribute | undefined {
  return el.attributes.find((a) => a.local === local && a.ns === ns);
}
