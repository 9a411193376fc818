/**
 * A property over random approve / deny / defer mixes: random batches of
 * calls, each call answered after random deferrals — by the hook, or by a
 * person through a resume's `approvals` — over as many stops and resumes as
 * that takes. At the end: each approved call ran exactly once, no denied call
 * ran, and every batch was answered by ONE user message holding all of its
 * results in tool_use order (the deny message as an is_error result), sent
 * only once nothing of the batch waited. Broken controllers must be caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { continuationMachine, MemoryCheckpointStore, startResume, startRun, type ApprovalDecision, type ContinuationMachine, type ResumeApproval, type RunnableTool, type RunResult } from '../../src/controller/index.js';
import { scriptedModel, type ScriptedReply } from '../../src/testing/index.js';

type Final = { kind: 'approve' } | { kind: 'deny'; message: string };
interface CallPlan {
  /** How many times the call is deferred before its final answer. */
  defers: number;
  final: Final;
  /** Who gives the final answer: the hook, or the person through a resume. */
  via: 'hook' | 'resume';
}
type Scenario = CallPlan[][];

const callArb: fc.Arbitrary<CallPlan> = fc.record({
  defers: fc.integer({ min: 0, max: 2 }),
  final: fc.oneof(fc.constant<Final>({ kind: 'approve' }), fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== '').map<Final>((message) => ({ kind: 'deny', message }))),
  via: fc.constantFrom('hook' as const, 'resume' as const),
});
const scenarioArb: fc.Arbitrary<Scenario> = fc.array(fc.array(callArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 });

const idOf = (batch: number, call: number) => `toolu_b${batch}c${call}`;

interface Outcome {
  result: RunResult;
  effects: string[];
  requests: { messages: BetaMessageParam[] }[];
  lives: number;
}

async function runScenario(scenario: Scenario, machine?: ContinuationMachine): Promise<Outcome> {
  const script: ScriptedReply[] = [
    ...scenario.map((batch, b) => ({
      content: batch.map((_, c) => ({ type: 'tool_use' as const, id: idOf(b, c), name: 'act', input: { b, c } })),
      stopReason: 'tool_use',
    })),
    { content: [{ type: 'text', text: 'finished' }], stopReason: 'end_turn' },
  ];
  const model = scriptedModel(script);
  const effects: string[] = [];
  const tool: RunnableTool = { name: 'act', input_schema: { type: 'object' }, run: (_input: unknown, context) => (effects.push(context!.toolUse.id), `did ${context!.toolUse.id}`) };
  const plans = new Map(scenario.flatMap((batch, b) => batch.map((plan, c): [string, CallPlan & { asked: number }] => [idOf(b, c), { ...plan, asked: 0 }])));
  const answer = (final: Final): ApprovalDecision & ResumeApproval => (final.kind === 'approve' ? { approve: true } : { deny: final.message });
  const hook = (call: { id: string }): ApprovalDecision => {
    const plan = plans.get(call.id)!;
    if (plan.asked < plan.defers) {
      plan.asked += 1;
      return { defer: true };
    }
    return plan.via === 'hook' ? answer(plan.final) : { defer: true };
  };
  const common = { tools: [tool], createStream: model.createStream, approveToolCall: hook, ...(machine ? { machine } : {}) };
  let store = new MemoryCheckpointStore();
  let result = await startRun({ ...common, params: { model: 'claude-test', max_tokens: 100 }, messages: 'go', checkpoint: store }).settled;
  let lives = 1;
  while (result.status === 'awaiting_approval' && lives < 30) {
    // the person answers the deferred calls whose answer is theirs to give, and whose deferrals are used up
    const approvals: Record<string, ResumeApproval> = {};
    for (const { id } of result.awaitingApproval) {
      const plan = plans.get(id)!;
      if (plan.via === 'resume' && plan.asked >= plan.defers) approvals[id] = answer(plan.final);
    }
    const checkpoint = store.saved.at(-1)!;
    store = new MemoryCheckpointStore();
    result = await startResume(checkpoint, { ...common, checkpoint: store, approvals }).settled;
    lives += 1;
  }
  return { result, effects, requests: model.requests, lives };
}

function checkInvariants(scenario: Scenario, { result, effects, requests }: Outcome): void {
  expect(result.status).toBe('completed');
  // exactly once: every approved call once, no denied call
  const approved = scenario.flatMap((batch, b) => batch.flatMap((plan, c) => (plan.final.kind === 'approve' ? [idOf(b, c)] : [])));
  expect([...effects].sort()).toEqual([...approved].sort());
  // one user message per batch, all of its results in tool_use order, each as decided
  const answers = result.messages.filter((m) => m.role === 'user' && Array.isArray(m.content));
  expect(answers).toHaveLength(scenario.length);
  scenario.forEach((batch, b) => {
    expect(answers[b]!.content).toEqual(
      batch.map((plan, c) =>
        plan.final.kind === 'approve'
          ? { type: 'tool_result', tool_use_id: idOf(b, c), content: `did ${idOf(b, c)}` }
          : { type: 'tool_result', tool_use_id: idOf(b, c), content: plan.final.message, is_error: true },
      ),
    );
  });
  // the model heard of a batch once, when it was whole: one request per batch, plus the first
  expect(requests).toHaveLength(scenario.length + 1);
  requests.slice(1).forEach((request, b) => expect(request.messages.at(-1)).toEqual(answers[b]));
}

describe('approval properties', () => {
  it('hold for random approve / deny / defer mixes over any number of resumes', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        checkInvariants(scenario, await runScenario(scenario));
      }),
      { numRuns: 120 },
    );
  });

  it('the scenarios do stop and resume: some need several lives', async () => {
    const outcome = await runScenario([[{ defers: 2, final: { kind: 'approve' }, via: 'resume' }, { defers: 0, final: { kind: 'deny', message: 'no' }, via: 'hook' }]]);
    expect(outcome.lives).toBe(3); // deferred by the hook in life 1 and again in life 2; the person approves on the resume that is life 3
    checkInvariants([[{ defers: 2, final: { kind: 'approve' }, via: 'resume' }, { defers: 0, final: { kind: 'deny', message: 'no' }, via: 'hook' }]], outcome);
  });

  it('catch a broken controller that never asks (denied calls run)', async () => {
    const broken = continuationMachine.provide({ guards: { batchAwaitsApproval: () => false } });
    const outcome = await fc.check(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        checkInvariants(scenario, await runScenario(scenario, broken));
      }),
      { numRuns: 200 },
    );
    expect(outcome.failed).toBe(true);
  });

  it('catch a broken controller that answers a batch before its deferred calls are decided', async () => {
    const broken = continuationMachine.provide({ guards: { batchHasDeferredCalls: () => false } });
    const outcome = await fc.check(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        checkInvariants(scenario, await runScenario(scenario, broken));
      }),
      { numRuns: 200 },
    );
    expect(outcome.failed).toBe(true);
  });

  it('catch a broken controller that forgets the decisions it journaled (runs what was denied)', async () => {
    const broken = continuationMachine.provide({ actions: { recordApprovals: () => {} } });
    const outcome = await fc.check(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        checkInvariants(scenario, await runScenario(scenario, broken));
      }),
      { numRuns: 200 },
    );
    expect(outcome.failed).toBe(true);
  });
});
