/**
 * The layering of src/ as a test: no module imports itself through others, and no folder does either
 * (type-only imports count: a type cycle still ties two folders together). A new cycle fails here
 * with its path, so it is broken before it lands; ARCHITECTURE.md says who may import whom.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  return [base + '.ts', path.join(base, 'index.ts')].find((c) => existsSync(c));
}

/** file → the src files it imports or re-exports (static and dynamic imports, type-only included). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  return new Map(
    files.map((f) => {
      const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
      const targets = info.importedFiles.flatMap((i) => resolveImport(f, i.fileName) ?? []);
      return [f, [...new Set(targets)]];
    }),
  );
}

/** Strongly connected components with more than one node (or a self-loop): every cycle, grouped. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) {
        onStack.delete(w);
        component.push(w);
      }
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** A file's room: its folder under src/ (`policy`), or the file itself for a top-level one (`url.ts`). */
function folderOf(file: string): string {
  const [first = ''] = path.relative(SRC, file).split(path.sep);
  return first;
}

/** For a failure message: the imports that tie a component together. */
function edgesWithin(
  graph: ReadonlyMap<string, readonly string[]>,
  nodes: readonly string[],
  name = folderOf,
) {
  const set = new Set(nodes);
  const files = [...graph.keys()].filter((f) => set.has(name(f)));
  return files.flatMap((f) =>
    (graph.get(f) ?? [])
      .filter((t) => set.has(name(t)) && name(t) !== name(f))
      .map((t) => `${path.relative(SRC, f)} -> ${path.relative(SRC, t)}`),
  );
}

const graph = importGraph(sourceFiles(SRC));

test('the import graph is read (guards against a walker that finds nothing)', () => {
  expect(graph.size).toBeGreaterThan(100);
  const load = graph.get(path.join(SRC, 'configure.ts')) ?? [];
  expect(load).toContain(path.join(SRC, 'config/load.ts'));
  // An `import type` counts.
  expect(graph.get(path.join(SRC, 'health/monitor.ts'))).toContain(path.join(SRC, 'cdn-view.ts'));
});

test('no module of src/ imports itself through others', () => {
  const found = cycles(graph).map((c) => c.map((f) => path.relative(SRC, f)));
  expect(found).toEqual([]);
});

test('no folder of src/ imports itself through others (config/ does not know policies)', () => {
  const folders = new Map<string, string[]>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const into = folders.get(from) ?? [];
    for (const t of targets) if (folderOf(t) !== from) into.push(folderOf(t));
    folders.set(from, into);
  }
  const found = cycles(folders).map((c) => ({ folders: c, imports: edgesWithin(graph, c) }));
  expect(found).toEqual([]);
});

test('the cycle finder finds cycles (so the tests above can fail)', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
    ['e', ['e']],
  ]);
  expect(cycles(g)).toEqual([['a', 'b', 'c'], ['e']]);
});
