import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/corpus.js';

export const binPath = join(repoRoot, 'bin', 'turnstate.js');

export interface SpawnedCli {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly stdin?: string;
  /** Close our end of the child's stdout after this many lines, as `| head -N` does. */
  readonly closeStdoutAfterLines?: number;
  /** Called with the stdout seen so far, on every chunk (e.g. to send SIGINT once a line shows). */
  readonly onStdout?: (stdout: string, child: ChildProcess) => void;
}

/**
 * Runs the real CLI (bin/turnstate.js, so the built dist/) as a child process
 * over real pipes. `npm test` builds first; a missing build is said plainly.
 */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): Promise<SpawnedCli> {
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'process.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does)');
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    const limit = options.closeStdoutAfterLines;
    if (limit !== undefined) {
      const lines = stdout.split('\n');
      if (lines.length > limit) {
        stdout = lines.slice(0, limit).map((l) => `${l}\n`).join('');
        child.stdout.destroy();
        return;
      }
    }
    options.onStdout?.(stdout, child);
  });
  child.stderr.on('data', (chunk: string) => void (stderr += chunk));
  child.stdin.on('error', () => {}); // a child that exits before reading all of stdin
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** What a stack trace looks like, so a test can say none reached the user. */
export const STACK = /\n\s+at |Unhandled 'error'|node:internal|EPIPE/;
