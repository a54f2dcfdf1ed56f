/**
 * Puts tokens into a manifest's template: the slots that point at a CDN get the CDN's token in their
 * query, and everything else is left as it was. The result is an ordinary template, so the hot path
 * renders it like an unsigned one; it is built once per (manifest, CDN, epoch) and cached by the caller.
 *
 * Where tokens go:
 * - every `media` slot (HLS segments, EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT, EXT-X-SESSION-DATA;
 *   DASH SegmentTemplate/SegmentURL/Initialization/RepresentationIndex URLs) and, when keys load from
 *   the CDN, every `key` slot;
 * - DASH references kept relative under a BaseURL (they are not slots with a path): the token is
 *   appended to the reference itself, `$`-escaped in SegmentTemplate attributes, since a query on a
 *   BaseURL is dropped when players resolve a reference against it (RFC 3986 §5.2);
 * - not DASH folder BaseURLs (the query would not reach a segment); a BaseURL naming a file
 *   (SegmentBase) does get it.
 * The origin's own query is kept (minus any parameter the token uses) or dropped, per CDN.
 */
import { decodeXml, escapeXml } from '../manifest/dash-xml';
import { SwitchyardError } from '../errors';
import type { Slot, Template } from '../manifest/template';
import type { SignTarget, UrlSigner } from './types';

export interface TemplateSigning {
  readonly signer: UrlSigner;
  readonly keepOriginQuery: boolean;
  /** The CDN's prefix for the stream's paths (unescaped), e.g. "https://cdn-a.example/live1/". */
  readonly mediaPrefix: string;
  /** Sign `media` slots (false in redirect mode, where they point at Switchyard). */
  readonly media: boolean;
  /** Sign `key` slots (keys load from the CDN). */
  readonly keys: boolean;
  /** Slot paths are XML-escaped (DASH). */
  readonly xml: boolean;
  /** The token for a target: the caller caches it per epoch (one per scope, or one per URL). */
  token(target: SignTarget): string;
}

export function pathOfUrl(url: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/.exec(url);
  return m?.[1] || '/';
}

/** Removes the named parameters from a query, every other byte kept as written. */
export function dropParams(query: string, names: readonly string[]): string {
  if (query === '' || names.length === 0) return query;
  return query
    .split('&')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      return !names.includes(eq < 0 ? pair : pair.slice(0, eq));
    })
    .join('&');
}

/**
 * `ref` (a path under the origin, or a relative reference; unescaped) with the token in its query.
 * `signPath`: the path under the origin the reference resolves to, for per-URL tokens.
 */
export function withToken(
  ref: string,
  s: TemplateSigning,
  signPath: string | undefined,
  template: boolean,
): string {
  const hash = ref.indexOf('#');
  const fragment = hash < 0 ? '' : ref.slice(hash);
  const beforeHash = hash < 0 ? ref : ref.slice(0, hash);
  const q = beforeHash.indexOf('?');
  const base = q < 0 ? beforeHash : beforeHash.slice(0, q);
  const query = q < 0 ? '' : beforeHash.slice(q + 1);
  const kept = s.keepOriginQuery ? dropParams(query, s.signer.params) : '';
  let token: string;
  if (s.signer.perUrl) {
    if (template || signPath === undefined) {
      // A configuration this manifest cannot be served with: a clear 502, never a URL the CDN refuses.
      throw new SwitchyardError(
        'SIGNING_UNSUPPORTED',
        `${s.signer.scheme} signs each URL, and a DASH SegmentTemplate names no single URL: use a prefix-scoped form (an ACL, a wildcard resource)`,
      );
    }
    const q2 = signPath.search(/[?#]/);
    const url = s.mediaPrefix + (q2 < 0 ? signPath : signPath.slice(0, q2));
    token = s.token({ url, path: pathOfUrl(url) });
  } else {
    token = s.token({ url: s.mediaPrefix, path: pathOfUrl(s.mediaPrefix) });
  }
  // In a SegmentTemplate a lone "$" starts an identifier.
  if (template) token = token.replace(/\$/g, '$$$$');
  return base + '?' + (kept === '' ? '' : kept + '&') + token + fragment;
}

function unescape(text: string, xml: boolean): string {
  return xml ? decodeXml(text, 0, text.length) : text;
}

/** Whether a slot carries a CDN token. */
function signsSlot(slot: Slot, s: TemplateSigning): boolean {
  if (slot.path === undefined) return false;
  if (slot.role === 'key') return s.keys;
  if (slot.role !== 'media' || !s.media) return false;
  if (slot.kind === 'base-url') {
    const p = slot.path;
    const end = p.search(/[?#]/);
    return !(end < 0 ? p : p.slice(0, end)).endsWith('/') && (end < 0 ? p : p.slice(0, end)) !== '';
  }
  return true;
}

/** The template with every CDN-bound URI carrying its token. */
export function signTemplate(template: Template, s: TemplateSigning): Template {
  const slots = template.slots.map((slot): Slot => {
    if (slot.kept !== undefined && s.media) {
      const ref = unescape(slot.original, s.xml);
      const signPath = slot.kept.path === undefined ? undefined : unescape(slot.kept.path, s.xml);
      const signed = withToken(ref, s, signPath, slot.template === true);
      const text = s.xml ? escapeXml(signed) : signed;
      return { ...slot, absolute: text };
    }
    if (!signsSlot(slot, s)) return slot;
    const path = unescape(slot.path as string, s.xml);
    const signed = withToken(path, s, path, slot.template === true);
    return { ...slot, path: s.xml ? escapeXml(signed) : signed };
  });
  return { chunks: template.chunks, slots };
}
