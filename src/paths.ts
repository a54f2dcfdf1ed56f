import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The package's root folder, from src/ (ts-node, jest) and from dist/src/ (built) alike. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'switchyard'
    )
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('switchyard: cannot find the package root (package.json)');
    dir = parent;
  }
}
