import { Readable } from 'node:stream';
import type { CliIO } from '../../src/cli/io.js';
import { repoRoot } from '../support/corpus.js';

/** Runs CLI code in-process with captured output. */
export function captureIO(stdin = ''): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => void (out += text),
    stderr: (text) => void (err += text),
    stdin: Readable.from([Buffer.from(stdin)]),
    env: {},
    cwd: repoRoot,
    out: () => out,
    err: () => err,
  };
}
