import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, toolRunner, type RunnableTool } from '../../src/controller/index.js';
import { ControllerError } from '../../src/controller/errors.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, text, toolUse } from './helpers.js';

const counted = (): { tool: RunnableTool; runs: unknown[] } => {
  const runs: unknown[] = [];
  return { runs, tool: echoTool('echo', { run: (input: unknown) => (runs.push(input), `ran ${JSON.stringify(input)}`) }) };
};

describe('toolRunner: the SDK toolRunner way in, on startRun', () => {
  it('for await yields each assistant message as it completes; tools run once; done() is the final message', async () => {
    const model = scriptedModel([toolUse([{ id: 't1', name: 'echo', input: { a: 1 } }], 'Checking.'), text('All done.')]);
    const { tool, runs } = counted();
    const runner = toolRunner({ params: { model: 'm', max_tokens: 50 }, messages: 'go', tools: [tool], createStream: model.createStream, checkpoint: new MemoryCheckpointStore() });
    const seen: string[] = [];
    for await (const message of runner) {
      seen.push(`${message.stop_reason}:${message.content.map((b) => b.type).join(',')}`);
      if (message.stop_reason === 'tool_use') {
        const response = await runner.generateToolResponse();
        expect(response?.role).toBe('user');
        expect(response?.content).toEqual([expect.objectContaining({ type: 'tool_result', tool_use_id: 't1', content: 'ran {"a":1}' })]);
      }
    }
    expect(seen).toEqual(['tool_use:text,tool_use', 'end_turn:text']);
    expect(runs).toEqual([{ a: 1 }]);
    const final = await runner.done();
    expect(final.content).toEqual([{ type: 'text', text: 'All done.' }]);
    expect(await runner.generateToolResponse()).toBeNull();
    expect(model.requests).toHaveLength(2);
  });

  it('runUntilDone(); then pushMessages continues the transcript in a new run; setMessagesParams changes the next request', async () => {
    const model = scriptedModel([text('First.'), text('Second.')]);
    const runner = toolRunner({ params: { model: 'm', max_tokens: 50 }, messages: 'one', createStream: model.createStream, checkpoint: false });
    expect((await runner.runUntilDone()).content).toEqual([{ type: 'text', text: 'First.' }]);
    runner.pushMessages({ role: 'user', content: 'two' });
    runner.setMessagesParams((p) => ({ ...p, max_tokens: 77 }));
    const seen: string[] = [];
    for await (const message of runner) seen.push((message.content[0] as { text: string }).text);
    expect(seen).toEqual(['Second.']);
    const second = model.requests[1]!;
    expect(second.max_tokens).toBe(77);
    expect(second.messages.map((m) => [m.role, typeof m.content === 'string' ? m.content : (m.content![0] as { text?: string }).text])).toEqual([
      ['user', 'one'],
      ['assistant', 'First.'],
      ['user', 'two'],
    ]);
  });

  it('changing the conversation during a run is a typed run_in_progress error; budgets still stop the run', async () => {
    const model = scriptedModel([toolUse([{ id: 't1', name: 'echo' }]), text('never')]);
    const runner = toolRunner({ params: { model: 'm', max_tokens: 50 }, messages: 'x', tools: [echoTool()], createStream: model.createStream, checkpoint: false, budgets: { maxContinuations: 0 } });
    const it = runner[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    let thrown: unknown;
    try {
      runner.pushMessages({ role: 'user', content: 'late' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ControllerError);
    expect((thrown as ControllerError).code).toBe('run_in_progress');
    expect((await it.next()).done).toBe(true);
    const rejected = await runner.done().catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ControllerError);
    expect((rejected as ControllerError).code).toBe('budget_exceeded');
  });
});
