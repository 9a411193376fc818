import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../../src/controller/index.js';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi, type FakeReply } from '../../src/testing/index.js';
import { cli } from '../controller/fixtures/cli.js';

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

const text = (t: string, stopReason = 'end_turn', extra = {}) => sseFromMessage({ content: [{ type: 'text', text: t }], stopReason, ...extra });
const toolCall = sseFromMessage({
  content: [
    { type: 'text', text: 'Adding.' },
    { type: 'tool_use', id: 'toolu_01Cli', name: 'add', input: { a: 2, b: 3 } },
  ],
  stopReason: 'tool_use',
});

async function setup(replies: FakeReply[]) {
  api = await startFakeMessagesApi({ replies });
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-cli-'));
  const tools = join(dir, 'tools.mjs');
  await writeFile(tools, `export default [{ name: 'add', description: 'adds', input_schema: { type: 'object' }, run: ({ a, b }) => String(a + b) }];\n`);
  return { dir, tools, env: { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'test-key' } as NodeJS.ProcessEnv };
}

describe('turnstate run', () => {
  it('without ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL says in one line what to set (exit 2)', async () => {
    const { code, stdout, stderr } = await cli(['run', 'hello'], {});
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/ANTHROPIC_API_KEY/);
    expect(stderr).toMatch(/turnstate demo/);
  });

  it('rejects bad usage with exit 2', async () => {
    const env = { ANTHROPIC_API_KEY: 'x' };
    expect((await cli(['run'], env)).code).toBe(2);
    expect((await cli(['run', '--max-tokens-policy', 'maybe', 'hi'], env)).stderr).toMatch(/stop, continue or raise/);
    expect((await cli(['run', '--max-tokens', '-5', 'hi'], env)).code).toBe(2);
    expect((await cli(['run', '--bogus', 'hi'], env)).code).toBe(2);
    expect((await cli(['run', '--tools', '/nonexistent/tools.mjs', 'hi'], env)).stderr).toMatch(/cannot load --tools/);
    const help = await cli(['run', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-tokens-policy/);
  });

  it('human mode: streams the text, shows tool calls, ends with a summary; exit 0', async () => {
    const { dir, tools, env } = await setup([toolCall, text('2 + 3 = 5.')]);
    const { code, stdout } = await cli(['run', '--tools', tools, '--checkpoint', join(dir, 'cp.json'), 'What is 2 + 3?'], env, dir);
    expect(code).toBe(0);
    expect(stdout).toContain('Adding.');
    expect(stdout).toMatch(/⚙ add \{"a":2,"b":3\}/);
    expect(stdout).toMatch(/✓ add done/);
    expect(stdout).toContain('2 + 3 = 5.');
    expect(stdout).toMatch(/— completed \(end_turn\) · 2 segments · 1 tool call/);
    const checkpoint = await readCheckpointFile(join(dir, 'cp.json'));
    expect(checkpoint.state.phase).toBe('done');
    expect(api!.requests[0]!.body).toMatchObject({ model: 'claude-sonnet-4-6', max_tokens: 4096 });
  });

  it('human mode shows server tool calls and pause_turn continuations', async () => {
    const paused = sseFromMessage({
      content: [
        { type: 'text', text: 'Searching.' },
        { type: 'server_tool_use', id: 'srvtoolu_01Cli', name: 'web_search', input: { query: 'turnstate' } },
      ],
      stopReason: 'pause_turn',
    });
    const { dir, env } = await setup([paused, text('Found it.')]);
    const { code, stdout } = await cli(['run', 'search'], env, dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/⌕ web_search \{"query":"turnstate"\} \(server tool\)/);
    expect(stdout).toMatch(/↪ pause turn: continuing \(continuation 1\)/);
    expect(stdout).toContain('Found it.');
  });

  it('--json prints one object with the documented keys; flags reach the request', async () => {
    const { dir, env } = await setup([text('def f():\n', 'stop_sequence', { stopSequence: '```' })]);
    const { code, stdout } = await cli(['run', '--json', '--model', 'claude-haiku-4-5', '--max-tokens', '77', '--system', 'Be brief.', 'write code'], env, dir);
    expect(code).toBe(0); // stop_sequence counts as completed
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!);
    expect(Object.keys(out)).toEqual(['status', 'stopReason', 'text', 'messages', 'usage', 'segments', 'dropped', 'error', 'awaitingApproval']);
    expect(out).toMatchObject({ status: 'stopped', stopReason: 'stop_sequence', text: 'def f():\n', error: null });
    expect(api!.requests[0]!.body).toMatchObject({ model: 'claude-haiku-4-5', max_tokens: 77, system: 'Be brief.' });
    // default checkpoint location
    expect((await readdir(join(dir, '.turnstate', 'runs'))).length).toBe(1);
  });

  it('exit 1 for refused, incomplete and budget_exceeded, with the error in --json', async () => {
    const refused = await setup([sseFromMessage({ content: [], stopReason: 'refusal', stopDetails: { type: 'refusal', category: 'cyber', explanation: null } })]);
    const a = await cli(['run', '--json', 'x'], refused.env, refused.dir);
    expect(a.code).toBe(1);
    expect(JSON.parse(a.stdout).status).toBe('refused');
    await api!.close();

    const cut = await setup([text('partial ', 'max_tokens')]);
    const b = await cli(['run', 'x'], cut.env, cut.dir);
    expect(b.code).toBe(1);
    expect(b.stdout).toMatch(/— incomplete \(max_tokens\)/);
    await api!.close();

    const budget = await setup([toolCall, text('never')]);
    const c = await cli(['run', '--json', '--tools', budget.tools, '--max-continuations', '1', 'x'], budget.env, budget.dir);
    expect(c.code).toBe(0);
    await api!.close();
    const over = await setup([toolCall, toolCall.replace(/toolu_01Cli/g, 'toolu_01Cli2'), text('never')]);
    const d = await cli(['run', '--json', '--tools', over.tools, '--max-continuations', '1', 'x'], over.env, over.dir);
    expect(d.code).toBe(1);
    const out = JSON.parse(d.stdout);
    expect(out.status).toBe('budget_exceeded');
    expect(out.error).toMatchObject({ code: 'budget_exceeded', budget: 'continuations', limit: 1 });
  });

  it('--max-tokens-policy continue carries on after max_tokens', async () => {
    const { dir, env } = await setup([text('Once upon a time ', 'max_tokens'), text('there was a parser.')]);
    const { code, stdout } = await cli(['run', '--json', '--max-tokens-policy', 'continue', 'story'], env, dir);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).text).toBe('Once upon a timethere was a parser.');
    expect(api!.requests[1]!.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Once upon a time' }] });
  });
});
