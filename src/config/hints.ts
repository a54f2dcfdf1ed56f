import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/**
 * Helpers that make config errors easier to act on: the keys a schema allows at a path (for "did you
 * mean"), the nearest of them to a misspelt key, and the line of a field in the YAML it came from.
 * Pure functions over zod's schema definitions and the yaml document; nothing here reads files.
 */

interface Def {
  readonly type?: string;
  readonly shape?: Readonly<Record<string, SchemaLike>>;
  readonly innerType?: SchemaLike;
  readonly element?: SchemaLike;
  readonly in?: SchemaLike;
  readonly out?: SchemaLike;
  readonly options?: readonly SchemaLike[];
  readonly left?: SchemaLike;
  readonly right?: SchemaLike;
  readonly valueType?: SchemaLike;
  readonly getter?: () => SchemaLike;
}

/** What this module reads of a zod (v4) schema: its definition. */
export interface SchemaLike {
  readonly _zod: { readonly def: Def };
}

/**
 * The schemas a wrapper schema stands for (defaults, optionals, pipes, unions, intersections, lazy
 * ones): a value at it is a value at one of them. Empty for anything that is not a wrapper.
 */
function wrapped(def: Def): SchemaLike[] {
  switch (def.type) {
    case 'default':
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'catch':
    case 'prefault':
    case 'nonoptional':
      return def.innerType ? [def.innerType] : [];
    case 'pipe':
      return def.in ? [def.in] : [];
    case 'union':
      return [...(def.options ?? [])];
    case 'intersection':
      return [...(def.left ? [def.left] : []), ...(def.right ? [def.right] : [])];
    case 'lazy':
      return def.getter ? [def.getter()] : [];
    default:
      return [];
  }
}

/** The object schemas a value at this schema may be (through defaults, optionals, pipes, unions). */
function objectsOf(schema: SchemaLike, depth = 0): SchemaLike[] {
  if (depth > 20) return [];
  const def = schema._zod.def;
  if (def.type === 'object') return [schema];
  return wrapped(def).flatMap((s) => objectsOf(s, depth + 1));
}

/** Schemas a value at this schema's child `key` may have (array index or object key). */
function childrenOf(schema: SchemaLike, key: string | number, depth = 0): SchemaLike[] {
  if (depth > 20) return [];
  const def = schema._zod.def;
  switch (def.type) {
    case 'array':
      return typeof key === 'number' && def.element ? [def.element] : [];
    case 'record':
      return def.valueType ? [def.valueType] : [];
    case 'object': {
      const child = def.shape?.[String(key)];
      return child ? [child] : [];
    }
    default:
      return wrapped(def).flatMap((s) => childrenOf(s, key, depth + 1));
  }
}

/** Keys the schema allows for the object at `path` (empty when unknown). */
export function knownKeysAt(schema: SchemaLike, path: readonly (string | number)[]): string[] {
  let at: SchemaLike[] = [schema];
  for (const key of path) at = at.flatMap((s) => childrenOf(s, key));
  const keys = new Set<string>();
  for (const s of at.flatMap((x) => objectsOf(x)))
    for (const k of Object.keys(s._zod.def.shape ?? {})) keys.add(k);
  return [...keys];
}

/** Edit distance (insert, delete, substitute, swap two neighbours), small strings only. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((d[i - 1]?.[j] ?? 0) + 1, (d[i]?.[j - 1] ?? 0) + 1, (d[i - 1]?.[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, (d[i - 2]?.[j - 2] ?? 0) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return d[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

/**
 * The allowed key a misspelt one most likely meant: same letters in another case (baseURL → baseUrl),
 * or within two edits (one for short keys); undefined when nothing is that close.
 */
export function didYouMean(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameCase = allowed.find((k) => k.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  let best: { key: string; d: number } | undefined;
  for (const k of allowed) {
    const d = editDistance(lower, k.toLowerCase());
    if (best === undefined || d < best.d) best = { key: k, d };
  }
  const limit = key.length <= 4 ? 1 : 2;
  return best !== undefined && best.d <= limit ? best.key : undefined;
}

/**
 * The 1-based line of the field at `path` in the YAML document: the key's line for a key of a map
 * (`key` names it), else the value's; the nearest enclosing node's line when the field is missing.
 */
export function lineOf(
  doc: Document,
  counter: LineCounter,
  path: readonly (string | number)[],
  key?: string,
): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined = startLine(node, counter);
  const steps: (string | number)[] = key === undefined ? [...path] : [...path, key];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as string | number;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(step),
      );
      // A top-level field that is absent has no line of its own (the first line of the file says nothing).
      if (pair === undefined) return i === 0 ? undefined : line;
      // The last step of a named key: the key's own line (a key may sit on a line before its value).
      if (i === steps.length - 1 && key !== undefined) return startLine(pair.key, counter) ?? line;
      line = startLine(pair.key, counter) ?? line;
      node = pair.value;
      line = startLine(node, counter) ?? line;
    } else if (isSeq(node)) {
      const item: unknown = typeof step === 'number' ? node.items[step] : undefined;
      if (item === undefined) return line;
      node = item;
      line = startLine(node, counter) ?? line;
    } else {
      return line;
    }
  }
  return line;
}

function startLine(node: unknown, counter: LineCounter): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}
