/**
 * A1: a parallel tool's result is durable the moment it finishes — before its
 * `tool_end` — not when the whole batch ends. A real child process, SIGKILLed
 * while the sibling tool still runs.
 */
import { fork } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readCheckpointFile, resume, startResume } from '../../../src/controller/index.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { SIBLING_SCRIPT } from '../fixtures/sibling-scenario.js';

it('SIGKILL after one tool_end while its sibling runs: resume neither re-runs nor asks about the finished call', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-sibling-'));
  const path = join(dir, 'run.json');
  const effects = join(dir, 'effects.log');
  const child = fork(fileURLToPath(new URL('../fixtures/sibling-child.ts', import.meta.url)), [path, effects], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
    child.on('message', (m: { toolEnd?: string }) => {
      if (m.toolEnd === 'toolu_fast') child.kill('SIGKILL');
    });
    child.on('exit', (_code, sig) => resolve(sig));
  });
  expect(signal, stderr).toBe('SIGKILL');
  expect(await readFile(effects, 'utf8')).toMatch(/fast\n/);

  const checkpoint = await readCheckpointFile(path);
  const calls = Object.fromEntries(checkpoint.state.toolCalls.map((c) => [c.id, c]));
  expect(calls['toolu_fast']).toMatchObject({ status: 'done', result: { content: 'fast done', is_error: false } });
  expect(calls['toolu_slow']!.status).toBe('started');

  let fastRuns = 0;
  let slowRuns = 0;
  const tools = [
    { name: 'fast', run: () => (fastRuns++, 'fast again') },
    { name: 'slow', run: () => (slowRuns++, 'slow done') },
  ];
  // only the call that was really in doubt needs a decision
  const asked = await startResume(checkpoint, { tools, createStream: scriptedModel([]).createStream, checkpoint: { path } }).settled;
  expect(asked.error?.code).toBe('tool_needs_decision');
  expect(asked.error?.toolUseId).toBe('toolu_slow');
  const model = scriptedModel([SIBLING_SCRIPT[1]!]);
  const done = await resume(path, { tools, createStream: model.createStream, decisions: { toolu_slow: 'rerun' } });
  expect(done.status).toBe('completed');
  expect([fastRuns, slowRuns]).toEqual([0, 1]);
  const results = model.requests[0]!.messages.at(-1)!.content as { tool_use_id: string; content: string }[];
  expect(results.map((r) => [r.tool_use_id, r.content])).toEqual([
    ['toolu_fast', 'fast done'],
    ['toolu_slow', 'slow done'],
  ]);
}, 120_000);
