import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import {
  continuationMachine,
  FileCheckpointStore,
  initialRunState,
  MemoryCheckpointStore,
  parseCheckpoint,
  readCheckpointFile,
  resume,
  startResume,
  startRun,
  type Checkpoint,
  type RunnableTool,
} from '../../src/controller/index.js';
import { CheckpointWriter } from '../../src/controller/journal.js';
import { scriptedModel } from '../../src/testing/index.js';
import { text, toolUse } from './helpers.js';

const counter = (name: string, extra: Partial<RunnableTool> = {}) => {
  const calls: unknown[] = [];
  const tool: RunnableTool = { name, run: (input: unknown) => (calls.push(input), `${name} ran`), ...extra };
  return { tool, calls };
};

/** Runs a 3-call batch to the end and keeps every checkpoint. */
async function recordedRun(tools: RunnableTool[]) {
  const script = [
    toolUse([
      { id: 'toolu_a', name: 'alpha', input: { n: 1 } },
      { id: 'toolu_b', name: 'beta', input: { n: 2 } },
      { id: 'toolu_c', name: 'gamma', input: { n: 3 } },
    ]),
    text('all done'),
  ];
  const model = scriptedModel((_req, i) => script[i]!, { latency: 'immediate' });
  const store = new MemoryCheckpointStore();
  const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'go', tools, createStream: model.createStream, checkpoint: store, toolConcurrency: 1 }).settled;
  return { result, store, script };
}

describe('checkpoints', () => {
  it('are written at every step boundary, numbered, and the last one holds the final state', async () => {
    const a = counter('alpha');
    const b = counter('beta');
    const c = counter('gamma');
    const { result, store } = await recordedRun([a.tool, b.tool, c.tool]);
    expect(result.status).toBe('completed');
    expect(store.saved.map((cp) => cp.seq)).toEqual(store.saved.map((_, i) => i + 1));
    // before request 1; each call's start, and each call's result as soon as it finishes; before request 2; final
    expect(store.saved.map((cp) => cp.state.phase)).toEqual(['requesting', ...Array(6).fill('running_tools'), 'requesting', 'done']);
    expect(store.saved.at(-1)!.state).toEqual(result.state);
    const statuses = store.saved.slice(1, 7).map((cp) => cp.state.toolCalls.map((t) => t.status[0]).join(''));
    expect(statuses).toEqual(['spp', 'dpp', 'dsp', 'ddp', 'dds', 'ddd']);
    // the batch is journaled with its first write, and every `started` is durable before its tool runs
    expect(store.saved[1]!.state.messages).toHaveLength(2);
  });

  it('validates format, version and fields', () => {
    const state = initialRunState({ params: { model: 'm', max_tokens: 5 }, messages: 'x' }, 0);
    const good: Checkpoint = { format: 'turnstate.checkpoint', version: 1, seq: 1, savedAt: '', state };
    expect(parseCheckpoint(JSON.stringify(good))).toEqual(good);
    const bad = (value: unknown, pattern: RegExp) => {
      try {
        parseCheckpoint(value);
      } catch (error) {
        expect((error as { code: string }).code).toBe('checkpoint_invalid');
        expect((error as Error).message).toMatch(pattern);
        return;
      }
      throw new Error('accepted an invalid checkpoint');
    };
    bad('{nope', /not JSON/);
    bad({ ...good, format: 'other' }, /format/);
    bad({ ...good, version: 3 }, /version 3 is not supported/);
    bad({ ...good, state: { ...state, messages: 'x' } }, /state\.messages: .*expected array/);
    bad({ ...good, state: { ...state, phase: 'sleeping' } }, /phase/);
    bad({ ...good, state: { ...state, batch: ['toolu_x'] } }, /state\.batch\[0\]: names "toolu_x", which is not the journaled tool call/);
    bad({ ...good, state: { ...state, toolCalls: [{ id: 'a', name: 'b', input: {}, segment: 0, status: 'done', result: null, attempts: 1, startedAt: 0, durationMs: 0 }] } }, /state\.toolCalls\[0\]\.result: tool call a is done without a result/);
    bad({ ...good, state: { ...state, usage: { input_tokens: 'many' } } }, /state\.usage\.input_tokens: /);
  });

  it('the file store writes atomically (no temp files left) and loads what it wrote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-cp-'));
    const store = new FileCheckpointStore({ dir });
    const model = scriptedModel([text('hi')]);
    const result = await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', createStream: model.createStream, checkpoint: store, runId: 'run_file' }).settled;
    expect(await readdir(dir)).toEqual(['run_file.json']);
    const loaded = await store.load('run_file');
    expect(loaded!.state).toEqual(result.state);
    expect(await store.load('run_missing')).toBeNull();
    const single = new FileCheckpointStore({ path: join(dir, 'one.json') });
    expect(single.pathFor('anything')).toBe(join(dir, 'one.json'));
    await writeFile(join(dir, 'broken.json'), '{"format":"turnstate.checkpoint"');
    await expect(resume(join(dir, 'broken.json'))).rejects.toMatchObject({ code: 'checkpoint_invalid' });
    // resume(path) goes on writing to the same file
    const path = join(dir, 'budget.json');
    const script = [toolUse([{ id: 't1', name: 'alpha' }]), text('done')];
    const twoStep = scriptedModel((_r, i) => script[i]!);
    const alpha = counter('alpha');
    const stopped = await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', tools: [alpha.tool], createStream: twoStep.createStream, checkpoint: { path }, budgets: { maxContinuations: 0 } }).settled;
    expect(stopped.status).toBe('budget_exceeded');
    const finished = await resume(path, { tools: [alpha.tool], createStream: twoStep.createStream, budgets: { maxContinuations: 1 } });
    expect(finished.status).toBe('completed');
    expect((await readCheckpointFile(path)).state.phase).toBe('done');
    expect(alpha.calls).toHaveLength(1);
    const lines = (await readFile(join(dir, 'run_file.json'), 'utf8')).split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'turnstate.checkpoint', version: 2 });
  });

  it('the writer coalesces concurrent writes and resolves each after a write that includes it', async () => {
    const saves: number[] = [];
    let value = 0;
    const slowStore = {
      save: async (cp: Checkpoint) => {
        await new Promise((r) => setTimeout(r, 5));
        saves.push((cp.state as unknown as { v: number }).v);
      },
    };
    const writer = new CheckpointWriter(slowStore, (seq) => ({ format: 'turnstate.checkpoint', version: 1, seq, savedAt: '', state: { v: value } as never }));
    // calls in the same event-loop turn share one write, which takes the newest state
    value = 1;
    const first = writer.write();
    value = 2;
    const second = writer.write();
    expect(second).toBe(first);
    await first;
    expect(saves).toEqual([2]);
    // calls while a write is in flight share the one follow-up write
    value = 3;
    const third = writer.write();
    await new Promise((r) => setTimeout(r, 1));
    value = 4;
    const fourth = writer.write();
    value = 5;
    const fifth = writer.write();
    await third;
    expect(saves).toEqual([2, 3]);
    expect(fifth).toBe(fourth);
    await fifth;
    expect(saves).toEqual([2, 3, 5]);
    expect(writer.seq).toBe(3);
  });
});

describe('resume', () => {
  it('gives a finished run its result back without any request or tool run', async () => {
    const a = counter('alpha');
    const { result, store } = await recordedRun([a.tool, counter('beta').tool, counter('gamma').tool]);
    const model = scriptedModel([]);
    const again = await resume(store.saved.at(-1)!, { createStream: model.createStream, checkpoint: false, tools: [a.tool] });
    expect(again.status).toBe('completed');
    expect(again.messages).toEqual(result.messages);
    expect(model.requests).toHaveLength(0);
    expect(a.calls).toHaveLength(1);
  });

  it('re-issues a request that was in flight, identically', async () => {
    const { store, script } = await recordedRun([counter('alpha').tool, counter('beta').tool, counter('gamma').tool]);
    const beforeSecondRequest = store.saved.find((cp) => cp.state.phase === 'requesting' && cp.state.segments.length === 1)!;
    const model = scriptedModel([script[1]!]);
    const resumed = await resume(beforeSecondRequest, { createStream: model.createStream, checkpoint: false });
    expect(resumed.status).toBe('completed');
    expect(model.requests[0]!.messages).toEqual(beforeSecondRequest.state.messages);
  });

  it('never re-runs a recorded tool; re-runs a started one only if retrySafe; runs pending ones', async () => {
    const { store, script } = await recordedRun([counter('alpha').tool, counter('beta').tool, counter('gamma').tool]);
    // alpha done, beta started (no result), gamma pending
    const cp = store.saved.find((c) => c.state.toolCalls.map((t) => t.status[0]).join('') === 'dsp')!;
    const a = counter('alpha');
    const b = counter('beta', { retrySafe: true });
    const c = counter('gamma');
    const model = scriptedModel([script[1]!]);
    const resumed = await resume(cp, { createStream: model.createStream, checkpoint: false, tools: [a.tool, b.tool, c.tool] });
    expect(resumed.status).toBe('completed');
    expect([a.calls.length, b.calls.length, c.calls.length]).toEqual([0, 1, 1]);
    expect(resumed.toolCalls.map((t) => t.attempts)).toEqual([1, 2, 1]);
    const results = model.requests[0]!.messages[2]!.content as { tool_use_id: string; content: string }[];
    expect(results.map((r) => [r.tool_use_id, r.content])).toEqual([
      ['toolu_a', 'alpha ran'],
      ['toolu_b', 'beta ran'],
      ['toolu_c', 'gamma ran'],
    ]);
  });

  it('stops with tool_needs_decision naming the call when a started tool is not retrySafe; a decision unblocks it', async () => {
    const { store, script } = await recordedRun([counter('alpha').tool, counter('beta').tool, counter('gamma').tool]);
    const cp = store.saved.find((c) => c.state.toolCalls.map((t) => t.status[0]).join('') === 'dsp')!;
    const b = counter('beta');
    const c = counter('gamma');
    const tools = [counter('alpha').tool, b.tool, c.tool];
    // resuming without the run's tools is a caller mistake, not a "not found" for the model
    expect(() => startResume(cp, { createStream: scriptedModel([]).createStream, checkpoint: false })).toThrow(/resume needs the tools the run used: pass 'beta', 'gamma'/);
    const after = new MemoryCheckpointStore();
    const stuck = await startResume(cp, { createStream: scriptedModel([]).createStream, checkpoint: after, tools }).settled;
    expect(stuck.status).toBe('failed');
    expect(stuck.error?.code).toBe('tool_needs_decision');
    expect(stuck.error?.toolCall).toEqual({ id: 'toolu_b', name: 'beta', input: { n: 2 } });
    expect(b.calls.length + c.calls.length).toBe(0); // nothing ran, not even the pending call
    expect(stuck.state.phase).toBe('running_tools');

    // the user checked: beta did happen. Record its result without running it.
    const model = scriptedModel([script[1]!]);
    const decided = await resume(after.saved.at(-1)!, {
      createStream: model.createStream,
      checkpoint: false,
      tools,
      decisions: { toolu_b: { content: 'beta happened (checked by hand)', is_error: false } },
    });
    expect(decided.status).toBe('completed');
    expect(b.calls).toHaveLength(0);
    expect(c.calls).toHaveLength(1);
    expect((model.requests[0]!.messages[2]!.content as { content: string }[])[1]!.content).toBe('beta happened (checked by hand)');

    const rerun = await resume(after.saved.at(-1)!, { createStream: scriptedModel([script[1]!]).createStream, checkpoint: false, tools, decisions: { toolu_b: 'rerun' } });
    expect(rerun.status).toBe('completed');
    expect(b.calls).toHaveLength(1);
  });

  it('why the journal: restoring an XState persisted snapshot re-runs the invoked tool actor', async () => {
    let invocations = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const machine = continuationMachine;
    const state = { ...initialRunState({ params: { model: 'm', max_tokens: 5 }, messages: 'x' }, 0) };
    const withBatch = {
      ...state,
      phase: 'running_tools' as const,
      batch: ['t1'],
      toolCallCount: 1,
      toolCalls: [{ id: 't1', name: 'x', input: {}, segment: 0, status: 'pending' as const, result: null, attempts: 0, startedAt: null, durationMs: null }],
    };
    const env = {
      saveCheckpoint: async () => {},
      requestModel: async () => {
        throw new Error('not used');
      },
      runTools: async () => {
        invocations++;
        await gate;
        return [];
      },
      sleep: async () => {},
      now: () => 0,
      random: () => 0,
      abortCause: () => null,
      notify: () => {},
      awaitsApproval: () => false,
      approveTools: async () => [],
    };
    const actor = createActor(machine, { input: { state: withBatch, env } }).start();
    await new Promise((r) => setTimeout(r, 10));
    expect(invocations).toBe(1);
    const persisted = actor.getPersistedSnapshot();
    actor.stop();
    const restored = createActor(machine, { snapshot: persisted, input: { state: withBatch, env } }).start();
    await new Promise((r) => setTimeout(r, 10));
    expect(invocations).toBe(2); // the side effect would have happened twice
    restored.stop();
    release();
  });
});
