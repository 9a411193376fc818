/**
 * Approvals survive a SIGKILL while waiting. A real child process runs a
 * batch of four calls (approve A, deny B, C and D wait for a person) with a
 * file checkpoint and is killed with SIGKILL while it waits — once stopped
 * `awaiting_approval`, once with the hook itself still waiting. A new process
 * resumes with the person's decisions (the library, and the real CLI over a
 * loopback fake API): each approved call's side effect (a line appended to a
 * file) happens exactly once, denied ones never, and the deny messages are
 * is_error results in the ONE user message that answers the batch.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readCheckpointFile, startResume, type ControllerEvent } from '../../src/controller/index.js';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { spawnCli } from '../cli/spawn.js';
import { appendTool, approvalModel, RUN_OPTIONS } from './fixtures/approval-scenario.js';

const child = fileURLToPath(new URL('./fixtures/approval-child.ts', import.meta.url));
const lines = async (file: string) => (existsSync(file) ? (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean) : []);

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

/** Runs the child until it reports `until`, then SIGKILLs it; resolves with what it said and how it died. */
async function killWhenWaiting(mode: 'deferred' | 'asking', until: (message: Record<string, unknown>) => boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-approval-kill-'));
  const checkpointFile = join(dir, 'run.json');
  const effects = join(dir, 'effects.log');
  const proc = fork(child, [checkpointFile, effects, mode], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exit = await new Promise<{ signal: NodeJS.Signals | null; said: Record<string, unknown> | null }>((resolve) => {
    let said: Record<string, unknown> | null = null;
    proc.on('message', (message: Record<string, unknown>) => {
      if (said === null && until(message)) {
        said = message;
        proc.kill('SIGKILL');
      }
    });
    proc.on('exit', (_code, signal) => resolve({ signal, said }));
  });
  expect(exit.signal, stderr).toBe('SIGKILL');
  return { dir, checkpointFile, effects, said: exit.said };
}

const ANSWER = [
  { type: 'tool_result', tool_use_id: 'toolu_01ApprA', content: 'appended alpha' },
  { type: 'tool_result', tool_use_id: 'toolu_01ApprB', content: 'beta is not to be recorded', is_error: true },
  { type: 'tool_result', tool_use_id: 'toolu_01ApprC', content: 'appended gamma' },
  { type: 'tool_result', tool_use_id: 'toolu_01ApprD', content: 'no delta, said the person', is_error: true },
];

describe('approvals across a SIGKILL', () => {
  it('killed while stopped awaiting_approval: resume with the decisions runs C once, never B or D, and A is not run again', async () => {
    const { checkpointFile, effects, said } = await killWhenWaiting('deferred', (m) => m['status'] !== undefined);
    expect(said).toEqual({ status: 'awaiting_approval', awaiting: ['toolu_01ApprC', 'toolu_01ApprD'] });
    expect(await lines(effects)).toEqual(['toolu_01ApprA alpha']);
    const checkpoint = await readCheckpointFile(checkpointFile);
    expect(checkpoint.state.toolCalls.map((c) => [c.id, c.status, c.approval?.decision])).toEqual([
      ['toolu_01ApprA', 'done', 'approved'],
      ['toolu_01ApprB', 'done', 'denied'],
      ['toolu_01ApprC', 'pending', 'deferred'],
      ['toolu_01ApprD', 'pending', 'deferred'],
    ]);

    const events: ControllerEvent[] = [];
    const model = approvalModel();
    const resumed = await startResume(checkpoint, {
      tools: [appendTool(effects)],
      createStream: model.createStream,
      checkpoint: { path: checkpointFile },
      approvals: { toolu_01ApprC: { approve: true }, toolu_01ApprD: { deny: 'no delta, said the person' } },
      approveToolCall: () => {
        throw new Error('the hook must not be asked about calls the resume decided');
      },
      onEvent: (e) => events.push(e),
    }).settled;
    expect(resumed.status).toBe('completed');
    expect(resumed.text).toBe('Recorded what was approved.');
    expect(await lines(effects)).toEqual(['toolu_01ApprA alpha', 'toolu_01ApprC gamma']);
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]!.messages.at(-1)).toEqual({ role: 'user', content: ANSWER });
    expect(resumed.messages.filter((m) => m.role === 'user')).toHaveLength(2); // the prompt, and the one answer
    // the decisions were reported once durable, before C ran
    const order = events.filter((e) => e.type === 'tool_approval' || e.type === 'tool_start').map((e) => `${e.type} ${(e as { id: string }).id}`);
    expect(order).toEqual(['tool_approval toolu_01ApprC', 'tool_approval toolu_01ApprD', 'tool_start toolu_01ApprC']);
    const final = await readCheckpointFile(checkpointFile);
    expect(final.state.phase).toBe('done');
    expect(final.state.toolCalls.map((c) => [c.id, c.approval?.decision, c.approval?.source])).toEqual([
      ['toolu_01ApprA', 'approved', 'hook'],
      ['toolu_01ApprB', 'denied', 'hook'],
      ['toolu_01ApprC', 'approved', 'resume'],
      ['toolu_01ApprD', 'denied', 'resume'],
    ]);
  }, 60_000);

  it('killed while the hook was still asking: nothing was decided or run; `turnstate resume --approve/--deny` in a new process decides all four', async () => {
    const { dir, checkpointFile, effects } = await killWhenWaiting('asking', (m) => m['asking'] === true);
    expect(await lines(effects)).toEqual([]);
    // the open batch was made durable before anyone was asked
    const checkpoint = await readCheckpointFile(checkpointFile);
    expect(checkpoint.state.phase).toBe('running_tools');
    expect(checkpoint.state.toolCalls.map((c) => [c.status, c.approval])).toEqual([
      ['pending', undefined],
      ['pending', undefined],
      ['pending', undefined],
      ['pending', undefined],
    ]);

    api = await startFakeMessagesApi({ replies: [sseFromMessage({ content: [{ type: 'text', text: 'Recorded what was approved.' }], stopReason: 'end_turn' })] });
    const tools = join(dir, 'tools.mjs');
    await writeFile(
      tools,
      `import { appendFileSync } from 'node:fs';\n` +
        `export default [{ name: 'append', input_schema: { type: 'object' }, run: ({ entry }, ctx) => { appendFileSync(${JSON.stringify(effects)}, ctx.toolUse.id + ' ' + entry + '\\n'); return 'appended ' + entry; } }];\n` +
        `export const approveToolCall = () => { throw new Error('not to be asked'); };\n`,
    );
    const out = await spawnCli(
      [
        'resume', checkpointFile, '--tools', tools, '--json',
        '--approve', 'toolu_01ApprA', '--deny', 'toolu_01ApprB=beta is not to be recorded',
        '--approve', 'toolu_01ApprC', '--deny', 'toolu_01ApprD=no delta, said the person',
      ],
      { env: { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'k' }, cwd: dir },
    );
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ status: 'completed', text: 'Recorded what was approved.', awaitingApproval: [] });
    expect(await lines(effects)).toEqual(['toolu_01ApprA alpha', 'toolu_01ApprC gamma']);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.body.messages.at(-1)).toEqual({ role: 'user', content: ANSWER });
    expect(RUN_OPTIONS.runId).toBe((await readCheckpointFile(checkpointFile)).state.runId);
  }, 60_000);
});
