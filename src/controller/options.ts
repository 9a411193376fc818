/**
 * What a run is given: the options of a fresh run and of a resume, the
 * handle it returns, the defaults, and the clock.
 */
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { InspectionEvent, Observer } from 'xstate';
import type { ContinuationMachine } from '../../machines/continuation.machine.js';
import type { ApproveToolCall, ResumeApproval } from './approval.js';
import type { Budgets } from './budget.js';
import type { RunEffects } from './effects.js';
import type { ControllerEvent, ControllerEventHandlers } from './events.js';
import type { CheckpointStore, FileCheckpointStoreOptions } from './journal.js';
import type { CreateStream, ParseTurn, SdkClient } from './model.js';
import { setLongTimeout } from './timers.js';
import type { ToolDecision } from './tools.js';
import type { MaxTokensPolicy, RequestParams, RetrySettings, RunnableTool, RunResult } from './types.js';

/** Time, injectable so tests control it. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, rejects with `signal.reason` if it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        cancel();
        reject(signal.reason);
      };
      const cancel = setLongTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Options a fresh run and a resume share. */
export interface CommonRunOptions {
  /** The runnable client tools. On resume, pass the same tools again (functions are not checkpointed). */
  readonly tools?: readonly RunnableTool[] | undefined;
  /** The model. Default: the Anthropic SDK client (`client`, or one built from the environment). */
  readonly createStream?: CreateStream | undefined;
  /** The SDK client the default `createStream` uses. */
  readonly client?: SdkClient | undefined;
  /**
   * Where checkpoints go: a store, file-store options, or `false` for none.
   * Default: a {@link FileCheckpointStore} writing `.turnstate/runs/<runId>.json`.
   */
  readonly checkpoint?: CheckpointStore | FileCheckpointStoreOptions | false | undefined;
  /** Aborts the run (status `failed`, code `aborted`; resumable). */
  readonly signal?: AbortSignal | undefined;
  /** Callbacks per event type. */
  readonly on?: ControllerEventHandlers | undefined;
  /** One callback for every event. */
  readonly onEvent?: ((event: ControllerEvent) => void) | undefined;
  /** Appends every event as one JSON line to this file. */
  readonly eventLog?: string | undefined;
  readonly budgets?: Budgets | undefined;
  readonly retry?: Partial<RetrySettings> | undefined;
  readonly toolConcurrency?: number | undefined;
  readonly toolTimeoutMs?: number | undefined;
  /**
   * Longest wait for the next bytes of a model stream before it fails as
   * `stalled` and is retried like a dropped connection (parseTurn's
   * `idleTimeoutMs`; default 120 000; 0: no limit). Not checkpointed.
   */
  readonly idleTimeoutMs?: number | undefined;
  readonly clock?: Clock | undefined;
  /** Jitter source in [0, 1). */
  readonly random?: (() => number) | undefined;
  /**
   * The run's side effects, for a durable-execution engine to own (see
   * {@link RunEffects}; turnstate/restate gives one). Each member left out
   * keeps today's behaviour; a member and the option it replaces (`now`/`sleep`
   * and `clock`, `random` and `random`, `journal` and `checkpoint`) are not
   * given together.
   */
  readonly effects?: Partial<RunEffects> | undefined;
  /** The stream parser (default: turnstate's `parseTurn`). */
  readonly parse?: ParseTurn | undefined;
  /** XState inspection, e.g. `createBrowserInspector().inspect` from @statelyai/inspect. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  /** A variant of the continuation machine (tests use it to prove the properties catch a broken one). */
  readonly machine?: ContinuationMachine | undefined;
  /**
   * Asked about every client tool call before it runs: approve, deny with a
   * message (the model gets it as an `is_error` tool_result; the tool never
   * runs) or defer (the run stops `awaiting_approval`, resumably). Each
   * decision is journaled before it is acted on. On resume, pass it again.
   */
  readonly approveToolCall?: ApproveToolCall | undefined;
}

export interface RunOptions extends CommonRunOptions {
  /** Model, max_tokens, system, server tools … everything but `messages` and `stream`. */
  readonly params: RequestParams;
  /** The conversation so far; a string is one user message. */
  readonly messages: readonly BetaMessageParam[] | string;
  readonly runId?: string | undefined;
  readonly maxTokensPolicy?: MaxTokensPolicy | undefined;
  /** Upper bound for the `raise` policy. Default 64 000. */
  readonly maxTokensCeiling?: number | undefined;
  /** Growth per raise. Default 2. */
  readonly maxTokensRaiseFactor?: number | undefined;
  /** Identical consecutive tool calls that stop the run; 0 disables. Default 3. */
  readonly stuckLoopThreshold?: number | undefined;
}

export interface ResumeOptions extends CommonRunOptions {
  /** Answers for tool calls in doubt (started, no result, not retrySafe), by tool_use id. */
  readonly decisions?: Readonly<Record<string, ToolDecision>> | undefined;
  /** Answers for tool calls awaiting approval (deferred, or never decided), by tool_use id. */
  readonly approvals?: Readonly<Record<string, ResumeApproval>> | undefined;
}

/** A run in progress. */
export interface RunHandle {
  readonly runId: string;
  /** Resolves for completed/stopped/refused/incomplete; rejects with a {@link ControllerError} (its `result` attached) otherwise. */
  readonly result: Promise<RunResult>;
  /** Resolves with the result whatever the status (never rejects for a ControllerError). */
  readonly settled: Promise<RunResult>;
  /** Events from now on, ending when the run ends. Call it right after starting to see every event. */
  events(): AsyncIterableIterator<ControllerEvent>;
  /** Aborts the run (same as the `signal` option). */
  abort(reason?: unknown): void;
}

export const DEFAULTS = {
  maxTokensPolicy: 'stop' as MaxTokensPolicy,
  maxTokensCeiling: 64_000,
  maxTokensRaiseFactor: 2,
  stuckLoopThreshold: 3,
  toolConcurrency: 4,
  toolTimeoutMs: 120_000,
} as const;

/** How a run was started: fresh or resumed, and what the resume brought. */
export interface LaunchContext {
  readonly resumed: boolean;
  readonly seq: number;
  readonly options: CommonRunOptions;
  readonly decisions: Readonly<Record<string, ToolDecision>>;
  readonly approvals: Readonly<Record<string, ResumeApproval>>;
}

/** The run's clock: `effects.now`, else the `clock` option's. */
export function nowOf(options: CommonRunOptions): () => number {
  const clock = options.clock ?? systemClock;
  return options.effects?.now ?? ((): number => clock.now());
}
