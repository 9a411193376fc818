import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { repoRoot } from '../support/corpus.js';
import { binPath, spawnCli } from './spawn.js';

// Issue 12: start-up cost. A command pays only for its own modules: `--help`
// and `replay` never load the SDK, the controller, the inspect server, or
// Node's bundled undici (loaded on the first touch of the global `Response`).
// Commands that load no user code run from the esbuild bundle
// (dist/bundle/cli): its metafile says which source modules each loaded
// chunk holds, so the checks below see through it.
const dir = mkdtempSync(join(tmpdir(), 'turnstate-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

/** Runs the built CLI with the load recorder preloaded; resolves to the exit code and every module it loaded. */
function loadsOf(args: readonly string[], script: readonly string[] = [binPath], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; loaded: string[] }> {
  const file = join(dir, `loads-${count++}.txt`);
  const child = spawn(process.execPath, ['--import', join(repoRoot, 'test/cli/fixtures/record-loads.mjs'), ...script, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', RECORD_LOADS_FILE: file, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (stdout += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, loaded: throughBundle(readFileSync(file, 'utf8').split('\n').filter(Boolean)) }));
  });
}

const bundleDir = `${repoRoot}/dist/bundle/cli/`;
interface Metafile {
  readonly outputs: Record<string, { readonly inputs: Record<string, unknown> }>;
}
const metafile = JSON.parse(readFileSync(join(repoRoot, 'dist/bundle/meta.json'), 'utf8')) as Metafile;

/** Each loaded bundle file, followed by the source modules it holds (`bundled <absolute path>`). */
function throughBundle(loaded: readonly string[]): string[] {
  return loaded.flatMap((line) => {
    const at = line.indexOf(`file://${bundleDir}`);
    if (!line.startsWith('esm ') || at === -1) return [line];
    const output = metafile.outputs[`dist/bundle/cli/${line.slice(at + `file://${bundleDir}`.length)}`];
    if (output === undefined) throw new Error(`${line}: not in dist/bundle/meta.json (a stale build?)`);
    return [line, ...Object.keys(output.inputs).map((input) => `bundled ${repoRoot}/${input}`)];
  });
}
const fromBundle = (loaded: readonly string[]) => [...new Set(loaded.filter((l) => l.startsWith('esm ') && l.includes(`file://${bundleDir}`)))];
const fromDist = (loaded: readonly string[]) => loaded.filter((l) => l.startsWith('esm ') && l.includes(`file://${repoRoot}/dist/src/`));
/** xstate's builds a process loaded, by file (from node_modules directly, or inside the bundle). */
const xstateBuilds = (loaded: readonly string[]) => [...new Set(loaded.flatMap((l) => /node_modules\/xstate\/dist\/(xstate\.[a-z.]+)$/.exec(l)?.[1] ?? []))].sort();

const HEAVY = [/node_modules\/@anthropic-ai\/sdk\//, /node_modules\/undici\//, /dist\/src\/controller\//, /dist\/src\/inspect\//, /node_modules\/@statelyai\//, /node_modules\/ws\//, /^internal .*deps\/undici/];
const heavyIn = (loaded: readonly string[]) => loaded.filter((line) => HEAVY.some((re) => re.test(line)));

describe('CLI start-up loads only what the command needs', () => {
  it('`turnstate --help` loads no command module at all', async () => {
    const { code, stdout, loaded } = await loadsOf(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Commands:');
    expect(heavyIn(loaded)).toEqual([]);
    expect(loaded.filter((l) => l.includes('/dist/src/cli/commands/'))).toEqual([]);
    expect(fromBundle(loaded).length).toBeGreaterThan(0);
    expect(fromDist(loaded)).toEqual([]);
  }, 60_000);

  it('`turnstate replay --json` of a recording loads neither the SDK nor the controller', async () => {
    const { code, stdout, loaded } = await loadsOf(['replay', '--json', 'recordings/tool-use-parallel-3.sse']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, stopReason: 'tool_use' });
    expect(loaded.some((l) => l.includes('/dist/src/cli/commands/replay.js'))).toBe(true);
    expect(heavyIn(loaded)).toEqual([]);
  }, 60_000);

  it('`turnstate replay` runs from the bundle: one copy of turnstate, and xstate\'s ESM build, never its CommonJS one', async () => {
    const { code, loaded } = await loadsOf(['replay', '--json', 'recordings/tool-use-parallel-3.sse']);
    expect(code).toBe(0);
    expect(fromDist(loaded)).toEqual([]);
    // On Node 20 `import 'xstate'` resolves to its CJS build (xstate.cjs.mjs → xstate.cjs.js), ~3× slower to load.
    expect(xstateBuilds(loaded)).toEqual(['xstate.esm.js']);
    // node:crypto (~5 ms) is loaded only to check a sidecar's hashes; this recording has none.
    expect(loaded.filter((l) => l === 'internal NativeModule crypto')).toEqual([]);
    expect(loaded.filter((l) => l.startsWith('cjs ') && l.includes('node_modules/xstate/'))).toEqual([]);
    // Few files: the bundle's entry, the command's chunk and the chunks they share with other commands.
    expect(fromBundle(loaded).length).toBeLessThan(15);
  }, 60_000);

  it('without the bundle (TURNSTATE_NO_BUNDLE=1) the same command runs from dist/src, on xstate\'s CJS build — what the checks above tell apart', async () => {
    const { code, loaded } = await loadsOf(['replay', '--json', 'recordings/tool-use-parallel-3.sse'], [binPath], { TURNSTATE_NO_BUNDLE: '1' });
    expect(code).toBe(0);
    expect(fromBundle(loaded)).toEqual([]);
    expect(fromDist(loaded).length).toBeGreaterThan(20);
    expect(xstateBuilds(loaded)).toEqual(['xstate.cjs.js', 'xstate.cjs.mjs']);
  }, 60_000);

  it('`run` and `resume` (which import the user\'s tools module, and so `turnstate`) run from dist/src: one copy of each class in the process', async () => {
    for (const command of ['run', 'resume']) {
      const { code, loaded } = await loadsOf([command, '--help']);
      expect(code).toBe(0);
      expect(fromBundle(loaded)).toEqual([]);
      expect(loaded.some((l) => l.includes(`/dist/src/cli/commands/${command}.js`))).toBe(true);
    }
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

describe('the bundle', () => {
  it('holds exactly the output files its metafile lists (a stale chunk would be a second copy of some module)', () => {
    const listed = Object.keys(metafile.outputs).map((path) => path.slice('dist/bundle/cli/'.length)).sort();
    expect(readdirSync(bundleDir).sort()).toEqual(listed);
  });

  it('replays every recording exactly as dist/src does: the same lines, byte for byte, and the same exit code', async () => {
    const files = readdirSync(join(repoRoot, 'recordings')).filter((n) => n.endsWith('.sse')).sort().map((n) => `recordings/${n}`);
    expect(files.length).toBeGreaterThan(20);
    for (const args of [['replay', '--json', ...files], ['replay', ...files]]) {
      const bundled = await spawnCli(args);
      const unbundled = await spawnCli(args, { env: { TURNSTATE_NO_BUNDLE: '1' } });
      expect(bundled.stderr).toBe(unbundled.stderr);
      expect(bundled.stdout).toBe(unbundled.stdout);
      expect(bundled.code).toBe(unbundled.code);
      expect(bundled.stdout.split('\n').length).toBeGreaterThan(files.length);
    }
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
