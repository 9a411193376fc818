/**
 * Where the real-stream corpus is expected: `<repo root>/../shared/real-streams`.
 * No vitest import here, so the global setup can use it too.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json, found by walking up from this file. */
function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

export const repoRoot: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** Where the corpus is expected, whether or not it exists. */
export const corpusPath: string = resolve(repoRoot, '..', 'shared', 'real-streams');

/** The corpus folder, or null when it is not there. */
export const corpusDir: string | null =
  existsSync(corpusPath) && statSync(corpusPath).isDirectory() ? corpusPath : null;

