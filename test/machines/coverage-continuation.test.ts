/**
 * Coverage of the continuation machine: one scenario per way through it,
 * each a real controller run against a scripted model, each with its outcome
 * written by hand (status and error code: what the README promises). The
 * transitions every run takes are collected from XState's inspection; any
 * transition of the definition that no scenario takes fails the test, and the
 * coverage is printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { continuationMachine } from '../../machines/continuation.machine.js';
import { machineGraph, transitionIndexer, transitionLabel } from '../../src/diagram/index.js';
import { MemoryCheckpointStore, startResume, startRun, type RunOptions, type RunResult, type CheckpointStore } from '../../src/controller/index.js';
import { scriptedModel, type ScriptedReply } from '../../src/testing/index.js';
import { echoTool, text, toolUse } from '../controller/helpers.js';

const graph = machineGraph(continuationMachine);
const indexOf = transitionIndexer(continuationMachine);
const covered = new Map<number, string[]>();

/** A controller run whose machine transitions are recorded under `scenario`. */
async function run(scenario: string, script: ScriptedReply[], options: Partial<RunOptions> = {}, during?: (abort: () => void) => Partial<RunOptions>): Promise<{ result: RunResult; store: MemoryCheckpointStore }> {
  const model = scriptedModel(script);
  const store = new MemoryCheckpointStore();
  let handle: ReturnType<typeof startRun> | null = null;
  const extra = during ? during(() => handle?.abort()) : {};
  handle = startRun({
    params: { model: 'claude-test', max_tokens: 100 },
    messages: 'hello',
    createStream: model.createStream,
    checkpoint: store,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    inspect: recorder(scenario),
    ...options,
    ...extra,
  });
  return { result: await handle.settled, store };
}

function recorder(scenario: string) {
  return (event: InspectionEvent) => {
    if (event.type !== '@xstate.microstep' || event.actorRef.sessionId !== event.rootId) return;
    for (const t of event._transitions) {
      const i = indexOf(t);
      if (i !== null) covered.set(i, [...(covered.get(i) ?? []), scenario]);
    }
  };
}

const outcome = (result: RunResult) => ({ status: result.status, code: result.error?.code ?? null });
const failingStore: CheckpointStore = {
  acquire: async () => ({
    holder: { pid: process.pid, host: 'test', token: 't', acquiredAt: 0, expiresAt: Number.MAX_SAFE_INTEGER },
    tookOver: null,
    save: async () => Promise.reject(new Error('disk full')),
    release: async () => {},
  }),
  load: async () => null,
};
const slowTool = echoTool('slow', {
  run: (_input: unknown, context?: unknown) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve('late'), 10_000);
      (context as { signal?: AbortSignal } | undefined)?.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    }),
});

describe('continuation machine coverage', () => {
  afterAll(() => {
    process.stdout.write(`continuation machine: ${covered.size}/${graph.transitions.length} transitions taken by the scenarios\n`);
  });

  const cases: [string, () => Promise<{ result: RunResult }>, { status: string; code: string | null }][] = [
    ['end_turn', () => run('end_turn', [text('hi')]), { status: 'completed', code: null }],
    ['tool_use then end_turn', () => run('tool_use', [toolUse([{ id: 'toolu_a', name: 'echo' }]), text('done')], { tools: [echoTool()] }), { status: 'completed', code: null }],
    ['pause_turn', () => run('pause_turn', [text('wait', 'pause_turn'), text('done')]), { status: 'completed', code: null }],
    ['compaction', () => run('compaction', [text('summary', 'compaction'), text('done')]), { status: 'completed', code: null }],
    ['max_tokens, continue', () => run('max_tokens continue', [text('part', 'max_tokens'), text('rest')], { maxTokensPolicy: 'continue' }), { status: 'completed', code: null }],
    ['max_tokens, raise', () => run('max_tokens raise', [text('part', 'max_tokens'), text('all')], { maxTokensPolicy: 'raise' }), { status: 'completed', code: null }],
    ['max_tokens, stop', () => run('max_tokens stop', [text('part', 'max_tokens')]), { status: 'incomplete', code: null }],
    ['stop_sequence', () => run('stop_sequence', [text('x', 'stop_sequence', { stopSequence: 'END' })]), { status: 'stopped', code: null }],
    ['refusal', () => run('refusal', [text('no', 'refusal')]), { status: 'refused', code: null }],
    ['context window', () => run('context window', [text('x', 'model_context_window_exceeded')]), { status: 'incomplete', code: null }],
    ['unknown stop reason', () => run('unknown stop', [text('x', 'something_new')]), { status: 'failed', code: 'unknown_stop_reason' }],
    ['duplicate tool_use id', () => run('duplicate id', [toolUse([{ id: 'toolu_d', name: 'echo' }]), toolUse([{ id: 'toolu_d', name: 'echo' }])], { tools: [echoTool()] }), { status: 'failed', code: 'duplicate_tool_use_id' }],
    [
      'stuck loop',
      () => run('stuck loop', [1, 2, 3].map((n) => toolUse([{ id: `toolu_s${n}`, name: 'echo', input: { q: 1 } }])), { tools: [echoTool()] }),
      { status: 'failed', code: 'stuck_loop' },
    ],
    ['tool budget', () => run('tool budget', [toolUse([{ id: 'toolu_b', name: 'echo' }])], { tools: [echoTool()], budgets: { maxToolCalls: 0 } }), { status: 'budget_exceeded', code: 'budget_exceeded' }],
    ['request budget', () => run('request budget', [toolUse([{ id: 'toolu_r', name: 'echo' }])], { tools: [echoTool()], budgets: { maxContinuations: 0 } }), { status: 'budget_exceeded', code: 'budget_exceeded' }],
    ['checkpoint fails', () => run('checkpoint fails', [text('hi')], { checkpoint: failingStore }), { status: 'failed', code: 'checkpoint_failed' }],
    ['request fails', () => run('request fails', [{ throws: new Error('HTTP 500') }]), { status: 'failed', code: 'request_failed' }],
    ['retry, then success', () => run('retry', [{ fail: 'overloaded_error', after: 2 }, text('ok')]), { status: 'completed', code: null }],
    ['retries exhausted', () => run('retries exhausted', [{ fail: 'overloaded_error', after: 1 }], { retry: { maxRetries: 0 } }), { status: 'failed', code: 'retries_exhausted' }],
    ['deadline mid-stream', () => run('deadline stream', [{ hang: true }], { budgets: { deadlineMs: 150 } }), { status: 'budget_exceeded', code: 'budget_exceeded' }],
    [
      'deadline in backoff',
      () => run('deadline backoff', [{ fail: 'api_error', after: 1 }, text('ok')], { retry: { baseDelayMs: 5_000, maxDelayMs: 5_000 }, budgets: { deadlineMs: 300 } }),
      { status: 'budget_exceeded', code: 'budget_exceeded' },
    ],
    [
      'abort in backoff',
      () =>
        run('abort backoff', [{ fail: 'api_error', after: 1 }, text('ok')], { retry: { baseDelayMs: 5_000, maxDelayMs: 5_000 } }, (abort) => ({
          onEvent: (event) => void (event.type === 'retry' && setTimeout(abort, 20)),
        })),
      { status: 'failed', code: 'aborted' },
    ],
    ['deadline during tools', () => run('deadline tools', [toolUse([{ id: 'toolu_t', name: 'slow' }])], { tools: [slowTool], budgets: { deadlineMs: 300 } }), { status: 'budget_exceeded', code: 'budget_exceeded' }],
    [
      'abort during tools',
      () =>
        run('abort tools', [toolUse([{ id: 'toolu_u', name: 'slow' }])], { tools: [slowTool] }, (abort) => ({
          onEvent: (event) => void (event.type === 'tool_start' && setTimeout(abort, 20)),
        })),
      { status: 'failed', code: 'aborted' },
    ],
    [
      'approval: approved and run',
      () => run('approval approve', [toolUse([{ id: 'toolu_ap', name: 'echo' }]), text('done')], { tools: [echoTool()], approveToolCall: () => ({ approve: true }) }),
      { status: 'completed', code: null },
    ],
    [
      'approval: deferred',
      () => run('approval defer', [toolUse([{ id: 'toolu_df', name: 'echo' }])], { tools: [echoTool()], approveToolCall: () => ({ defer: true }) }),
      { status: 'awaiting_approval', code: null },
    ],
    [
      'approval: the hook throws',
      () =>
        run('approval throws', [toolUse([{ id: 'toolu_th', name: 'echo' }])], {
          tools: [echoTool()],
          approveToolCall: () => {
            throw new Error('no');
          },
        }),
      { status: 'failed', code: 'approval_failed' },
    ],
    [
      'approval: deadline while the hook waits',
      () => run('approval deadline', [toolUse([{ id: 'toolu_dl', name: 'echo' }])], { tools: [echoTool()], budgets: { deadlineMs: 150 }, approveToolCall: () => new Promise(() => {}) }),
      { status: 'budget_exceeded', code: 'budget_exceeded' },
    ],
    [
      'resume with an open tool batch',
      async () => {
        const first = await run('resume: first', [toolUse([{ id: 'toolu_o', name: 'echo' }]), text('done')], { tools: [echoTool()], budgets: { maxToolCalls: 0 } });
        expect(outcome(first.result)).toEqual({ status: 'budget_exceeded', code: 'budget_exceeded' });
        const model = scriptedModel([text('done')]);
        const handle = startResume(first.store.saved.at(-1)!, { tools: [echoTool()], budgets: { maxToolCalls: 5 }, createStream: model.createStream, inspect: recorder('resume') });
        return { result: await handle.settled };
      },
      { status: 'completed', code: null },
    ],
  ];

  for (const [name, scenario, expected] of cases) {
    it(name, async () => {
      const { result } = await scenario();
      expect(outcome(result)).toEqual(expected);
    });
  }

  it('every transition of the definition is taken by some scenario', () => {
    const missing = graph.transitions.map((t, i) => [i, t] as const).filter(([i]) => !covered.has(i)).map(([, t]) => `${t.source}: ${transitionLabel(t, { actions: false })}`);
    expect(missing).toEqual([]);
  });
});
