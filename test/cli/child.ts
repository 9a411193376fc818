import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/turnstate-child.ts', import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves with the first match of `pattern` in stdout, once it appears. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts `turnstate <args>` from the sources in a child process. */
export function startTurnstate(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w();
    resolve(code);
  }));
  return {
    process: child,
    out: () => out,
    err: () => err,
    exited,
    waitFor: (pattern) => new Promise((resolve, reject) => {
      const check = () => {
        const match = out.match(pattern);
        if (match) return resolve(match);
        if (child.exitCode !== null) return reject(new Error(`turnstate ${args.join(' ')} exited ${child.exitCode} before printing ${pattern}; stderr: ${err}`));
        waiters.push(check);
      };
      check();
    }),
    stop: (signal = 'SIGINT') => {
      child.kill(signal);
      return exited;
    },
  };
}
