import { isHttpReference, relativeTo, resolveUri } from '../url';
import type { Slot, SlotKind, SlotRole } from './template';

/** Resolves a manifest URI against the manifest's URL and places it under the stream's origin. */
export function makeSlot(
  kind: SlotKind,
  role: SlotRole,
  original: string,
  manifestUrl: string,
  originBase: string,
): Slot {
  // Non-http schemes (skd://, data:, urn:) and URIs that begin with an HLS variable cannot be resolved.
  if (!isHttpReference(original) || original.startsWith('{$')) {
    return { kind, role, original, absolute: original, path: undefined };
  }
  const absolute = resolveUri(manifestUrl, original);
  return { kind, role, original, absolute, path: relativeTo(originBase, absolute) };
}
