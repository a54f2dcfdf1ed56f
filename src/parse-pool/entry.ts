/**
 * Where a parse worker thread starts. From the compiled package (dist/, the CLI, the Docker image) it
 * is worker.js beside this file. From the TypeScript sources (ts-jest, ts-aware tooling) Node cannot
 * load worker.ts in a thread by itself: the worker's module graph (its relative imports, followed
 * from the transpiled output) is transpiled here once per process with TypeScript's own transpiler (no
 * type check; TypeScript is a dev dependency, present wherever the sources run), and the thread loads
 * those modules through a require hook. Both run the same code: the sources of this checkout.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { WorkerOptions } from 'node:worker_threads';

export interface WorkerEntry {
  /** A script path, or code when `options.eval` is set. */
  readonly script: string;
  readonly options: Pick<WorkerOptions, 'eval' | 'workerData'>;
}

/** The thread's first code when it runs TypeScript sources: serve each .ts module from `sources`. */
const SOURCES_BOOTSTRAP = `'use strict';
const { workerData } = require('node:worker_threads');
const Module = require('node:module');
const sources = workerData.sources;
Module._extensions['.ts'] = function (module, filename) {
  const code = sources[filename];
  if (code === undefined) throw new Error('parse worker: ' + filename + ' was not transpiled for the thread');
  module._compile(code, filename);
};
require(workerData.entry);
`;

let fromSources: WorkerEntry | undefined;

export function parseWorkerEntry(): WorkerEntry {
  const ext = path.extname(__filename);
  if (ext !== '.ts') return { script: path.join(__dirname, `worker${ext}`), options: {} };
  return (fromSources ??= transpiledEntry(path.join(__dirname, 'worker.ts')));
}

function transpiledEntry(entry: string): WorkerEntry {
  const ts = createRequire(__filename)('typescript') as typeof import('typescript');
  const sources: Record<string, string> = {};
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (file in sources) continue;
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        isolatedModules: true,
      },
    }).outputText;
    sources[file] = js;
    // Type-only imports are gone from the output: only what the thread really loads is followed.
    for (const m of js.matchAll(/\brequire\("(\.{1,2}\/[^"]+)"\)/g)) {
      const base = path.resolve(path.dirname(file), m[1] as string);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => existsSync(f));
      if (found !== undefined) pending.push(found);
    }
  }
  return { script: SOURCES_BOOTSTRAP, options: { eval: true, workerData: { entry, sources } } };
}
