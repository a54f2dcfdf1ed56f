import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The repository root (this file is test/helpers/corpus.ts). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The shared corpus of real-world manifests: `../shared/corpus` beside the checkout, the one place it
 * is looked for (CI puts it there; a worktree under /work/wt has /work/wt/shared linked to it). Never
 * an absolute path, never an environment override, never a skip: a missing corpus fails the test file.
 */
export const CORPUS_ROOT = path.resolve(REPO_ROOT, '..', 'shared', 'corpus');

/**
 * The files of one corpus folder ('hls' or 'dash') whose names match `pattern`, sorted, as absolute
 * paths. Throws with the expected location when the folder is missing or holds none, so a fresh clone
 * without the corpus sees a red test that says what to put where, not a silently shorter run.
 */
export function corpusFiles(kind: 'hls' | 'dash', pattern: RegExp): { name: string; path: string }[] {
  const dir = path.join(CORPUS_ROOT, kind);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(
      `the shared ${kind.toUpperCase()} corpus is missing: expected ${dir} ` +
        `(../shared/corpus/${kind} beside the repository root, see README "Testing")`,
    );
  const files = readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((name) => ({ name, path: path.join(dir, name) }));
  if (files.length === 0)
    throw new Error(`the shared corpus folder ${dir} holds no file matching ${pattern}`);
  return files;
}
