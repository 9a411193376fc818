/**
 * The continuation controller's loop, as an XState v5 machine: it takes each
 * assembled message and decides, from its `stop_reason` alone — never from its
 * text — what happens next, until the turn is truly over.
 *
 *   starting ─▶ preparingRequest ─▶ requesting.checkpointing ─▶ requesting.streaming
 *                   ▲                        ▲                       │   ▲ │ (mid-stream failure)
 *                   │                        └─ requesting.backingOff ◀───┘ │
 *                   │                                                       ▼
 *                   │                                              routingStopReason
 *                   │   pause_turn / compaction / max_tokens (continue, raise) │
 *                   ├──────────────────────────────────────────────────────────┤
 *                   │                                                  tool_use ▼
 *                   └──────────── runningTools ◀──────────────────── checkingToolCalls
 *                                   │      ▲                              │ (a call awaits a decision)
 *                                   │      └────── approvingToolCalls ◀───┘
 *                                   ▼ (a call was deferred)
 *                            awaitingApproval
 *
 *   final: completed · stopped · refused · incomplete · budgetExceeded · failed · awaitingApproval
 *
 * Side effects are the invoked actors `saveCheckpoint`, `requestModel`,
 * `approveTools`, `runTools` and `waitBeforeRetry`. Each delegates to a function of
 * `context.env`, which the controller injects per run (tests script them the
 * same way, or replace an actor with `machine.provide()`). Injecting through
 * the input rather than `provide()` keeps one machine definition for every run:
 * `provide()` rebuilds the whole state-node tree, which would cost more than
 * everything else a turn does. Clock, randomness and event emission come
 * through `env` too. Every change to the run's state is a pure function of
 * src/controller/steps.ts.
 *
 * The controller runs this definition through src/controller/drive.ts, a
 * driver that reads the states, transition order, guards and named actions off
 * it once and steps without an actor per run or per invoke (an XState actor
 * when inspection is asked for); test/controller/drive.test.ts checks by
 * property that both take the same steps.
 *
 * Exactly-once tool execution does not rest on XState persistence (a restored
 * snapshot re-runs invoked promises): the `runTools` actor journals `started`
 * and `done` through the checkpoint store, and `starting` routes a resumed run
 * by its journal — an open tool batch goes back to `checkingToolCalls`, any
 * other phase to `preparingRequest`, which re-issues a request lost in flight.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { BetaMessage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { checkRequestBudget, checkToolBudget, deadlineError, findDuplicateId, findStuckLoop } from '../src/controller/budget.js';
import { ControllerError } from '../src/controller/errors.js';
import { isRetryable, backoffDelay, type SegmentFailure } from '../src/controller/retry.js';
import { failureError, failureOf } from './continuation.failures.js';
import { ToolBatchInterrupted } from '../src/controller/tools.js';
import {
  appendPartial,
  appendSegment,
  batchCalls,
  closeToolBatch,
  finish,
  openToolBatch,
  planContinuation,
  raisedMaxTokens,
  recordRetry,
  recordSegment,
  updateToolBatch,
  type ReceivedSegment,
} from '../src/controller/steps.js';
import { isDeferred } from '../src/controller/approval.js';
import type { RequestKind, RunState, RunStatus, SegmentRecord, ToolCallRecord } from '../src/controller/types.js';

/** Everything the machine needs from its surroundings: the side effects, time, randomness, reporting. */
export interface ContinuationEnv {
  /** Checkpoints `state`; resolves once the checkpoint is durable. */
  saveCheckpoint(state: RunState): Promise<void>;
  /** One model request to a complete segment; rejects with a SegmentFailure. `signal` is the invoked actor's. */
  requestModel(input: RequestModelInput, signal: AbortSignal): Promise<ReceivedSegment>;
  /** Runs the open batch, journaling each call (deferred calls are left alone); rejects with ToolBatchInterrupted. */
  runTools(input: RunToolsInput, signal: AbortSignal): Promise<ToolCallRecord[]>;
  /** Whether a call of the open batch is to be decided (approve/deny/defer) before it may run. */
  awaitsApproval(call: ToolCallRecord): boolean;
  /** Decides the batch's calls that await a decision and journals every decision durably; resolves to the batch's records. */
  approveTools(input: RunToolsInput, signal: AbortSignal): Promise<ToolCallRecord[]>;
  /** Resolves after `ms` (the retry backoff); rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
  random(): number;
  /** Why the run's signal fired, or null while it has not. */
  abortCause(): 'deadline' | 'caller' | null;
  /** Reports a step (the controller turns these into typed events). */
  notify(note: ContinuationNote): void;
}

/** What the machine tells the controller as it steps. */
export type ContinuationNote =
  | { type: 'continuation'; kind: RequestKind; count: number }
  | { type: 'retry'; segment: number; attempt: number; delayMs: number; code: string; apiErrorType: string | null }
  | { type: 'segment_end'; segment: SegmentRecord }
  | { type: 'budget'; error: ControllerError };

export interface ContinuationContext {
  state: RunState;
  env: ContinuationEnv;
  /** The segment just received, read by the stop-reason guards. */
  received: ReceivedSegment | null;
  /** Failed attempts of the current request. */
  attempt: number;
  /** Backoff before the next attempt. */
  retryDelayMs: number;
  error: ControllerError | null;
}

export interface ContinuationInput {
  state: RunState;
  env: ContinuationEnv;
}

export interface RequestModelInput {
  state: RunState;
  /** 0 for the first try of this request, then 1, 2 … for retries. */
  attempt: number;
}

export interface RunToolsInput {
  state: RunState;
  calls: ToolCallRecord[];
}

const stopReasonOf = (context: ContinuationContext): string | null => context.received?.message.stop_reason ?? null;
const receivedMessage = (context: ContinuationContext): BetaMessage => context.received!.message;
export const continuationMachine = setup({
  types: {
    context: {} as ContinuationContext,
    input: {} as ContinuationInput,
    output: {} as ContinuationContext,
  },
  actors: {
    saveCheckpoint: fromPromise<void, { env: ContinuationEnv; state: RunState }>(({ input }) => input.env.saveCheckpoint(input.state)),
    requestModel: fromPromise<ReceivedSegment, RequestModelInput & { env: ContinuationEnv }>(({ input, signal }) => input.env.requestModel(input, signal)),
    runTools: fromPromise<ToolCallRecord[], RunToolsInput & { env: ContinuationEnv }>(({ input, signal }) => input.env.runTools(input, signal)),
    approveTools: fromPromise<ToolCallRecord[], RunToolsInput & { env: ContinuationEnv }>(({ input, signal }) => input.env.approveTools(input, signal)),
    waitBeforeRetry: fromPromise<void, { env: ContinuationEnv; delayMs: number }>(({ input, signal }) => input.env.sleep(input.delayMs, signal)),
  },
  guards: {
    hasOpenToolBatch: ({ context }) => context.state.phase === 'running_tools' && context.state.batch.length > 0,
    requestBudgetExceeded: ({ context }) => checkRequestBudget(context.state, context.env.now()) !== null,
    toolBudgetExceeded: ({ context }) => checkToolBudget({ ...context.state, toolCallCount: context.state.toolCallCount - context.state.batch.length }, context.state.batch.length, context.env.now()) !== null,
    duplicateToolUseId: ({ context }) => findDuplicateId(context.state.toolCalls.slice(0, -context.state.batch.length || undefined), batchCalls(context.state)) !== null,
    stuckInLoop: ({ context }) =>
      findStuckLoop(context.state.toolCalls.slice(0, -context.state.batch.length || undefined), batchCalls(context.state), context.state.settings.stuckLoopThreshold) !== null,

    batchAwaitsApproval: ({ context }) => batchCalls(context.state).some((call) => context.env.awaitsApproval(call)),
    /** The batch ran all it may: some call still waits for a person. */
    batchHasDeferredCalls: ({ event }) => (event as unknown as { output: ToolCallRecord[] }).output.some(isDeferred),

    stoppedOnEndTurn: ({ context }) => stopReasonOf(context) === 'end_turn',
    stoppedOnToolUse: ({ context }) => stopReasonOf(context) === 'tool_use',
    stoppedOnPauseTurn: ({ context }) => stopReasonOf(context) === 'pause_turn',
    stoppedOnCompaction: ({ context }) => stopReasonOf(context) === 'compaction',
    stoppedOnMaxTokens: ({ context }) => stopReasonOf(context) === 'max_tokens',
    stoppedOnStopSequence: ({ context }) => stopReasonOf(context) === 'stop_sequence',
    stoppedOnRefusal: ({ context }) => stopReasonOf(context) === 'refusal',
    stoppedOnContextWindow: ({ context }) => stopReasonOf(context) === 'model_context_window_exceeded',
    /** max_tokens, policy `continue`, and something usable to continue from. */
    canContinueAfterMaxTokens: ({ context }) =>
      stopReasonOf(context) === 'max_tokens' &&
      context.state.settings.maxTokensPolicy === 'continue' &&
      appendPartial(context.state, receivedMessage(context)) !== null,
    /** max_tokens, policy `raise`, below the ceiling. */
    canRaiseMaxTokens: ({ context }) =>
      stopReasonOf(context) === 'max_tokens' && context.state.settings.maxTokensPolicy === 'raise' && raisedMaxTokens(context.state) !== null,

    abortedByDeadline: ({ context }) => context.env.abortCause() === 'deadline',
    retryableWithAttemptsLeft: ({ context, event }) =>
      isRetryable(failureOf(event), context.state.settings.retry) && context.attempt < context.state.settings.retry.maxRetries,
    retryableButExhausted: ({ context, event }) => isRetryable(failureOf(event), context.state.settings.retry),
  },
  actions: {
    recordSegment: assign(({ context, event }) => {
      const received = (event as unknown as { output: ReceivedSegment }).output;
      return { received, state: recordSegment(context.state, received, context.attempt), attempt: 0 };
    }),
    announceSegment: ({ context }) => context.env.notify({ type: 'segment_end', segment: context.state.segments.at(-1)! }),
    appendResponse: assign(({ context }) => ({ state: appendSegment(context.state, receivedMessage(context)) })),
    appendPartialForContinue: assign(({ context }) => ({ state: appendPartial(context.state, receivedMessage(context)) ?? context.state })),
    raiseMaxTokens: assign(({ context }) => ({ state: { ...context.state, maxTokens: raisedMaxTokens(context.state) ?? context.state.maxTokens } })),
    openToolBatch: assign(({ context }) => ({ state: openToolBatch(context.state, receivedMessage(context), context.received?.invalidToolInputs) })),
    /** The batch's records as the approval step journaled them (decisions; denied calls answered). */
    recordApprovals: assign(({ context, event }) => ({ state: updateToolBatch(context.state, (event as unknown as { output: ToolCallRecord[] }).output) })),
    /** The results of the calls that ran; the batch stays open for the deferred ones. */
    keepToolResults: assign(({ context, event }) => ({ state: updateToolBatch(context.state, (event as unknown as { output: ToolCallRecord[] }).output) })),
    appendToolResults: assign(({ context, event }) => ({
      state: closeToolBatch(context.state, (event as unknown as { output: ToolCallRecord[] }).output),
    })),
    planContinuation: assign(({ context }, params: { kind: RequestKind }) => ({ state: planContinuation(context.state, params.kind) })),
    announceContinuation: ({ context }) =>
      context.env.notify({ type: 'continuation', kind: context.state.nextRequest, count: context.state.continuations }),
    recordRetry: assign(({ context, event }) => {
      const failure = failureOf(event) as SegmentFailure;
      const attempt = context.attempt + 1;
      const delayMs = backoffDelay(attempt, context.state.settings.retry, context.env.random);
      return { attempt, retryDelayMs: delayMs, state: recordRetry(context.state, failure, attempt, delayMs, context.env.now()) };
    }),
    announceRetry: ({ context }) => {
      const last = context.state.retries.at(-1)!;
      context.env.notify({ type: 'retry', segment: last.segment, attempt: last.attempt, delayMs: last.delayMs, code: last.code, apiErrorType: last.apiErrorType });
    },

    failRequestBudget: assign(({ context }) => ({ error: checkRequestBudget(context.state, context.env.now()) })),
    failToolBudget: assign(({ context }) => ({
      error: checkToolBudget({ ...context.state, toolCallCount: context.state.toolCallCount - context.state.batch.length }, context.state.batch.length, context.env.now()),
    })),
    failDuplicateId: assign(({ context }) => ({
      error: findDuplicateId(context.state.toolCalls.slice(0, -context.state.batch.length || undefined), batchCalls(context.state)),
    })),
    failStuckLoop: assign(({ context }) => ({
      error: findStuckLoop(context.state.toolCalls.slice(0, -context.state.batch.length || undefined), batchCalls(context.state), context.state.settings.stuckLoopThreshold),
    })),
    failUnknownStopReason: assign(({ context }) => {
      const reason = stopReasonOf(context);
      return {
        error: new ControllerError('unknown_stop_reason', `stop_reason ${JSON.stringify(reason)} is not one this controller knows; refusing to guess what comes next`, {
          stopReason: String(reason),
        }),
      };
    }),
    failDeadline: assign(({ context }) => ({ error: deadlineError(context.state, context.env.now(), context.state.phase === 'running_tools' ? 'the tool calls' : 'a model request') })),
    failRetriesExhausted: assign(({ context, event }) => {
      const failure = failureOf(event) as SegmentFailure;
      return {
        error: new ControllerError(
          'retries_exhausted',
          `the request failed mid-stream ${context.attempt + 1} times in a row (last: ${failure.code}${failure.details.apiErrorType ? ` ${failure.details.apiErrorType}` : ''})`,
          { cause: failure.details.cause ?? failure },
        ),
      };
    }),
    failRequest: assign(({ context, event }) => ({ error: failureError(failureOf(event), context, 'a model request') })),
    failTools: assign(({ context, event }) => ({ error: failureError(failureOf(event), context, 'the tool calls') })),
    failApproval: assign(({ context, event }) => ({ error: failureError(failureOf(event), context, 'the approval of tool calls') })),
    /** Keeps what the journal recorded before the batch stopped (started and done entries). */
    keepJournaledCalls: assign(({ context, event }) => {
      const error = (event as { error?: unknown }).error;
      if (!(error instanceof ToolBatchInterrupted)) return {};
      const start = context.state.toolCalls.length - context.state.batch.length;
      return { state: { ...context.state, toolCalls: [...context.state.toolCalls.slice(0, start), ...error.records] } };
    }),
    failCheckpoint: assign(({ event }) => {
      const error = failureOf(event);
      return {
        error:
          error instanceof ControllerError
            ? error
            : new ControllerError('checkpoint_failed', `writing the checkpoint failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error }),
      };
    }),
    announceBudget: ({ context }) => {
      if (context.error?.code === 'budget_exceeded') context.env.notify({ type: 'budget', error: context.error });
    },
    finish: assign(({ context }, params: { status: RunStatus }) => {
      let reason: string | null = null;
      if (params.status === 'incomplete') {
        const stop = stopReasonOf(context);
        reason =
          stop === 'max_tokens' && context.state.settings.maxTokensPolicy === 'raise'
            ? 'max_tokens (raise policy at its ceiling)'
            : stop === 'max_tokens' && context.state.settings.maxTokensPolicy === 'continue'
              ? 'max_tokens (nothing left to continue from)'
              : stop;
      }
      return { state: finish(context.state, params.status, { reason, error: context.error }) };
    }),
  },
}).createMachine({
  id: 'continuation',
  context: ({ input }) => ({ state: input.state, env: input.env, received: null, attempt: 0, retryDelayMs: 0, error: null }),
  output: ({ context }) => context,
  initial: 'starting',
  states: {
    /** Routes by the journal: a fresh run, or a resumed one, goes where its phase says. */
    starting: {
      always: [{ guard: 'hasOpenToolBatch', target: 'checkingToolCalls' }, { target: 'preparingRequest' }],
    },
    /** Budgets are checked before every request, never after the fact. */
    preparingRequest: {
      always: [
        { guard: 'requestBudgetExceeded', target: 'budgetExceeded', actions: ['failRequestBudget', 'announceBudget'] },
        { target: 'requesting' },
      ],
    },
    requesting: {
      initial: 'checkpointing',
      states: {
        checkpointing: {
          invoke: {
            src: 'saveCheckpoint',
            input: ({ context }) => ({ env: context.env, state: context.state }),
            onDone: 'streaming',
            onError: { target: '#continuation.failed', actions: 'failCheckpoint' },
          },
        },
        streaming: {
          invoke: {
            src: 'requestModel',
            input: ({ context }) => ({ env: context.env, state: context.state, attempt: context.attempt }),
            onDone: { target: '#continuation.routingStopReason', actions: ['recordSegment', 'announceSegment'] },
            onError: [
              { guard: 'abortedByDeadline', target: '#continuation.budgetExceeded', actions: ['failDeadline', 'announceBudget'] },
              { guard: 'retryableWithAttemptsLeft', target: 'backingOff', actions: ['recordRetry', 'announceRetry'] },
              { guard: 'retryableButExhausted', target: '#continuation.failed', actions: 'failRetriesExhausted' },
              { target: '#continuation.failed', actions: 'failRequest' },
            ],
          },
        },
        backingOff: {
          invoke: {
            src: 'waitBeforeRetry',
            input: ({ context }) => ({ env: context.env, delayMs: context.retryDelayMs }),
            onDone: 'checkpointing',
            onError: [
              { guard: 'abortedByDeadline', target: '#continuation.budgetExceeded', actions: ['failDeadline', 'announceBudget'] },
              { target: '#continuation.failed', actions: 'failRequest' },
            ],
          },
        },
      },
    },
    /** THE RULE: the next step is chosen by stop_reason alone. */
    routingStopReason: {
      always: [
        { guard: 'stoppedOnEndTurn', target: 'completed', actions: 'appendResponse' },
        { guard: 'stoppedOnToolUse', target: 'checkingToolCalls', actions: ['appendResponse', 'openToolBatch'] },
        {
          guard: 'stoppedOnPauseTurn',
          target: 'preparingRequest',
          actions: ['appendResponse', { type: 'planContinuation', params: { kind: 'pause_turn' } }, 'announceContinuation'],
        },
        {
          guard: 'stoppedOnCompaction',
          target: 'preparingRequest',
          actions: ['appendResponse', { type: 'planContinuation', params: { kind: 'compaction' } }, 'announceContinuation'],
        },
        {
          guard: 'canContinueAfterMaxTokens',
          target: 'preparingRequest',
          actions: ['appendPartialForContinue', { type: 'planContinuation', params: { kind: 'max_tokens_continue' } }, 'announceContinuation'],
        },
        {
          guard: 'canRaiseMaxTokens',
          target: 'preparingRequest',
          actions: ['raiseMaxTokens', { type: 'planContinuation', params: { kind: 'max_tokens_raise' } }, 'announceContinuation'],
        },
        { guard: 'stoppedOnMaxTokens', target: 'incomplete', actions: 'appendResponse' },
        { guard: 'stoppedOnStopSequence', target: 'stopped', actions: 'appendResponse' },
        { guard: 'stoppedOnRefusal', target: 'refused', actions: 'appendResponse' },
        { guard: 'stoppedOnContextWindow', target: 'incomplete', actions: 'appendResponse' },
        { target: 'failed', actions: ['appendResponse', 'failUnknownStopReason'] },
      ],
    },
    /** Protocol and safety checks on the open batch, before anything runs. */
    checkingToolCalls: {
      always: [
        { guard: 'duplicateToolUseId', target: 'failed', actions: 'failDuplicateId' },
        { guard: 'stuckInLoop', target: 'failed', actions: 'failStuckLoop' },
        { guard: 'toolBudgetExceeded', target: 'budgetExceeded', actions: ['failToolBudget', 'announceBudget'] },
        { guard: 'batchAwaitsApproval', target: 'approvingToolCalls' },
        { target: 'runningTools' },
      ],
    },
    /**
     * Every call that awaits a decision gets one (a resume's `approvals`, else
     * the hook), and all of them are durable before any call runs: denied
     * calls are answered there and then, deferred ones wait.
     */
    approvingToolCalls: {
      invoke: {
        src: 'approveTools',
        input: ({ context }) => ({ env: context.env, state: context.state, calls: batchCalls(context.state) }),
        onDone: { target: 'runningTools', actions: 'recordApprovals' },
        onError: [
          { guard: 'abortedByDeadline', target: 'budgetExceeded', actions: ['failDeadline', 'announceBudget'] },
          { target: 'failed', actions: 'failApproval' },
        ],
      },
    },
    /**
     * The batch runs with its own journal writes: `started` entries (the open
     * batch with them) are durable before any tool runs; each result is
     * durable the moment its call finishes, before its `tool_end`.
     */
    runningTools: {
      invoke: {
        src: 'runTools',
        input: ({ context }) => ({ env: context.env, state: context.state, calls: batchCalls(context.state) }),
        onDone: [
          // Results wait for the deferred calls: all of a batch's results go back in ONE user message.
          { guard: 'batchHasDeferredCalls', target: 'awaitingApproval', actions: 'keepToolResults' },
          {
            target: 'preparingRequest',
            actions: ['appendToolResults', { type: 'planContinuation', params: { kind: 'tool_results' } }, 'announceContinuation'],
          },
        ],
        onError: [
          { guard: 'abortedByDeadline', target: 'budgetExceeded', actions: ['keepJournaledCalls', 'failDeadline', 'announceBudget'] },
          { target: 'failed', actions: ['keepJournaledCalls', 'failTools'] },
        ],
      },
    },
    completed: { type: 'final', entry: { type: 'finish', params: { status: 'completed' } } },
    stopped: { type: 'final', entry: { type: 'finish', params: { status: 'stopped' } } },
    refused: { type: 'final', entry: { type: 'finish', params: { status: 'refused' } } },
    incomplete: { type: 'final', entry: { type: 'finish', params: { status: 'incomplete' } } },
    budgetExceeded: { type: 'final', entry: { type: 'finish', params: { status: 'budget_exceeded' } } },
    failed: { type: 'final', entry: { type: 'finish', params: { status: 'failed' } } },
    /** Stopped, resumably, with the open batch: a resume with `approvals` goes on from it. */
    awaitingApproval: { type: 'final', entry: { type: 'finish', params: { status: 'awaiting_approval' } } },
  },
});

export type ContinuationMachine = typeof continuationMachine;

/** Dotted state name, as the inspector shows it (`requesting.streaming`). */
export function continuationStateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, inner] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    return key === undefined ? '' : `${key}.${continuationStateName(inner)}`;
  }
  return '';
}

