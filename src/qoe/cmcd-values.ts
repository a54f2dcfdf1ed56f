/** The values a decoded CMCD payload holds: a leaf, so the decoders (./cmcd.ts, ./sf-dict.ts) share them. */
export type CmcdValue = string | number | boolean;

/** One decoded list member: its value and the object-type flags or other parameters it carries. */
export interface CmcdListItem {
  readonly value: CmcdValue;
  readonly params?: Readonly<Record<string, unknown>>;
}

/** A decoded payload: scalars, and v2 inner lists as items (v1 sends the same keys as scalars). */
export type CmcdPayload = Record<string, CmcdValue | readonly CmcdListItem[]>;
