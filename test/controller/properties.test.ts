/**
 * Model-based tests: a scripted model answers with random sequences of stop
 * reasons, tool calls and mid-stream failures; random tools succeed, throw,
 * time out or do not exist; random budgets apply. After every run the
 * controller's transcript, requests, usage and status must satisfy the
 * invariants below — and a deliberately broken controller must not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BetaContentBlockParam, BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { assign } from 'xstate';
import { continuationMachine, ControllerError, startRun, sumUsage, totalTokens, type RunnableTool, type RunResult } from '../../src/controller/index.js';
import { closeToolBatch } from '../../src/controller/steps.js';
import type { ToolCallRecord } from '../../src/controller/types.js';
import { scriptedModel, type MessageSpec, type ScriptedReply } from '../../src/testing/index.js';

type Step =
  | { kind: 'tool_use'; calls: { name: string; input: { v: number } }[]; lead: boolean; dupId: boolean }
  | { kind: 'pause_turn' | 'compaction' | 'max_tokens' | 'end_turn' | 'stop_sequence' | 'refusal' | 'model_context_window_exceeded' | 'mystery' };

interface Scenario {
  steps: { failures: ('overloaded_error' | 'api_error' | 'dropped')[]; step: Step; usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens: number } }[];
  policy: 'stop' | 'continue' | 'raise';
  maxContinuations: number | undefined;
  maxToolCalls: number | undefined;
  maxTotalTokens: number | undefined;
  stuckLoopThreshold: number;
  maxRetries: number;
}

const toolNames = ['ok', 'throws', 'slow', 'timeout', 'missing'];

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('tool_use' as const), calls: fc.array(fc.record({ name: fc.constantFrom(...toolNames), input: fc.record({ v: fc.integer({ min: 0, max: 2 }) }) }), { minLength: 1, maxLength: 3 }), lead: fc.boolean(), dupId: fc.nat(9).map((n) => n === 0) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'pause_turn' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compaction' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'max_tokens' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'end_turn' as const }) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'stop_sequence' as const }, { kind: 'refusal' as const }, { kind: 'model_context_window_exceeded' as const }, { kind: 'mystery' as const }) },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  steps: fc.array(
    fc.record({
      failures: fc.array(fc.constantFrom('overloaded_error' as const, 'api_error' as const, 'dropped' as const), { maxLength: 2 }),
      step: stepArb,
      usage: fc.record({ input_tokens: fc.integer({ min: 0, max: 500 }), output_tokens: fc.integer({ min: 0, max: 200 }), cache_read_input_tokens: fc.integer({ min: 0, max: 100 }) }),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  policy: fc.constantFrom('stop' as const, 'continue' as const, 'raise' as const),
  maxContinuations: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  maxToolCalls: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
  maxTotalTokens: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
  stuckLoopThreshold: fc.integer({ min: 0, max: 3 }),
  maxRetries: fc.integer({ min: 0, max: 2 }),
});

const tools: RunnableTool[] = [
  { name: 'ok', run: (input: { v: number }) => `ok ${input.v}` },
  { name: 'throws', run: () => { throw new Error('tool failure'); } },
  { name: 'slow', run: () => new Promise((resolve) => setTimeout(() => resolve('slow done'), 1)) },
  { name: 'timeout', timeoutMs: 3, run: (_input: unknown, ctx) => new Promise((resolve) => ctx?.signal?.addEventListener('abort', () => resolve('never seen'))) },
];

/** The scenario as replies: each step preceded by its failures. Ids are unique unless a step asks for a duplicate. */
function replies(scenario: Scenario): { reply: ScriptedReply; step: Step | null; usage: Scenario['steps'][number]['usage'] | null }[] {
  const out: { reply: ScriptedReply; step: Step | null; usage: Scenario['steps'][number]['usage'] | null }[] = [];
  let id = 0;
  scenario.steps.forEach(({ failures, step, usage }, s) => {
    for (const fail of failures) out.push({ reply: { fail, after: 2 + (s % 3) }, step: null, usage: null });
    let spec: MessageSpec;
    switch (step.kind) {
      case 'tool_use':
        spec = {
          content: [
            ...(step.lead ? [{ type: 'text' as const, text: `step ${s}` }] : []),
            ...step.calls.map((call, i) => ({ type: 'tool_use' as const, id: step.dupId && i === 0 && id > 0 ? `toolu_${id - 1}` : `toolu_${id++}`, name: call.name, input: call.input })),
          ],
          stopReason: 'tool_use',
          usage,
        };
        break;
      case 'pause_turn':
        spec = { content: [{ type: 'server_tool_use', id: `srvtoolu_${s}`, name: 'web_search', input: { q: s } }], stopReason: 'pause_turn', usage: { ...usage, server_tool_use: { web_search_requests: 1 } } };
        break;
      case 'compaction':
        spec = { content: [{ type: 'whole', block: { type: 'compaction', content: `summary ${s}` } }], stopReason: 'compaction', usage };
        break;
      case 'max_tokens':
        spec = { content: [{ type: 'text', text: `partial ${s} ` }], stopReason: 'max_tokens', usage };
        break;
      case 'mystery':
        spec = { content: [{ type: 'text', text: 'hm' }], stopReason: 'mystery_reason', usage };
        break;
      case 'stop_sequence':
        spec = { content: [{ type: 'text', text: 'code' }], stopReason: 'stop_sequence', stopSequence: '```', usage };
        break;
      case 'refusal':
        spec = { content: [], stopReason: 'refusal', stopDetails: { type: 'refusal', category: null, explanation: null }, usage };
        break;
      default:
        spec = { content: [{ type: 'text', text: `final ${s}` }], stopReason: step.kind, usage };
    }
    out.push({ reply: spec, step, usage });
  });
  return out;
}

const blocks = (m: BetaMessageParam): BetaContentBlockParam[] => (typeof m.content === 'string' ? [] : (m.content as BetaContentBlockParam[]));
const toolUseIds = (m: BetaMessageParam) => blocks(m).filter((b) => b.type === 'tool_use').map((b) => (b as { id: string }).id);
const toolResultIds = (m: BetaMessageParam) => blocks(m).filter((b) => b.type === 'tool_result').map((b) => (b as { tool_use_id: string }).tool_use_id);

/** Every tool_use is answered by exactly one tool_result, with its id, in the next user message, in order. */
function checkPairing(messages: BetaMessageParam[], allowUnansweredLast: boolean): void {
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') {
      if (i > 0 && toolResultIds(m).length > 0) expect(toolResultIds(m)).toEqual(toolUseIds(messages[i - 1]!));
      return;
    }
    const ids = toolUseIds(m);
    if (ids.length === 0) return;
    const next = messages[i + 1];
    if (next === undefined) {
      expect(allowUnansweredLast).toBe(true);
      return;
    }
    expect(next.role).toBe('user');
    expect(toolResultIds(next)).toEqual(ids);
    expect(blocks(next).every((b) => b.type === 'tool_result')).toBe(true);
  });
}

const STATUS_FOR: Record<string, string> = {
  end_turn: 'completed',
  stop_sequence: 'stopped',
  refusal: 'refused',
  max_tokens: 'incomplete',
  model_context_window_exceeded: 'incomplete',
};

async function runScenario(scenario: Scenario, machine = continuationMachine) {
  const served = replies(scenario);
  const servedLog: (typeof served)[number][] = [];
  const model = scriptedModel((_request, index) => {
    const item = served[index] ?? { reply: { content: [{ type: 'text', text: 'the end' }], stopReason: 'end_turn' } as MessageSpec, step: { kind: 'end_turn' as const }, usage: { input_tokens: 25, output_tokens: 10, cache_read_input_tokens: 0 } };
    servedLog.push(item);
    return item.reply;
  });
  const result: RunResult = await startRun({
    params: { model: 'm', max_tokens: 100 },
    messages: 'go',
    tools,
    createStream: model.createStream,
    checkpoint: false,
    machine,
    maxTokensPolicy: scenario.policy,
    maxTokensCeiling: 400,
    stuckLoopThreshold: scenario.stuckLoopThreshold,
    budgets: { maxContinuations: scenario.maxContinuations, maxToolCalls: scenario.maxToolCalls, maxTotalTokens: scenario.maxTotalTokens },
    retry: { maxRetries: scenario.maxRetries, baseDelayMs: 0, maxDelayMs: 0 },
  }).settled;
  return { result, requests: model.requests, servedLog };
}

function checkInvariants(scenario: Scenario, { result, requests, servedLog }: Awaited<ReturnType<typeof runScenario>>): void {
  const finalStop = result.segments.at(-1)?.stopReason ?? null;
  const ended = ['completed', 'stopped', 'refused', 'incomplete'].includes(result.status);

  // 1. tool_use ↔ tool_result pairing, in the transcript and in every request sent
  checkPairing(result.messages, !ended);
  for (const request of requests) checkPairing(request.messages, false);

  // 2. the loop never exits on tool_use or pause_turn: a normal end matches its stop reason
  if (ended) {
    expect(finalStop).not.toBeNull();
    expect(STATUS_FOR[finalStop!]).toBe(result.status);
  } else {
    expect(result.error).toBeInstanceOf(ControllerError);
  }
  if (result.error?.code === 'unknown_stop_reason') expect(finalStop).toBe('mystery_reason');

  // 3. budgets: never exceeded, and a stop for a budget is the typed error
  const continuations = result.segments.length - 1;
  if (scenario.maxContinuations !== undefined) expect(continuations).toBeLessThanOrEqual(scenario.maxContinuations);
  const ran = result.toolCalls.filter((c) => c.attempts > 0).length;
  if (scenario.maxToolCalls !== undefined) expect(ran).toBeLessThanOrEqual(scenario.maxToolCalls);
  if (scenario.maxTotalTokens !== undefined) {
    for (let k = 1; k < result.segments.length; k++) expect(totalTokens(sumUsage(result.segments.slice(0, k).map((s) => s.usage)))).toBeLessThan(scenario.maxTotalTokens);
  }
  if (result.status === 'budget_exceeded') {
    expect(result.error?.code).toBe('budget_exceeded');
    expect(['continuations', 'tool_calls', 'tokens']).toContain(result.error?.budget);
    expect(result.error?.messages).toEqual(result.messages);
    expect(result.error?.usage).toEqual(result.usage);
  }

  // 4. usage is the sum of the segments, which is the sum of what the model served successfully
  expect(result.usage).toEqual(sumUsage(result.segments.map((s) => s.usage)));
  const servedOk = servedLog.filter((s) => s.step !== null);
  expect(result.usage.output_tokens).toBe(servedOk.slice(0, result.segments.length).reduce((n, s) => n + (s.usage?.output_tokens ?? 0), 0));

  // 5. every request is a segment or a retry; none follows a refusal
  expect(requests.length).toBe(result.segments.length + result.retries.length + (result.error?.code === 'retries_exhausted' ? 1 : 0));
  const refusal = servedLog.findIndex((s) => s.step?.kind === 'refusal');
  if (refusal !== -1) expect(requests.length).toBe(refusal + 1);
  expect(result.retries.every((r) => r.attempt <= scenario.maxRetries)).toBe(true);
}

describe('model-based properties', () => {
  it('hold for random scripts of stop reasons, tool calls, failures and budgets', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        checkInvariants(scenario, await runScenario(scenario));
      }),
      { numRuns: 250 },
    );
  });

  it('catch a broken controller that answers tool calls out of order', async () => {
    const broken = continuationMachine.provide({
      actions: {
        appendToolResults: assign(({ context, event }) => ({
          state: closeToolBatch(context.state, [...(event as unknown as { output: ToolCallRecord[] }).output].reverse()),
        })),
      },
    });
    const outcome = await fc.check(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        checkInvariants(scenario, await runScenario(scenario, broken));
      }),
      { numRuns: 500 },
    );
    expect(outcome.failed).toBe(true);
    expect(String(outcome.errorInstance)).toMatch(/expected/i);
  });

  it('catch a broken controller that stops on pause_turn', async () => {
    const broken = continuationMachine.provide({
      guards: { stoppedOnPauseTurn: () => false, stoppedOnEndTurn: ({ context }) => ['end_turn', 'pause_turn'].includes(context.received?.message.stop_reason ?? '') },
    });
    const outcome = await fc.check(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        checkInvariants(scenario, await runScenario(scenario, broken));
      }),
      { numRuns: 500 },
    );
    expect(outcome.failed).toBe(true);
  });
});
