import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../../src/controller/index.js';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { cli } from '../controller/fixtures/cli.js';

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

const call = (id: string) =>
  sseFromMessage({ content: [{ type: 'tool_use', id, name: 'note', input: { id } }], stopReason: 'tool_use' });
const done = sseFromMessage({ content: [{ type: 'text', text: 'Noted everything.' }], stopReason: 'end_turn' });

describe('turnstate resume', () => {
  it('continues a budget-exceeded run from its checkpoint with a larger budget, without re-running recorded tools', async () => {
    api = await startFakeMessagesApi({ replies: [call('toolu_01R1'), call('toolu_01R2'), done] });
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-resume-'));
    const log = join(dir, 'notes.log');
    const tools = join(dir, 'tools.mjs');
    await writeFile(tools, `import { appendFileSync } from 'node:fs';\nexport default [{ name: 'note', input_schema: { type: 'object' }, run: ({ id }) => { appendFileSync(${JSON.stringify(log)}, id + '\\n'); return 'ok'; } }];\n`);
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    const checkpoint = join(dir, 'run.json');

    const first = await cli(['run', '--tools', tools, '--checkpoint', checkpoint, '--max-continuations', '1', 'note twice'], env, dir);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/budget continuations exceeded/);
    expect(first.stdout).toContain(`resume with: turnstate resume ${checkpoint} --tools ${tools} --max-continuations 11\n`);
    expect((await readCheckpointFile(checkpoint)).state.phase).toBe('requesting');

    const second = await cli(['resume', checkpoint, '--tools', tools, '--max-continuations', '5', '--json'], env, dir);
    expect(second.code).toBe(0);
    const out = JSON.parse(second.stdout);
    expect(out.status).toBe('completed');
    expect(out.text).toBe('Noted everything.');
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['toolu_01R1', 'toolu_01R2']);
    expect(api.requests).toHaveLength(3);

    // a finished run: just its result, no credentials needed, no request
    const third = await cli(['resume', checkpoint, '--json'], {}, dir);
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout).text).toBe('Noted everything.');
    expect(api.requests).toHaveLength(3);
  });

  it('a tool interrupted mid-run (deadline) is not re-run blindly: tool_needs_decision, then --rerun ID', async () => {
    api = await startFakeMessagesApi({ replies: [call('toolu_01Slow'), done] });
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-resume-'));
    const tools = join(dir, 'tools.mjs');
    const started = join(dir, 'started');
    // The first run's tool outlasts any deadline (it ends only when aborted), so the deadline always falls while it
    // runs, however slowly the run reached it; a re-run finishes at once. (A 300 ms tool against a 150 ms deadline
    // failed under load: the deadline passed before the batch, and no tool was interrupted.)
    await writeFile(
      tools,
      `import { existsSync, writeFileSync } from 'node:fs';\nexport default [{ name: 'note', input_schema: { type: 'object' }, run: (_input, ctx) => { if (existsSync(${JSON.stringify(started)})) return 'slow ok'; writeFileSync(${JSON.stringify(started)}, ''); return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))); } }];\n`,
    );
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    const checkpoint = join(dir, 'run.json');
    const first = await cli(['run', '--json', '--tools', tools, '--checkpoint', checkpoint, '--deadline-ms', '3000', 'go'], env, dir);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout).error).toMatchObject({ code: 'budget_exceeded', budget: 'deadline' });
    expect(existsSync(started)).toBe(true); // the deadline fell while the tool ran

    const noTools = await cli(['resume', checkpoint, '--deadline-ms', '10000'], env, dir);
    expect(noTools.code).toBe(2);
    expect(noTools.stderr).toMatch(/pass 'note' with --tools FILE/);
    const undecided = await cli(['resume', checkpoint, '--json', '--tools', tools, '--deadline-ms', '10000'], env, dir);
    expect(undecided.code).toBe(1);
    expect(JSON.parse(undecided.stdout).error).toMatchObject({ code: 'tool_needs_decision', toolCall: { id: 'toolu_01Slow', name: 'note' } });
    expect(api.requests).toHaveLength(1);

    const decided = await cli(['resume', checkpoint, '--json', '--tools', tools, '--deadline-ms', '10000', '--rerun', 'toolu_01Slow'], env, dir);
    expect(decided.code).toBe(0);
    expect(api.requests[1]!.body.messages[2].content[0]).toEqual({ type: 'tool_result', tool_use_id: 'toolu_01Slow', content: 'slow ok' });
  });

  it('reports an invalid checkpoint (exit 1) and usage errors (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-resume-'));
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ format: 'turnstate.checkpoint', version: 7 }));
    const bad = await cli(['resume', join(dir, 'bad.json')], {}, dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/checkpoint_invalid: .*version 7/);
    expect((await cli(['resume'], {}, dir)).code).toBe(2);
    expect((await cli(['resume', 'a.json', 'b.json'], {}, dir)).code).toBe(2);
    expect((await cli(['resume', join(dir, 'missing.json')], {}, dir)).code).toBe(1);
  });
});
