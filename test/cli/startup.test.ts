import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { repoRoot } from '../support/corpus.js';
import { binPath } from './spawn.js';

// Issue 12: start-up cost. A command pays only for its own modules: `--help`
// and `replay` never load the SDK, the controller, the inspect server, or
// Node's bundled undici (loaded on the first touch of the global `Response`).
const dir = mkdtempSync(join(tmpdir(), 'turnstate-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

/** Runs the built CLI with the load recorder preloaded; resolves to the exit code and every module it loaded. */
function loadsOf(args: readonly string[], script: readonly string[] = [binPath]): Promise<{ code: number | null; stdout: string; loaded: string[] }> {
  const file = join(dir, `loads-${count++}.txt`);
  const child = spawn(process.execPath, ['--import', join(repoRoot, 'test/cli/fixtures/record-loads.mjs'), ...script, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', RECORD_LOADS_FILE: file },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (stdout += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, loaded: readFileSync(file, 'utf8').split('\n').filter(Boolean) }));
  });
}

const HEAVY = [/node_modules\/@anthropic-ai\/sdk\//, /node_modules\/undici\//, /dist\/src\/controller\//, /dist\/src\/inspect\//, /node_modules\/@statelyai\//, /node_modules\/ws\//, /^internal .*deps\/undici/];
const heavyIn = (loaded: readonly string[]) => loaded.filter((line) => HEAVY.some((re) => re.test(line)));

describe('CLI start-up loads only what the command needs', () => {
  it('`turnstate --help` loads no command module at all', async () => {
    const { code, stdout, loaded } = await loadsOf(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Commands:');
    expect(heavyIn(loaded)).toEqual([]);
    expect(loaded.filter((l) => l.includes('/dist/src/cli/commands/'))).toEqual([]);
  }, 60_000);

  it('`turnstate replay --json` of a recording loads neither the SDK nor the controller', async () => {
    const { code, stdout, loaded } = await loadsOf(['replay', '--json', 'recordings/tool-use-parallel-3.sse']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, stopReason: 'tool_use' });
    expect(loaded.some((l) => l.includes('/dist/src/cli/commands/replay.js'))).toBe(true);
    expect(heavyIn(loaded)).toEqual([]);
  }, 60_000);

  it('the recorder does see the SDK and the controller when a command loads them (demo)', async () => {
    // Shows the two checks above can fail: demo imports the SDK and the controller.
    const { code, loaded } = await loadsOf(['demo', '--help']);
    expect(code).toBe(0);
    const heavy = heavyIn(loaded);
    expect(heavy.some((l) => l.includes('@anthropic-ai/sdk'))).toBe(true);
    expect(heavy.some((l) => l.includes('dist/src/controller/'))).toBe(true);
  }, 60_000);

  it('the recorder does see Node load its bundled undici when a process touches `Response`', async () => {
    const { code, loaded } = await loadsOf([], ['-e', 'void Response']);
    expect(code).toBe(0);
    expect(heavyIn(loaded).some((l) => l.startsWith('internal ') && l.includes('undici'))).toBe(true);
  }, 60_000);
});

describe('the command registry', () => {
  it('lists each command under the name and summary its own module gives', async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect({ name: command.name, summary: command.summary }).toEqual({ name: entry.name, summary: entry.summary });
    }
  });
});
