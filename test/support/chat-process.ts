/** `turnstate chat` as a user starts it (the built package's bin), in its own process so a test can kill it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './corpus.js';

/** The command `npx turnstate` runs: package.json's bin. */
export const packageBin = (): string => join(repoRoot, (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: { turnstate: string } }).bin.turnstate);

export interface ChatProcess {
  readonly child: ChildProcess;
  /** The first line it prints: the page's URL. */
  readonly url: string;
  readonly port: number;
  /** Everything it printed so far, stdout then stderr. */
  readonly output: () => string;
}

/** Starts it on the fake model (no key) and resolves with the URL it prints first; `children` collects it for cleanup. */
export async function spawnChat(dir: string, options: { port: number; delayMs: number; env?: NodeJS.ProcessEnv }, children: ChildProcess[]): Promise<ChatProcess> {
  const args = [packageBin(), 'chat', '--data', dir, '--port', String(options.port), '--delay-ms', String(options.delayMs)];
  const child = spawn(process.execPath, args, { cwd: dir, env: options.env ?? { ...process.env, ANTHROPIC_API_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`chat exited (${code}) before printing its URL: ${err}`)));
  });
  return { child, url, port: Number(new URL(url).port), output: () => out + err };
}
