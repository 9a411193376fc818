import { corpusDir, corpusPath } from './corpus-location.js';

/** Runs once per `vitest run`, in the main process: the one line that says the corpus tests are skipped. */
export default function setup(): void {
  if (corpusDir === null) process.stderr.write(`turnstate: real-stream corpus not found at ${corpusPath}; corpus tests skipped\n`);
}
