/**
 * The table driver (src/controller/drive.ts) against XState's own actor: the
 * same machine, the same scripted surroundings, random runs. Each run's whole
 * trace — every call into `env` with what it was given, every note, every
 * state the machine reached, the final status, reason and error — must be the
 * same both ways. A driver with one deliberate fault must be caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, type InspectionEvent } from 'xstate';
import type { BetaMessage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { continuationMachine, continuationStateName, type ContinuationContext, type ContinuationEnv } from '../../machines/continuation.machine.js';
import { ControllerError, initialRunState, SegmentFailure, type RunnableTool, type RunResult } from '../../src/controller/index.js';
import { continuationTable, drive, type ContinuationTable, type StepState, type StepTransition } from '../../src/controller/drive.js';
import { ToolBatchInterrupted } from '../../src/controller/tools.js';
import type { ToolCallRecord } from '../../src/controller/types.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, text, toolUse } from './helpers.js';
import { startRun } from '../../src/controller/controller.js';

type Reply =
  | { kind: 'message'; stop: string; tools: number }
  | { kind: 'fail'; code: 'incomplete_stream' | 'api_error' | 'request_failed' | 'aborted' };
type ToolOutcome = 'done' | 'deferred' | 'interrupted' | 'needs_decision';

interface Script {
  replies: Reply[];
  tools: ToolOutcome[];
  saves: boolean[];
  sleeps: boolean[];
  approvals: boolean[];
  deadline: boolean[];
  policy: 'stop' | 'continue' | 'raise';
  maxRequests: number | null;
  maxToolCalls: number | null;
  stuckLoopThreshold: number;
  maxRetries: number;
}

const replyArb: fc.Arbitrary<Reply> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('message' as const), stop: fc.constantFrom('end_turn', 'tool_use', 'tool_use', 'pause_turn', 'compaction', 'max_tokens', 'stop_sequence', 'refusal', 'model_context_window_exceeded', 'mystery'), tools: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fail' as const), code: fc.constantFrom('incomplete_stream' as const, 'api_error' as const, 'request_failed' as const, 'aborted' as const) }) },
);

const scriptArb: fc.Arbitrary<Script> = fc.record({
  replies: fc.array(replyArb, { minLength: 1, maxLength: 12 }),
  tools: fc.array(fc.constantFrom<ToolOutcome>('done', 'done', 'done', 'deferred', 'interrupted', 'needs_decision'), { maxLength: 8 }),
  saves: fc.array(fc.nat(9).map((n) => n !== 0), { maxLength: 16 }),
  sleeps: fc.array(fc.boolean(), { maxLength: 6 }),
  approvals: fc.array(fc.boolean(), { maxLength: 6 }),
  deadline: fc.array(fc.nat(9).map((n) => n === 0), { maxLength: 12 }),
  policy: fc.constantFrom('stop' as const, 'continue' as const, 'raise' as const),
  maxRequests: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
  maxToolCalls: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
  stuckLoopThreshold: fc.integer({ min: 0, max: 3 }),
  maxRetries: fc.integer({ min: 0, max: 2 }),
});

const tools: RunnableTool[] = [echoTool('a'), echoTool('b')];

/** A message as the parser would hand it over. */
function message(reply: Extract<Reply, { kind: 'message' }>, n: number): BetaMessage {
  const content: unknown[] = [{ type: 'text', text: `reply ${n}`, citations: null }];
  for (let i = 0; i < (reply.stop === 'tool_use' ? Math.max(1, reply.tools) : 0); i++) {
    // Repeated names and inputs (so the stuck-loop check has something to find), ids unique but for a rare repeat.
    content.push({ type: 'tool_use', id: n % 5 === 4 && i === 0 ? `toolu_0_0` : `toolu_${n}_${i}`, name: i % 2 ? 'b' : 'a', input: { v: n % 2 } });
  }
  return {
    id: `msg_${n}`,
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    content,
    stop_reason: reply.stop,
    stop_sequence: reply.stop === 'stop_sequence' ? '###' : null,
    usage: { input_tokens: 3, output_tokens: 2 },
  } as unknown as BetaMessage;
}

/** The surroundings, scripted: each side effect takes the next outcome of its queue; every call is logged. */
function scriptedEnv(script: Script, log: unknown[]): ContinuationEnv {
  const at = { reply: 0, tool: 0, save: 0, sleep: 0, approval: 0, deadline: 0 };
  const next = <T,>(xs: readonly T[], key: keyof typeof at, fallback: T): T => xs[at[key]++] ?? fallback;
  let aborted: 'deadline' | null = null;
  return {
    saveCheckpoint: async (state) => {
      log.push(['save', state.phase, state.segments.length, state.toolCalls.length]);
      if (!next(script.saves, 'save', true)) throw new Error('disk full');
    },
    requestModel: async (input) => {
      log.push(['request', input.state.segments.length, input.attempt, input.state.nextRequest, input.state.maxTokens]);
      const n = at.reply;
      const reply = next<Reply>(script.replies, 'reply', { kind: 'message', stop: 'end_turn', tools: 0 });
      if (next(script.deadline, 'deadline', false)) aborted = 'deadline';
      if (reply.kind === 'message') return { message: message(reply, n), dropped: [], requestId: `req_${n}`, startedAt: 0, durationMs: 1 };
      if (reply.code === 'aborted') throw new SegmentFailure('aborted', 'aborted', 'aborted');
      if (reply.code === 'request_failed') throw new SegmentFailure('request', 'request_failed', 'HTTP 500');
      throw new SegmentFailure('stream', reply.code, reply.code, reply.code === 'api_error' ? { apiErrorType: 'overloaded_error' } : {});
    },
    runTools: async (input) => {
      log.push(['tools', input.calls.map((c) => `${c.id}:${c.status}:${c.approval?.decision ?? '-'}`)]);
      const outcome = next<ToolOutcome>(script.tools, 'tool', 'done');
      const ran = input.calls.map((call): ToolCallRecord =>
        outcome === 'deferred' && call === input.calls[0] ? { ...call, approval: { decision: 'deferred', source: 'hook', at: 0 } as never } : { ...call, status: 'done', attempts: 1, result: { content: `r ${call.id}`, is_error: false }, durationMs: 1 },
      );
      if (outcome === 'interrupted') throw new ToolBatchInterrupted(new Error('tool runner broke'), ran.slice(0, 1));
      if (outcome === 'needs_decision') throw new ToolBatchInterrupted(new ControllerError('tool_needs_decision', 'decide'), []);
      return ran;
    },
    awaitsApproval: (call) => call.name === 'b' && call.approval === undefined,
    approveTools: async (input) => {
      log.push(['approve', input.calls.map((c) => c.id)]);
      if (!next(script.approvals, 'approval', true)) throw new Error('approval hook broke');
      return input.calls.map((call) => (call.name === 'b' ? { ...call, approval: { decision: 'approved', source: 'hook', at: 0 } as never } : call));
    },
    sleep: async (ms) => {
      log.push(['sleep', ms]);
      if (!next(script.sleeps, 'sleep', true)) throw new Error('sleep interrupted');
    },
    now: () => 1_000,
    random: () => 0.5,
    abortCause: () => aborted,
    notify: (note) => log.push(['note', note.type, note.type === 'budget' ? note.error.budget : note.type === 'continuation' ? note.kind : null]),
  };
}

const outcome = (context: Pick<ContinuationContext, 'state' | 'error'>) => ({
  status: context.state.outcome?.status ?? null,
  reason: context.state.outcome?.reason ?? null,
  error: context.error?.code ?? null,
  messages: context.state.messages.length,
  toolCalls: context.state.toolCalls.map((c) => `${c.id}:${c.status}`),
  segments: context.state.segments.length,
  retries: context.state.retries.length,
  phase: context.state.phase,
});

function initial(script: Script) {
  return initialRunState(
    {
      params: { model: 'claude-test', max_tokens: 100 },
      messages: 'go',
      tools,
      maxTokensPolicy: script.policy,
      maxTokensCeiling: 400,
      stuckLoopThreshold: script.stuckLoopThreshold,
      retry: { maxRetries: script.maxRetries, baseDelayMs: 1, maxDelayMs: 4 },
      budgets: { ...(script.maxRequests === null ? {} : { maxRequests: script.maxRequests }), ...(script.maxToolCalls === null ? {} : { maxToolCalls: script.maxToolCalls }) },
    },
    1_000,
  );
}

/** The run under XState's actor: the log, the states its root visited, the outcome. */
function viaActor(script: Script): Promise<unknown[]> {
  const log: unknown[] = [];
  const env = scriptedEnv(script, log);
  return new Promise((resolve) => {
    let last = 'starting';
    const inspect = (event: InspectionEvent) => {
      if (event.type !== '@xstate.microstep' || event.actorRef.sessionId !== event.rootId) return;
      const name = continuationStateName((event.snapshot as { value?: unknown }).value);
      if (name !== last) log.push(['state', (last = name)]);
    };
    const actor = createActor(continuationMachine, { input: { state: initial(script), env }, inspect });
    actor.subscribe({
      complete: () => resolve([...log, ['end', outcome(actor.getSnapshot().context)]]),
      error: (cause) => resolve([...log, ['crash', String(cause)]]),
    });
    actor.start();
  });
}

/** The same run under the driver, with `table` (the machine's own unless a test breaks one). */
function viaDriver(script: Script, table: ContinuationTable): Promise<unknown[]> {
  const log: unknown[] = [];
  const env = scriptedEnv(script, log);
  return new Promise((resolve) => {
    let last = 'starting';
    drive(table, { state: initial(script), env }, {
      onState: (name) => {
        if (name !== last) log.push(['state', (last = name)]);
      },
      onDone: (context) => resolve([...log, ['end', outcome(context)]]),
      onError: (cause) => resolve([...log, ['crash', String(cause)]]),
    });
  });
}

const table = continuationTable(continuationMachine)!;

/** Every state of a table, found through its transitions. */
function statesOf(t: ContinuationTable): StepState[] {
  const seen = new Set<StepState>();
  const visit = (tr: StepTransition) => tr.enter.forEach((s) => {
    if (seen.has(s)) return;
    seen.add(s);
    s.always.forEach(visit);
    s.invoke?.onDone.forEach(visit);
    s.invoke?.onError.forEach(visit);
  });
  visit(t.initial);
  return [...seen];
}

describe('the table driver and the XState actor', () => {
  it('the machine gets a table; every state of the definition is in it', () => {
    expect(table).not.toBeNull();
    const names = statesOf(table).map((s) => s.name).sort();
    expect(names).toEqual(
      ['approvingToolCalls', 'awaitingApproval', 'budgetExceeded', 'checkingToolCalls', 'completed', 'failed', 'incomplete', 'preparingRequest', 'refused', 'requesting',
        'requesting.backingOff', 'requesting.checkpointing', 'requesting.streaming', 'routingStopReason', 'runningTools', 'starting', 'stopped'].sort(),
    );
  });

  it('take the same steps on random runs: env calls, notes, states, outcome (property)', async () => {
    const reached = new Set<string>(['starting']);
    await fc.assert(
      fc.asyncProperty(scriptArb, async (script) => {
        const driven = await viaDriver(script, table);
        expect(driven).toEqual(await viaActor(script));
        for (const entry of driven) if ((entry as unknown[])[0] === 'state') reached.add((entry as string[])[1]!);
      }),
      { numRuns: 300 },
    );
    // The runs went everywhere: every leaf state of the machine was reached.
    expect([...reached].sort()).toEqual(statesOf(table).map((s) => s.name).filter((name) => name !== 'requesting').sort());
  });

  it('a driver that tries eventless transitions last-first is caught', async () => {
    // The fault: routingStopReason's candidates in reverse order (the default first) — a plausible slip in a hand-written loop.
    const broken: ContinuationTable = rebuild(table, (state) => (state.name === 'routingStopReason' ? { ...state, always: [...state.always].reverse() } : state));
    const found = await fc.check(fc.asyncProperty(scriptArb, async (script) => expect(await viaDriver(script, broken)).toEqual(await viaActor(script))), { numRuns: 300 });
    expect(found.failed).toBe(true);
  });

  it('a driver that skips entry actions is caught', async () => {
    const broken: ContinuationTable = rebuild(table, (state) => ({ ...state, entry: [] }));
    const found = await fc.check(fc.asyncProperty(scriptArb, async (script) => expect(await viaDriver(script, broken)).toEqual(await viaActor(script))), { numRuns: 100 });
    expect(found.failed).toBe(true);
  });

  it('a machine outside what the driver runs gets no table (the controller uses an actor)', () => {
    const delayed = continuationMachine.provide({ actors: { saveCheckpoint: continuationMachine.implementations.actors.runTools } as never });
    expect(continuationTable(delayed)).toBeNull();
    const provided = continuationMachine.provide({ guards: { batchAwaitsApproval: () => false } });
    expect(continuationTable(provided)).not.toBeNull();
  });
});

describe('the controller with and without XState inspection', () => {
  /** The events of a run, without times. */
  async function events(inspect: boolean): Promise<{ result: RunResult; events: unknown[] }> {
    const model = scriptedModel([toolUse([{ id: 'toolu_1', name: 'echo' }, { id: 'toolu_2', name: 'echo' }]), { fail: 'overloaded_error', after: 2 }, text('cut', 'max_tokens'), text('done')]);
    const seen: unknown[] = [];
    const handle = startRun({
      params: { model: 'claude-test', max_tokens: 100 },
      messages: 'hi',
      tools: [echoTool()],
      createStream: model.createStream,
      checkpoint: false,
      runId: 'run_same',
      maxTokensPolicy: 'continue',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      onEvent: (event) => {
        const { at: _at, durationMs: _d, requestId: _r, ...rest } = event as { at: number; durationMs?: number; requestId?: unknown };
        seen.push(rest);
      },
      ...(inspect ? { inspect: () => {} } : {}),
    });
    return { result: await handle.settled, events: seen };
  }

  it('gives the same events (states included) and the same result', async () => {
    const [driven, inspected] = [await events(false), await events(true)];
    expect(driven.result.status).toBe('completed');
    expect(driven.events).toEqual(inspected.events);
    expect(driven.events.filter((e) => (e as { type: string }).type === 'state').map((e) => (e as { state: string }).state)).toEqual([
      'starting', 'preparingRequest', 'requesting.checkpointing', 'requesting.streaming', 'routingStopReason', 'checkingToolCalls', 'runningTools',
      'preparingRequest', 'requesting.checkpointing', 'requesting.streaming', 'requesting.backingOff', 'requesting.checkpointing', 'requesting.streaming',
      'routingStopReason', 'preparingRequest', 'requesting.checkpointing', 'requesting.streaming', 'routingStopReason', 'completed',
    ]);
    // The scripted model numbers its message ids across runs.
    const ids = (value: unknown) => JSON.stringify(value).replace(/"msg_[A-Za-z0-9]+"/g, '"msg"');
    expect(ids(driven.result.messages)).toEqual(ids(inspected.result.messages));
  });
});

/** A copy of a table with `change` applied to every state (transitions rewired to the changed copies). */
function rebuild(t: ContinuationTable, change: (state: StepState) => StepState): ContinuationTable {
  const copies = new Map<StepState, StepState>();
  const fix = (tr: StepTransition): StepTransition => ({ ...tr, exit: tr.exit.map(copy), enter: tr.enter.map(copy) });
  const copy = (s: StepState): StepState => {
    let c = copies.get(s);
    if (c) return c;
    c = { ...change(s) };
    copies.set(s, c);
    const changed = c as { always: readonly StepTransition[]; invoke: StepState['invoke'] };
    changed.always = c.always.map(fix);
    if (c.invoke) changed.invoke = { ...c.invoke, onDone: c.invoke.onDone.map(fix), onError: c.invoke.onError.map(fix) };
    return c;
  };
  return { ...t, initial: fix(t.initial) };
}
