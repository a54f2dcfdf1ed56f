/**
 * Indexing that says what was missing (noUncheckedIndexedAccess): a test that reads past what it got
 * fails with the name of the thing it expected, not with "cannot read properties of undefined".
 */

/** `items[index]` (negative counts from the end), or a thrown error naming `what` and the length. */
export function at<T>(items: readonly T[], index: number, what = 'an element'): T {
  const item = items.at(index);
  if (item === undefined)
    throw new Error(`expected ${what} at index ${index}, got ${items.length} element(s)`);
  return item;
}
