/**
 * The shared part of the golden runners (test/hls/golden.test.ts, test/dash/golden.test.ts): a folder
 * a case, and the two checks every case gets. UPDATE_GOLDEN=1 rewrites the expected files (review the
 * diff!).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The case folders under `dir` that hold an `input` file. */
export function goldenCases(dir: string, input: string): string[] {
  return readdirSync(dir).filter((d) => existsSync(join(dir, d, input)));
}

/**
 * Inside a case's describe: the rendering equals `expectedPath` byte for byte, and the template keeps
 * every byte of the input outside its slots (`outside`: the template rendered with the originals).
 */
export function goldenChecks(c: {
  readonly input: string;
  readonly text: string;
  readonly expectedPath: string;
  readonly outside: () => string;
}): void {
  it(`renders ${basename(c.expectedPath)} exactly`, () => {
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(c.expectedPath, c.text);
    expect(c.text).toBe(readFileSync(c.expectedPath, 'utf8'));
  });

  it('keeps every byte outside the slots', () => {
    expect(c.outside()).toBe(c.input);
  });
}
