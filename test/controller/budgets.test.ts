import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, runTurn, startResume, startRun, type RunnableTool } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, expectRejects, runScripted, text, toolUse } from './helpers.js';

const loop = (n: number) => Array.from({ length: n }, (_, i) => toolUse([{ id: `toolu_${i}`, name: 'echo', input: { i } }]));

describe('budgets', () => {
  it('continuations: stops before the request that would pass the cap, with partial transcript and summed usage', async () => {
    const { result, requests } = await runScripted([...loop(10), text('never')], { tools: [echoTool()], budgets: { maxContinuations: 3 } });
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.code).toBe('budget_exceeded');
    expect(result.error?.budget).toBe('continuations');
    expect(result.error?.limit).toBe(3);
    expect(requests).toHaveLength(4); // the first + 3 continuations
    expect(result.segments).toHaveLength(4);
    expect(result.usage.output_tokens).toBe(40);
    expect(result.error?.messages).toBe(result.messages);
    expect(result.error?.usage).toEqual(result.usage);
    // the last tool results are in the transcript: nothing is lost
    expect(result.messages.at(-1)!.role).toBe('user');
  });

  it('rejects `result` with the typed error (never a silent truncation)', async () => {
    const model = scriptedModel(loop(5));
    const error = await expectRejects(
      runTurn({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [echoTool()], createStream: model.createStream, checkpoint: false, budgets: { maxContinuations: 1 } }),
    );
    expect(error.code).toBe('budget_exceeded');
    expect(error.result?.status).toBe('budget_exceeded');
    expect(error.result?.segments).toHaveLength(2);
  });

  it('tool_calls: a batch that would pass the cap runs none of its calls', async () => {
    let runs = 0;
    const counting: RunnableTool = { name: 'echo', run: () => String(++runs) };
    const two = (k: number) => toolUse([{ id: `a${k}`, name: 'echo', input: { k, n: 1 } }, { id: `b${k}`, name: 'echo', input: { k, n: 2 } }]);
    const { result } = await runScripted([two(1), two(2), text('x')], { tools: [counting], budgets: { maxToolCalls: 3 } });
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.budget).toBe('tool_calls');
    expect(result.error?.used).toBe(4);
    expect(runs).toBe(2);
  });

  it('tokens: no further request once cumulative tokens reach the cap; a finished turn is not failed after the fact', async () => {
    const big = { input_tokens: 600, output_tokens: 100 };
    const { result, requests } = await runScripted(
      [{ ...toolUse([{ id: 't1', name: 'echo' }]), usage: big }, { ...toolUse([{ id: 't2', name: 'echo', input: { x: 1 } }]), usage: big }, text('x')],
      { tools: [echoTool()], budgets: { maxTotalTokens: 1000 } },
    );
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.budget).toBe('tokens');
    expect(result.error?.used).toBe(1400);
    expect(requests).toHaveLength(2);

    const done = await runScripted([{ ...text('done'), usage: { input_tokens: 5000, output_tokens: 10 } }], { budgets: { maxTotalTokens: 1000 } });
    expect(done.result.status).toBe('completed');
  });

  it('deadline: aborts the stream in flight cleanly and reports the budget', async () => {
    const started = Date.now();
    // The deadline has to outlast the first request and its tool: 80 ms did not under Stryker's instrumentation.
    const { result } = await runScripted([toolUse([{ id: 't1', name: 'echo' }]), { hang: true }], { tools: [echoTool()], budgets: { deadlineMs: 1_000 } });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.budget).toBe('deadline');
    expect(result.segments).toHaveLength(1);
    expect(result.messages.at(-1)!.role).toBe('user');
    // resumable: the request that was in flight is re-issued with a new deadline
    const model = scriptedModel([text('made it')]);
    const resumed = await startResume(
      { format: 'turnstate.checkpoint', version: 1, seq: 99, savedAt: '', state: result.state },
      { createStream: model.createStream, checkpoint: false, budgets: { deadlineMs: 5000 }, tools: [echoTool()] },
    ).settled;
    expect(resumed.status).toBe('completed');
    expect(model.requests[0]!.messages).toEqual(result.messages);
  });

  it('deadline: fires during a slow tool', async () => {
    const slow: RunnableTool = { name: 'slow', run: (_i: unknown, ctx) => new Promise((resolve) => ctx?.signal?.addEventListener('abort', () => resolve('aborted'))) };
    // The tool waits for the abort, so the deadline only has to outlast the first request: 60 ms did not on a loaded machine.
    const { result } = await runScripted([toolUse([{ id: 't1', name: 'slow' }]), text('x')], { tools: [slow], budgets: { deadlineMs: 1_000 } });
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.budget).toBe('deadline');
    expect(result.toolCalls[0]!.status).toBe('started');
  });

  it('a caller abort stops the run with code aborted (resumable)', async () => {
    const model = scriptedModel([{ hang: true }]);
    const handle = startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', createStream: model.createStream, checkpoint: false });
    setTimeout(() => handle.abort(), 20);
    const result = await handle.settled;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('aborted');
    expect(result.state.phase).toBe('requesting');
  });

  it('a budget-exceeded run resumes with a larger budget and finishes', async () => {
    const store = new MemoryCheckpointStore();
    const script = [...loop(4), text('finished')];
    const model = scriptedModel((_req, i) => script[i]!);
    const first = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [echoTool()], createStream: model.createStream, checkpoint: store, budgets: { maxContinuations: 2 } }).settled;
    expect(first.status).toBe('budget_exceeded');
    const checkpoint = store.saved.at(-1)!;
    const second = await startResume(checkpoint, { tools: [echoTool()], createStream: model.createStream, checkpoint: store, budgets: { maxContinuations: 10 } }).settled;
    expect(second.status).toBe('completed');
    expect(model.requests).toHaveLength(5);
    expect(second.toolCalls.map((c) => c.attempts)).toEqual([1, 1, 1, 1]);
  });
});

describe('safety', () => {
  it('stuck loop: the same tool with identical input N times in a row stops the run', async () => {
    const same = (k: number) => toolUse([{ id: `t${k}`, name: 'echo', input: { b: 1, a: [1, 2] } }]);
    let runs = 0;
    const tool: RunnableTool = { name: 'echo', run: () => String(++runs) };
    const { result } = await runScripted([same(1), same(2), same(3), text('x')], { tools: [tool], stuckLoopThreshold: 3 });
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('stuck_loop');
    expect(result.error?.toolCall).toEqual({ id: 't3', name: 'echo', input: { b: 1, a: [1, 2] } });
    expect(runs).toBe(2);
    expect(result.state.phase).toBe('done');
  });

  it('stuck loop: key order does not matter, a different input resets the streak, 0 disables', async () => {
    const call = (k: number, input: unknown) => toolUse([{ id: `t${k}`, name: 'echo', input }]);
    const a = await runScripted([call(1, { x: 1, y: 2 }), call(2, { y: 2, x: 1 }), text('x')], { tools: [echoTool()], stuckLoopThreshold: 2 });
    expect(a.result.error?.code).toBe('stuck_loop');
    const b = await runScripted([call(1, { x: 1 }), call(2, { x: 2 }), call(3, { x: 1 }), text('x')], { tools: [echoTool()], stuckLoopThreshold: 2 });
    expect(b.result.status).toBe('completed');
    const c = await runScripted([call(1, {}), call(2, {}), call(3, {}), text('x')], { tools: [echoTool()], stuckLoopThreshold: 0 });
    expect(c.result.status).toBe('completed');
  });

  it('a tool_use id seen twice is a protocol error', async () => {
    const { result } = await runScripted([toolUse([{ id: 'dup', name: 'echo', input: { n: 1 } }]), toolUse([{ id: 'dup', name: 'echo', input: { n: 2 } }]), text('x')], {
      tools: [echoTool()],
    });
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('duplicate_tool_use_id');
    expect(result.error?.toolUseId).toBe('dup');
    const within = await runScripted([toolUse([{ id: 'd', name: 'echo', input: { n: 1 } }, { id: 'd', name: 'echo', input: { n: 2 } }])], { tools: [echoTool()] });
    expect(within.result.error?.code).toBe('duplicate_tool_use_id');
  });
});
