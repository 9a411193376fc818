/**
 * The real-stream corpus: recorded Anthropic Messages API streams collected
 * from other projects' test fixtures. It is NOT part of this repository (its
 * files keep their own licences); it lives next to the repository, at
 * `<repo root>/../shared/real-streams`, with an INDEX.md describing each file.
 *
 * When it is missing, corpus tests are skipped (use {@link describeCorpus}) and
 * one line saying so is printed to stderr, once per run (test/support/global-setup.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { corpusDir } from './corpus-location.js';

export { corpusDir, corpusPath, repoRoot } from './corpus-location.js';

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

/** `describe` when the corpus is present, `describe.skip` otherwise. */
export const describeCorpus = corpusDir ? describe : describe.skip;
