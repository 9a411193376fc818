/**
 * Human approval of tool calls (issue 7, C9): the `approveToolCall` hook
 * approves, denies (an is_error result with the message; the tool never runs)
 * or defers (the run stops `awaiting_approval`, resumably); every decision is
 * durable in the journal before it is acted on; `resume(…, { approvals })`
 * runs exactly what was approved, once, and all results of a batch go back in
 * ONE user message.
 */
import { describe, expect, it } from 'vitest';
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import {
  MemoryCheckpointStore,
  resume,
  startResume,
  startRun,
  toolRunner,
  type ApprovalDecision,
  type ApproveToolCall,
  type Checkpoint,
  type ControllerEvent,
  type RunnableTool,
} from '../../src/controller/index.js';
import { ControllerError } from '../../src/controller/errors.js';
import { scriptedModel } from '../../src/testing/index.js';
import { text, toolUse } from './helpers.js';

const PARAMS = { model: 'claude-test', max_tokens: 100 };
const BATCH = toolUse(
  [
    { id: 'toolu_A', name: 'act', input: { what: 'alpha' } },
    { id: 'toolu_B', name: 'act', input: { what: 'beta' } },
    { id: 'toolu_C', name: 'act', input: { what: 'gamma' } },
  ],
  'Doing three things.',
);

/** A tool whose side effect is a line in `effects` (and that records what ran when, for ordering checks). */
function actTool(effects: string[]): RunnableTool {
  return {
    name: 'act',
    input_schema: { type: 'object' },
    run: (input: { what: string }, context) => {
      effects.push(`${context!.toolUse.id} ${input.what}`);
      return `did ${input.what}`;
    },
  } as RunnableTool;
}

const byId = (decisions: Record<string, ApprovalDecision>): ApproveToolCall => (call) => decisions[call.id]!;

function toolResults(messages: BetaMessageParam[]): unknown[][] {
  return messages.filter((m) => m.role === 'user' && Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_result')).map((m) => m.content as unknown[]);
}

describe('approveToolCall', () => {
  it('approve-all: every call runs once, results in one user message, each decision journaled and reported before its call starts', async () => {
    const effects: string[] = [];
    const events: ControllerEvent[] = [];
    const model = scriptedModel([BATCH, text('All done.')]);
    const store = new MemoryCheckpointStore();
    const asked: string[] = [];
    const result = await startRun({
      params: PARAMS,
      messages: 'go',
      tools: [actTool(effects)],
      createStream: model.createStream,
      checkpoint: store,
      approveToolCall: (call) => {
        asked.push(`${call.id} ${call.name} ${JSON.stringify(call.input)}`);
        return { approve: true };
      },
      onEvent: (e) => events.push(e),
    }).settled;
    expect(result.status).toBe('completed');
    expect(asked).toEqual(['toolu_A act {"what":"alpha"}', 'toolu_B act {"what":"beta"}', 'toolu_C act {"what":"gamma"}']);
    expect(effects.sort()).toEqual(['toolu_A alpha', 'toolu_B beta', 'toolu_C gamma']);
    expect(toolResults(result.messages)).toEqual([
      [
        { type: 'tool_result', tool_use_id: 'toolu_A', content: 'did alpha' },
        { type: 'tool_result', tool_use_id: 'toolu_B', content: 'did beta' },
        { type: 'tool_result', tool_use_id: 'toolu_C', content: 'did gamma' },
      ],
    ]);
    expect(result.toolCalls.map((c) => c.approval?.decision)).toEqual(['approved', 'approved', 'approved']);
    const kinds = events.filter((e) => e.type === 'tool_approval' || e.type === 'tool_start').map((e) => `${e.type} ${(e as { id: string }).id}`);
    expect(kinds.slice(0, 3)).toEqual(['tool_approval toolu_A', 'tool_approval toolu_B', 'tool_approval toolu_C']);
    expect(kinds.slice(3).sort()).toEqual(['tool_start toolu_A', 'tool_start toolu_B', 'tool_start toolu_C']);
    // durable before acting: the first checkpoint that holds the decisions has every call still pending
    const first = store.saved.find((c) => c.state.toolCalls.some((t) => t.approval !== undefined))!;
    expect(first.state.toolCalls.map((t) => [t.status, t.approval?.decision])).toEqual([
      ['pending', 'approved'],
      ['pending', 'approved'],
      ['pending', 'approved'],
    ]);
  });

  it('deny-all: no tool runs; each call is answered with its message as an is_error result, in one user message', async () => {
    const effects: string[] = [];
    const model = scriptedModel([BATCH, text('Understood.')]);
    const result = await startRun({
      params: PARAMS,
      messages: 'go',
      tools: [actTool(effects)],
      createStream: model.createStream,
      checkpoint: new MemoryCheckpointStore(),
      approveToolCall: (call) => ({ deny: `no ${String((call.input as { what: string }).what)} today` }),
    }).settled;
    expect(result.status).toBe('completed');
    expect(effects).toEqual([]);
    expect(model.requests[1]!.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_A', content: 'no alpha today', is_error: true },
        { type: 'tool_result', tool_use_id: 'toolu_B', content: 'no beta today', is_error: true },
        { type: 'tool_result', tool_use_id: 'toolu_C', content: 'no gamma today', is_error: true },
      ],
    });
    expect(result.toolCalls.map((c) => [c.status, c.attempts, c.approval])).toEqual([
      ['done', 0, { decision: 'denied', message: 'no alpha today', source: 'hook', at: expect.any(Number) }],
      ['done', 0, { decision: 'denied', message: 'no beta today', source: 'hook', at: expect.any(Number) }],
      ['done', 0, { decision: 'denied', message: 'no gamma today', source: 'hook', at: expect.any(Number) }],
    ]);
  });

  it('mixed: approved runs now, denied is answered, deferred stops the run awaiting_approval; resume with approvals finishes in ONE user message', async () => {
    const effects: string[] = [];
    const model = scriptedModel([BATCH, text('Done with what I was allowed.')]);
    const store = new MemoryCheckpointStore();
    const hook = byId({ toolu_A: { approve: true }, toolu_B: { deny: 'beta is not allowed' }, toolu_C: { defer: true } });
    const first = await startRun({ params: PARAMS, messages: 'go', tools: [actTool(effects)], createStream: model.createStream, checkpoint: store, approveToolCall: hook }).result;
    expect(first.status).toBe('awaiting_approval');
    expect(first.error).toBeNull();
    expect(first.awaitingApproval).toEqual([{ id: 'toolu_C', name: 'act', input: { what: 'gamma' } }]);
    expect(first.state.phase).toBe('running_tools');
    expect(effects).toEqual(['toolu_A alpha']);
    expect(model.requests).toHaveLength(1); // nothing went back to the model yet
    expect(toolResults(first.messages)).toEqual([]);

    const checkpoint = store.saved.at(-1)!;
    expect(checkpoint.state.outcome?.status).toBe('awaiting_approval');
    const calledAgain: string[] = [];
    const second = await startResume(checkpoint, {
      tools: [actTool(effects)],
      createStream: model.createStream,
      checkpoint: new MemoryCheckpointStore(),
      approvals: { toolu_C: { approve: true } },
      approveToolCall: (call) => {
        calledAgain.push(call.id);
        return { defer: true };
      },
    }).result;
    expect(second.status).toBe('completed');
    expect(calledAgain).toEqual([]); // the resume's approvals decide; the hook is not asked about decided calls
    expect(effects).toEqual(['toolu_A alpha', 'toolu_C gamma']);
    expect(toolResults(second.messages)).toEqual([
      [
        { type: 'tool_result', tool_use_id: 'toolu_A', content: 'did alpha' },
        { type: 'tool_result', tool_use_id: 'toolu_B', content: 'beta is not allowed', is_error: true },
        { type: 'tool_result', tool_use_id: 'toolu_C', content: 'did gamma' },
      ],
    ]);
    expect(second.toolCalls.map((c) => [c.id, c.approval?.decision, c.approval?.source, c.attempts])).toEqual([
      ['toolu_A', 'approved', 'hook', 1],
      ['toolu_B', 'denied', 'hook', 0],
      ['toolu_C', 'approved', 'resume', 1],
    ]);
    expect(second.awaitingApproval).toEqual([]);
  });

  it('a resume without approvals for a deferred call, and no hook decision, stops awaiting_approval again without running anything', async () => {
    const effects: string[] = [];
    const model = scriptedModel([BATCH, text('ok')]);
    const store = new MemoryCheckpointStore();
    await startRun({ params: PARAMS, messages: 'go', tools: [actTool(effects)], createStream: model.createStream, checkpoint: store, approveToolCall: () => ({ defer: true }) }).settled;
    expect(effects).toEqual([]);
    const again = await startResume(store.saved.at(-1)!, { tools: [actTool(effects)], createStream: model.createStream, checkpoint: new MemoryCheckpointStore(), approveToolCall: () => ({ defer: true }) }).settled;
    expect(again.status).toBe('awaiting_approval');
    expect(again.awaitingApproval.map((c) => c.id)).toEqual(['toolu_A', 'toolu_B', 'toolu_C']);
    expect(effects).toEqual([]);
    expect(model.requests).toHaveLength(1);
  });

  it('a hook that throws: approval_failed naming the call, nothing runs, no decision is journaled; resumable', async () => {
    const effects: string[] = [];
    const model = scriptedModel([BATCH, text('ok')]);
    const store = new MemoryCheckpointStore();
    const result = await startRun({
      params: PARAMS,
      messages: 'go',
      tools: [actTool(effects)],
      createStream: model.createStream,
      checkpoint: store,
      approveToolCall: (call) => {
        if (call.id === 'toolu_B') throw new Error('approval service down');
        return { approve: true };
      },
    }).settled;
    expect(result.status).toBe('failed');
    expect(result.error).toBeInstanceOf(ControllerError);
    expect(result.error?.code).toBe('approval_failed');
    expect(result.error?.toolUseId).toBe('toolu_B');
    expect(result.error?.message).toContain('approval service down');
    expect(effects).toEqual([]);
    expect(store.saved.every((c) => c.state.toolCalls.every((t) => t.approval === undefined && t.status === 'pending'))).toBe(true);
    expect(result.state.phase).toBe('running_tools');
    const resumed = await startResume(store.saved.at(-1)!, { tools: [actTool(effects)], createStream: model.createStream, checkpoint: new MemoryCheckpointStore(), approveToolCall: () => ({ approve: true }) }).settled;
    expect(resumed.status).toBe('completed');
    expect(effects.sort()).toEqual(['toolu_A alpha', 'toolu_B beta', 'toolu_C gamma']);
  });

  it.each([
    ['undefined', undefined],
    ['a string', 'yes'],
    ['approve: false', { approve: false }],
    ['an empty deny message', { deny: '  ' }],
    ['two answers at once', { approve: true, deny: 'x' }],
  ])('a hook that returns %s: approval_failed, nothing runs', async (_name, returned) => {
    const effects: string[] = [];
    const result = await startRun({
      params: PARAMS,
      messages: 'go',
      tools: [actTool(effects)],
      createStream: scriptedModel([BATCH]).createStream,
      checkpoint: new MemoryCheckpointStore(),
      approveToolCall: (() => returned) as unknown as ApproveToolCall,
    }).settled;
    expect(result.error?.code).toBe('approval_failed');
    expect(result.error?.message).toMatch(/must return \{ approve: true \}, \{ deny: 'a message' \} or \{ defer: true \}/);
    expect(effects).toEqual([]);
  });

  it('an abort while the hook waits for a person: aborted, nothing journaled or run', async () => {
    const effects: string[] = [];
    const controller = new AbortController();
    const store = new MemoryCheckpointStore();
    const result = await startRun({
      params: PARAMS,
      messages: 'go',
      tools: [actTool(effects)],
      createStream: scriptedModel([BATCH]).createStream,
      checkpoint: store,
      signal: controller.signal,
      approveToolCall: (call) => {
        setTimeout(() => controller.abort(), 10);
        return new Promise<ApprovalDecision>((resolve) => call.signal.addEventListener('abort', () => setTimeout(() => resolve({ approve: true }), 5)));
      },
    }).settled;
    expect(result.error?.code).toBe('aborted');
    expect(effects).toEqual([]);
    expect(store.saved.at(-1)!.state.toolCalls.map((t) => [t.status, t.approval])).toEqual([
      ['pending', undefined],
      ['pending', undefined],
      ['pending', undefined],
    ]);
  });
});

describe('resume with approvals', () => {
  async function deferredCheckpoint(): Promise<Checkpoint> {
    const store = new MemoryCheckpointStore();
    const hook = byId({ toolu_A: { approve: true }, toolu_B: { deny: 'no beta' }, toolu_C: { defer: true } });
    await startRun({ params: PARAMS, messages: 'go', tools: [actTool([])], createStream: scriptedModel([BATCH]).createStream, checkpoint: store, approveToolCall: hook }).settled;
    return store.saved.at(-1)!;
  }
  const resumeWith = (checkpoint: Checkpoint, approvals: Record<string, unknown>) => () =>
    startResume(checkpoint, { tools: [actTool([])], checkpoint: false, approveToolCall: () => ({ defer: true }), approvals: approvals as never });

  it('a decision for an unknown id is a typed error naming it (and the calls that await one), before anything runs', async () => {
    const checkpoint = await deferredCheckpoint();
    let error: unknown;
    try {
      resumeWith(checkpoint, { toolu_Nope: { approve: true } })();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ControllerError);
    expect((error as ControllerError).code).toBe('invalid_approval');
    expect((error as ControllerError).toolUseId).toBe('toolu_Nope');
    expect((error as ControllerError).message).toBe("approvals names toolu_Nope, which is not a tool call awaiting approval (awaiting: toolu_C ('act'))");
    await expect(resume(checkpoint, { tools: [actTool([])], checkpoint: false, approveToolCall: () => ({ defer: true }), approvals: { toolu_Nope: { approve: true } } })).rejects.toMatchObject({
      code: 'invalid_approval',
    });
  });

  it('a decision that contradicts the journal, or is not a decision, is invalid_approval; repeating the journaled one is accepted', () => {
    return deferredCheckpoint().then((checkpoint) => {
      expect(resumeWith(checkpoint, { toolu_A: { deny: 'changed my mind' } })).toThrow(/approvals\['toolu_A'\] contradicts the decision already journaled for it \(approved\)/);
      expect(resumeWith(checkpoint, { toolu_B: { approve: true } })).toThrow(/contradicts the decision already journaled for it \(denied: no beta\)/);
      expect(resumeWith(checkpoint, { toolu_C: { defer: true } })).toThrow(/approvals\['toolu_C'\] is \{"defer":true\}; give \{ approve: true \} or \{ deny: 'a message for the model' \}/);
      expect(resumeWith(checkpoint, { toolu_C: { deny: '' } })).toThrow(/approvals\['toolu_C'\] is \{"deny":""\}; give/);
      // a resume repeated after a crash gives the same answers again: fine
      expect(() => resumeWith(checkpoint, { toolu_A: { approve: true }, toolu_B: { deny: 'no beta' }, toolu_C: { approve: true } })().abort()).not.toThrow();
    });
  });

  it('a run started with a hook cannot be resumed without one (later calls would run unasked)', async () => {
    const checkpoint = await deferredCheckpoint();
    expect(checkpoint.state.settings.requiresApproval).toBe(true);
    expect(() => startResume(checkpoint, { tools: [actTool([])], checkpoint: false, approvals: { toolu_C: { approve: true } } })).toThrow(TypeError);
    expect(() => startResume(checkpoint, { tools: [actTool([])], checkpoint: false, approvals: { toolu_C: { approve: true } } })).toThrow(/resume needs `approveToolCall`/);
  });

  it('a hook that is not a function is invalid_options', () => {
    expect(() => startRun({ params: PARAMS, messages: 'go', checkpoint: false, approveToolCall: 'yes' as never })).toThrow(/approveToolCall must be a function, got string/);
  });
});

describe('approvals through toolRunner', () => {
  it('the runner passes the hook on: a denied call is answered, a deferred one ends the iteration awaiting approval', async () => {
    const effects: string[] = [];
    const model = scriptedModel([
      toolUse([{ id: 'toolu_R1', name: 'act', input: { what: 'one' } }]),
      toolUse([{ id: 'toolu_R2', name: 'act', input: { what: 'two' } }]),
    ]);
    const runner = toolRunner({
      params: PARAMS,
      messages: 'go',
      tools: [actTool(effects)],
      createStream: model.createStream,
      checkpoint: false,
      approveToolCall: (call) => (call.id === 'toolu_R1' ? { deny: 'not one' } : { defer: true }),
    });
    const seen: string[] = [];
    for await (const message of runner) {
      seen.push(message.stop_reason!);
      const response = await runner.generateToolResponse();
      seen.push(JSON.stringify(response?.content ?? null));
    }
    expect(seen).toEqual(['tool_use', JSON.stringify([{ type: 'tool_result', tool_use_id: 'toolu_R1', content: 'not one', is_error: true }]), 'tool_use', 'null']);
    const settled = await runner.handle!.settled;
    expect(settled.status).toBe('awaiting_approval');
    expect(settled.awaitingApproval).toEqual([{ id: 'toolu_R2', name: 'act', input: { what: 'two' } }]);
    expect(effects).toEqual([]);
  });
});
