import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { spawnCli, STACK } from './spawn.js';

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

describe('a closed standard output ends the command quietly (the real CLI over a pipe)', () => {
  it('replay recordings/*.sse --json | head -1: one line, nothing on stderr, exit 141', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync('recordings').filter((f) => f.endsWith('.sse')).map((f) => `recordings/${f}`);
    expect(files.length).toBeGreaterThan(10);
    const out = await spawnCli(['replay', ...files, '--json'], { closeStdoutAfterLines: 1 });
    expect(out.stderr).toBe('');
    expect(out.stderr).not.toMatch(STACK);
    expect(out.code).toBe(141);
    expect(JSON.parse(out.stdout.trim()).file).toBe(files[0]);
  });

  it('demo | head -2: quiet, exit 141', async () => {
    const out = await spawnCli(['demo', '--delay-ms', '0'], { closeStdoutAfterLines: 2 });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(141);
    expect(out.stdout).toMatch(/^turnstate demo — fake Messages API/);
  });

  it('run | head -1: the run stops through its abort path, says on stderr how to resume, no stack; resume | head -1 likewise', async () => {
    const call = (id: string) => sseFromMessage({ content: [{ type: 'tool_use', id, name: 'slow', input: { id } }], stopReason: 'tool_use' });
    const done = sseFromMessage({ content: [{ type: 'text', text: 'Done.\nSecond line.\n' }], stopReason: 'end_turn' });
    api = await startFakeMessagesApi({ replies: [call('toolu_P1'), call('toolu_P2'), done] });
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-pipe-'));
    const tools = join(dir, 'tools.mjs');
    await writeFile(tools, `export default [{ name: 'slow', input_schema: { type: 'object' }, run: () => new Promise((r) => setTimeout(() => r('ok'), 100)) }];\n`);
    const checkpoint = join(dir, 'run.json');
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    const run = await spawnCli(['run', '--tools', tools, '--checkpoint', checkpoint, 'go'], { env, cwd: dir, closeStdoutAfterLines: 1 });
    expect(run.stdout).toMatch(/⚙ slow/);
    expect(run.stderr).not.toMatch(STACK);
    expect(run.stderr).toContain(`turnstate: standard output was closed; checkpoint: ${checkpoint}\n`);
    expect(run.stderr).toContain(`resume with: turnstate resume ${checkpoint} --tools ${tools}\n`);
    expect(run.code).toBe(141);
    // the run stopped: it never got to the last reply
    expect(api.requests.length).toBeLessThan(3);

    const resumed = await spawnCli(['resume', checkpoint, '--tools', tools], { env, cwd: dir, closeStdoutAfterLines: 1 });
    expect(resumed.stdout).toMatch(/⚙ slow|Done\./);
    expect(resumed.stderr).not.toMatch(STACK);
    expect(resumed.stderr).toContain(`resume with: turnstate resume ${checkpoint} --tools ${tools}\n`);
    expect(resumed.code).toBe(141);
  });

  it('whatever escapes (a tool throwing from a timer) is one line `turnstate: <code>: message`, never a stack', async () => {
    api = await startFakeMessagesApi({ replies: [sseFromMessage({ content: [{ type: 'tool_use', id: 'toolu_T', name: 'bad', input: {} }], stopReason: 'tool_use' })] });
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-pipe-'));
    const tools = join(dir, 'tools.mjs');
    await writeFile(tools, `export default [{ name: 'bad', input_schema: { type: 'object' }, run: () => { setTimeout(() => { throw new RangeError('escaped from a timer'); }); return new Promise(() => {}); } }];\n`);
    const out = await spawnCli(['run', '--tools', tools, '--checkpoint', join(dir, 'run.json'), 'go'], { env: { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' }, cwd: dir });
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('turnstate: internal: escaped from a timer\n');
  });
});
