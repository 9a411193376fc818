/**
 * The real-stream corpus: recorded Anthropic Messages API streams collected
 * from other projects' test fixtures. It is NOT part of this repository (its
 * files keep their own licences); it lives next to the repository, at
 * `<repo root>/../shared/real-streams`, with an INDEX.md describing each file.
 *
 * When it is missing, corpus tests are skipped (use {@link describeCorpus}) and
 * one line saying so is printed to stderr, once per process.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

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

export interface CorpusFile {
  /** File name, e.g. `07-max-tokens-mid-tool-use-input.sse`. */
  name: string;
  path: string;
  bytes: Buffer;
}

/** Every `.sse` file of the corpus, sorted by name; empty when the corpus is missing. */
export function corpusFiles(): CorpusFile[] {
  if (corpusDir === null) return [];
  const dir = corpusDir;
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sse'))
    .sort()
    .map((name) => {
      const path = join(dir, name);
      return { name, path, bytes: readFileSync(path) };
    });
}

const WARNED = Symbol.for('turnstate.corpus.missingWarned');

if (corpusDir === null) {
  // Flag on `process`, not in this module: vitest may evaluate the module more than once per worker.
  const flags = process as unknown as Record<symbol, boolean | undefined>;
  if (!flags[WARNED]) {
    flags[WARNED] = true;
    process.stderr.write(`turnstate: real-stream corpus not found at ${corpusPath}; corpus tests skipped\n`);
  }
}

/** `describe` when the corpus is present, `describe.skip` otherwise. */
export const describeCorpus = corpusDir ? describe : describe.skip;
