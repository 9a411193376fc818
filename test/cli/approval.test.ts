/**
 * Approvals on the command line: a --tools module's `approveToolCall` export
 * is asked before each call; a deferred call stops `turnstate run` with the
 * calls listed and the resume command to type; `turnstate resume --approve ID
 * --deny ID=REASON` runs exactly what was approved. Flags are validated
 * against the checkpoint with one-line usage errors (exit 2).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
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

const batch = sseFromMessage({
  content: [
    { type: 'tool_use', id: 'toolu_01Keep', name: 'note', input: { text: 'keep' } },
    { type: 'tool_use', id: 'toolu_01Drop', name: 'note', input: { text: 'drop' } },
    { type: 'tool_use', id: 'toolu_01Later', name: 'note', input: { text: 'later' } },
  ],
  stopReason: 'tool_use',
});
const done = sseFromMessage({ content: [{ type: 'text', text: 'Noted what I could.' }], stopReason: 'end_turn' });

/** A tools module whose every call is deferred to a person (the default policy of a cautious deployment). */
async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-approval-cli-'));
  const log = join(dir, 'notes.log');
  const tools = join(dir, 'tools.mjs');
  await writeFile(
    tools,
    `import { appendFileSync } from 'node:fs';\n` +
      `export default [{ name: 'note', input_schema: { type: 'object' }, run: ({ text }, ctx) => { appendFileSync(${JSON.stringify(log)}, ctx.toolUse.id + ' ' + text + '\\n'); return 'noted ' + text; } }];\n` +
      `export const approveToolCall = () => ({ defer: true });\n`,
  );
  return { dir, log, tools, checkpoint: join(dir, 'run.json') };
}
const lines = async (file: string) => (existsSync(file) ? (await readFile(file, 'utf8')).trim().split('\n') : []);

describe('turnstate run/resume with approvals', () => {
  it('run stops awaiting approval and prints the calls and the resume command; resume --approve/--deny runs exactly what was approved', async () => {
    api = await startFakeMessagesApi({ replies: [batch, done] });
    const { dir, log, tools, checkpoint } = await setup();
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };

    const first = await cli(['run', '--tools', tools, '--checkpoint', checkpoint, 'take notes'], env, dir);
    expect(first.code).toBe(3); // awaiting approval: not a failure (1), a decision to make
    expect(first.stdout).toContain('  ⏸ note awaits approval (toolu_01Keep)\n');
    expect(first.stdout).toContain('— awaiting_approval (tool_use) · 1 segment · 3 tool calls');
    expect(first.stdout).toContain('  these 3 tool calls await approval:\n    toolu_01Keep   note {"text":"keep"}\n    toolu_01Drop   note {"text":"drop"}\n    toolu_01Later  note {"text":"later"}\n');
    expect(first.stdout).toContain(`    turnstate resume ${checkpoint} --tools ${tools} --approve toolu_01Keep --approve toolu_01Drop --deny toolu_01Later=REASON\n`);
    expect(await lines(log)).toEqual([]);
    expect(api.requests).toHaveLength(1);

    // the first answer: keep approved, drop denied; later still deferred (the module's hook defers it again)
    const second = await cli(['resume', checkpoint, '--tools', tools, '--approve', 'toolu_01Keep', '--deny', 'toolu_01Drop=not that one', '--json'], env, dir);
    expect(second.code).toBe(3);
    // the --json hint on stderr names the decision still to make, like human mode's
    expect(second.stderr).toBe(`turnstate: resume with: turnstate resume ${checkpoint} --tools ${tools} --approve toolu_01Later\n`);
    const out = JSON.parse(second.stdout);
    expect(out.status).toBe('awaiting_approval');
    expect(out.awaitingApproval).toEqual([{ id: 'toolu_01Later', name: 'note', input: { text: 'later' } }]);
    expect(await lines(log)).toEqual(['toolu_01Keep keep']);
    expect(api.requests).toHaveLength(1);

    const third = await cli(['resume', checkpoint, '--tools', tools, '--approve', 'toolu_01Later', '--json'], env, dir);
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout).status).toBe('completed');
    expect(await lines(log)).toEqual(['toolu_01Keep keep', 'toolu_01Later later']);
    expect(api.requests).toHaveLength(2);
    expect(api.requests[1]!.body.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_01Keep', content: 'noted keep' },
        { type: 'tool_result', tool_use_id: 'toolu_01Drop', content: 'not that one', is_error: true },
        { type: 'tool_result', tool_use_id: 'toolu_01Later', content: 'noted later' },
      ],
    });
  });

  it('validates --approve / --deny against the checkpoint with clear usage errors (exit 2), running nothing', async () => {
    api = await startFakeMessagesApi({ replies: [batch, done] });
    const { dir, log, tools, checkpoint } = await setup();
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    const json = await cli(['run', '--tools', tools, '--checkpoint', checkpoint, '--json', 'take notes'], env, dir);
    expect(json.code).toBe(3);
    expect(json.stderr).toBe(`turnstate: resume with: turnstate resume ${checkpoint} --tools ${tools} --approve toolu_01Keep --approve toolu_01Drop --deny toolu_01Later=REASON\n`);
    const before = await readFile(checkpoint, 'utf8');

    const usage = async (...flags: string[]) => {
      const out = await cli(['resume', checkpoint, '--tools', tools, ...flags], env, dir);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stdout).toBe('');
      return out.stderr;
    };
    expect(await usage('--approve', 'toolu_01Nope')).toBe(
      "turnstate: resume: --approve toolu_01Nope: is not a tool call awaiting approval (awaiting: toolu_01Keep ('note'), toolu_01Drop ('note'), toolu_01Later ('note'))\n",
    );
    expect(await usage('--deny', 'toolu_01Keep')).toBe('turnstate: resume: --deny must be ID=REASON, got "toolu_01Keep"\n');
    expect(await usage('--deny', 'toolu_01Keep=  ')).toBe('turnstate: resume: --deny toolu_01Keep: give a REASON (the model is told it): --deny toolu_01Keep=REASON\n');
    expect(await usage('--approve', 'toolu_01Keep=yes')).toBe('turnstate: resume: --approve takes a tool_use id alone, got "toolu_01Keep=yes" (a reason goes with --deny ID=REASON)\n');
    expect(await usage('--approve', 'toolu_01Keep', '--deny', 'toolu_01Keep=no')).toBe('turnstate: resume: --deny toolu_01Keep: a decision for toolu_01Keep was already given\n');
    expect(await usage('--approve')).toMatch(/^turnstate: resume: Option '--approve <value>' argument missing \(see `turnstate resume --help`\)\n$/);
    // the run was started with a hook: a resume without the module that exports it would run later calls unasked
    const noHook = await cli(['resume', checkpoint, '--approve', 'toolu_01Keep'], env, dir);
    expect(noHook.code).toBe(2);
    expect(noHook.stderr).toBe('turnstate: resume: the run was started with an approveToolCall hook; give the --tools FILE that exports it (without it, later tool calls would run unasked)\n');

    expect(await readFile(checkpoint, 'utf8')).toBe(before);
    expect(await lines(log)).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it('an approval flag on a checkpoint with nothing awaiting is a usage error; --help documents the flags', async () => {
    api = await startFakeMessagesApi({ replies: [done] });
    const { dir, checkpoint } = await setup();
    const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' };
    expect((await cli(['run', '--checkpoint', checkpoint, 'hello'], env, dir)).code).toBe(0);
    const out = await cli(['resume', checkpoint, '--deny', 'toolu_01X=no'], env, dir);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe('turnstate: resume: --deny toolu_01X: is not a tool call awaiting approval (no tool call awaits approval in this checkpoint)\n');
    const help = await cli(['resume', '--help']);
    expect(help.stdout).toContain('  --approve ID              approve the tool call ID that awaits approval: it runs (repeatable)\n');
    expect(help.stdout).toContain('  --deny ID=REASON          deny it: it never runs, and the model gets REASON as an\n');
    expect((await readCheckpointFile(checkpoint)).state.phase).toBe('done');
  });
});
