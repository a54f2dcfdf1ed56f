import { isHttpReference, parseUri, relativeTo, resolveUri } from '../url';
import type { Slot, SlotKind, SlotRole } from './template';

/** HLS variables (EXT-X-DEFINE NAME/VALUE) whose values a playlist states itself. */
export type KnownVariables = ReadonlyMap<string, string>;

const VARIABLE = /\{\$([A-Za-z0-9_-]+)\}/g;

/**
 * Resolves a manifest URI against the manifest's URL and places it under the stream's origin.
 *
 * A URI that begins with an HLS variable reference (`{$name}...`) can only be placed when its value is
 * known (`variables`: the playlist's own NAME/VALUE definitions) and makes the URI a relative path:
 * then the URI is resolved with the reference left in place (`{$name}` is a plain path character to
 * RFC 3986 resolution), so the player substitutes it under the prefix Switchyard writes. A leading
 * variable whose value is unknown (IMPORT, QUERYPARAM) or that makes the URI absolute is left exactly
 * as written: the player resolves it, and no `{$...}` is ever broken.
 */
export function makeSlot(
  kind: SlotKind,
  role: SlotRole,
  original: string,
  manifestUrl: string,
  originBase: string,
  variables?: KnownVariables,
): Slot {
  // Non-http schemes (skd://, data:, urn:) cannot be resolved.
  if (
    !isHttpReference(original) ||
    (original.startsWith('{$') && !relativeOnceSubstituted(original, variables))
  ) {
    return { kind, role, original, absolute: original, path: undefined };
  }
  const absolute = resolveUri(manifestUrl, original);
  return { kind, role, original, absolute, path: relativeTo(originBase, absolute) };
}

function relativeOnceSubstituted(original: string, variables: KnownVariables | undefined): boolean {
  if (!variables || variables.size === 0) return false;
  let unknown = false;
  const value = original.replace(VARIABLE, (whole, name: string) => {
    const v = variables.get(name);
    if (v === undefined) unknown = true;
    return v ?? whole;
  });
  if (unknown && value.startsWith('{$')) return false;
  const p = parseUri(value);
  return p.scheme === undefined && p.authority === undefined && !p.path.startsWith('/') && value !== '';
}
