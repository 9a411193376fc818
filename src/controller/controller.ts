import type { ListenerError } from '../turn/errors.js';
import { randomUUID } from 'node:crypto';
import type { BetaContentBlock, BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { createActor, type InspectionEvent, type Observer } from 'xstate';
import {
  continuationMachine,
  continuationStateName,
  type ContinuationContext,
  type ContinuationEnv,
  type ContinuationMachine,
  type ContinuationNote,
} from '../../machines/continuation.machine.js';
import { approvalSetting, approvalsFor, awaitsDecision, decideToolCalls, deferredCalls, type ApproveToolCall, type ResumeApproval } from './approval.js';
import { resolveBudgets, type Budgets } from './budget.js';
import { resolveEffects, type RunEffects } from './effects.js';
import { ControllerError } from './errors.js';
import { EventHub, resultText, type ControllerEvent, type ControllerEventHandlers } from './events.js';
import { finalText } from './history.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointWriter,
  FileCheckpointStore,
  nullCheckpointStore,
  parseCheckpoint,
  readCheckpointFile,
  type Checkpoint,
  type CheckpointLease,
  type CheckpointStore,
  type FileCheckpointStoreOptions,
} from './journal.js';
import { defaultParseTurn, requestSegment, sdkCreateStream, type CreateStream, type ParseTurn, type SdkClient } from './model.js';
import { DEFAULT_RETRY } from './retry.js';
import { maxTokensCeilingSetting, nonNegativeSetting, raiseFactorSetting, setLongTimeout, toolTimeoutSetting } from './timers.js';
import { batchCalls, finish, requestParams, type ReceivedSegment } from './steps.js';
import { mergeToolDefinitions, runToolBatch, toolMap, type ToolDecision, type ToolJournal } from './tools.js';
import type { MaxTokensPolicy, RequestParams, RetrySettings, RunnableTool, RunResult, RunSettings, RunState } from './types.js';
import { emptyUsage } from './usage.js';

const nullLeaseTarget = { save: async (): Promise<void> => {} };

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

function storeFrom(option: CommonRunOptions['checkpoint']): CheckpointStore {
  if (option === false) return nullCheckpointStore;
  if (option === undefined) return new FileCheckpointStore();
  if (typeof (option as CheckpointStore).acquire === 'function') return option as CheckpointStore;
  if (typeof (option as { save?: unknown }).save === 'function') {
    throw new TypeError('a CheckpointStore needs acquire(runId) → lease { save, release } and load(runId); see CheckpointStore');
  }
  return new FileCheckpointStore(option as FileCheckpointStoreOptions);
}

function retrySettings(given: Partial<RetrySettings> | undefined, base: RetrySettings): RetrySettings {
  const settings: RetrySettings = { ...base, ...Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined)) };
  nonNegativeSetting(settings.maxRetries, 'retry.maxRetries', true);
  nonNegativeSetting(settings.baseDelayMs, 'retry.baseDelayMs');
  nonNegativeSetting(settings.maxDelayMs, 'retry.maxDelayMs');
  return settings;
}

/** The state of a run that has not made its first request yet. */
export function initialRunState(options: RunOptions, now: number): RunState {
  const { params } = options;
  if (!Number.isInteger(params.max_tokens) || params.max_tokens <= 0) throw new TypeError('params.max_tokens must be a positive integer');
  const tools = mergeToolDefinitions(params.tools, options.tools ?? []);
  const finalParams: RequestParams = { ...params };
  delete (finalParams as { stream?: unknown }).stream;
  delete (finalParams as { messages?: unknown }).messages;
  if (tools === undefined) delete finalParams.tools;
  else finalParams.tools = tools;
  const messages: BetaMessageParam[] = typeof options.messages === 'string' ? [{ role: 'user', content: options.messages }] : [...options.messages];
  const settings: RunSettings = {
    maxTokensPolicy: options.maxTokensPolicy ?? DEFAULTS.maxTokensPolicy,
    maxTokensCeiling: maxTokensCeilingSetting(options.maxTokensCeiling ?? DEFAULTS.maxTokensCeiling),
    maxTokensRaiseFactor: raiseFactorSetting(options.maxTokensRaiseFactor ?? DEFAULTS.maxTokensRaiseFactor),
    budgets: resolveBudgets(options.budgets, now),
    stuckLoopThreshold: options.stuckLoopThreshold ?? DEFAULTS.stuckLoopThreshold,
    toolConcurrency: options.toolConcurrency ?? DEFAULTS.toolConcurrency,
    toolTimeoutMs: toolTimeoutSetting(options.toolTimeoutMs ?? DEFAULTS.toolTimeoutMs, 'toolTimeoutMs'),
    retry: retrySettings(options.retry, DEFAULT_RETRY),
    ...approvalSetting(options.approveToolCall, undefined),
  };
  if (!['stop', 'continue', 'raise'].includes(settings.maxTokensPolicy)) throw new TypeError(`maxTokensPolicy must be stop, continue or raise`);
  return {
    runId: options.runId ?? `run_${randomUUID()}`,
    startedAt: now,
    params: JSON.parse(JSON.stringify(finalParams)) as RequestParams,
    maxTokens: params.max_tokens,
    messages,
    phase: 'requesting',
    nextRequest: 'initial',
    continuations: 0,
    toolCallCount: 0,
    usage: emptyUsage(),
    segments: [],
    retries: [],
    toolCalls: [],
    batch: [],
    dropped: [],
    lastMessage: null,
    outcome: null,
    settings,
  };
}

/** The result a finished state stands for. */
export function resultFromState(state: RunState, error: ControllerError | null = null, listenerErrors: readonly ListenerError[] = []): RunResult {
  const outcome = state.outcome;
  if (outcome === null) throw new Error('resultFromState: the run has not finished');
  const err = error ?? (outcome.error ? ControllerError.fromJSON(outcome.error) : null);
  const result: RunResult = {
    runId: state.runId,
    status: outcome.status,
    stopReason: outcome.stopReason,
    text: finalText(state.messages),
    message: state.lastMessage,
    messages: state.messages,
    usage: state.usage,
    segments: state.segments,
    retries: state.retries,
    toolCalls: state.toolCalls,
    dropped: state.dropped,
    stopSequence: outcome.stopSequence,
    stopDetails: outcome.stopDetails,
    reason: outcome.reason,
    error: err,
    awaitingApproval: outcome.status === 'awaiting_approval' ? deferredCalls(state) : [],
    listenerErrors,
    state,
  };
  if (err) {
    err.messages = state.messages;
    err.usage = state.usage;
    err.result = result;
  }
  return result;
}

/**
 * Starts a run: requests, then follows each stop reason until the turn is
 * truly over, checkpointing after every step. Returns at once; see
 * {@link RunHandle}.
 */
export function startRun(options: RunOptions): RunHandle {
  const state = initialRunState(options, nowOf(options)());
  return launch(state, { resumed: false, seq: 0, options, decisions: {}, approvals: {} });
}

/** Runs to the end: `await runTurn({ params, messages, tools })`. */
export function runTurn(options: RunOptions): Promise<RunResult> {
  return startRun(options).result;
}

/**
 * Continues a run from its checkpoint exactly where it stopped: recorded tool
 * results are reused (never re-run), a request lost in flight is re-issued, a
 * tool call in doubt is re-run only if it is `retrySafe` (or a decision says
 * so). A finished run's checkpoint gives its result back without any work.
 * Budgets, retry and tool settings passed here override the checkpoint's;
 * `budgets.deadlineMs` counts from the resume.
 */
export function startResume(checkpoint: Checkpoint, options: ResumeOptions = {}): RunHandle {
  return startResumeWith(parseCheckpoint, checkpoint, options);
}

/** {@link startResume} with another validator: tests use it to show that their property catches one that lets defects through. */
export function startResumeWith(validate: (value: unknown) => Checkpoint, checkpoint: unknown, options: ResumeOptions = {}): RunHandle {
  const checked = validate(checkpoint);
  const state = resumedState(checked, options);
  return launch(state, { resumed: true, seq: checked.seq, options, decisions: options.decisions ?? {}, approvals: options.approvals ?? {} });
}

/** The state a resume starts from: the checkpoint's, with the resume's settings. Throws TypeError for missing tools. */
function resumedState(checked: Checkpoint, options: ResumeOptions): RunState {
  const now = nowOf(options)();
  const old = checked.state;
  const settings: RunSettings = {
    ...old.settings,
    budgets: resolveBudgets(options.budgets, now, old.settings.budgets),
    retry: retrySettings(options.retry, old.settings.retry),
    toolConcurrency: options.toolConcurrency ?? old.settings.toolConcurrency,
    toolTimeoutMs: options.toolTimeoutMs === undefined ? old.settings.toolTimeoutMs : toolTimeoutSetting(options.toolTimeoutMs, 'toolTimeoutMs'),
    ...approvalSetting(options.approveToolCall, old.settings.requiresApproval),
  };
  approvalsFor(old, options);
  const state: RunState = old.phase === 'done' ? old : { ...old, outcome: null, settings };
  if (state.phase === 'running_tools') {
    // A call of the open batch whose tool the run had but the resume was not given would be answered
    // "not found" — a lie to the model about a tool it was offered. That is a caller's mistake: say so.
    const given = new Set((options.tools ?? []).map((tool) => tool.name));
    const defined = new Set((state.params.tools ?? []).map((tool) => ('name' in tool ? String(tool.name) : '')));
    const missing = [...new Set(batchCalls(state).filter((call) => call.status !== 'done' && !given.has(call.name) && defined.has(call.name)).map((call) => call.name))];
    if (missing.length > 0) {
      throw new TypeError(`resume needs the tools the run used: pass ${missing.map((name) => `'${name}'`).join(', ')} in \`tools\` (functions are not checkpointed)`);
    }
  }
  return state;
}

/**
 * {@link startResume}, from a checkpoint or the path of a checkpoint file, to
 * the end. Given a path (and no `checkpoint` option), the run goes on writing
 * to that same file.
 */
export async function resume(checkpoint: Checkpoint | string, options: ResumeOptions = {}): Promise<RunResult> {
  if (typeof checkpoint !== 'string') return startResume(checkpoint, options).result;
  const loaded = await readCheckpointFile(checkpoint);
  return startResume(loaded, options.checkpoint === undefined ? { ...options, checkpoint: { path: checkpoint } } : options).result;
}

interface LaunchContext {
  readonly resumed: boolean;
  readonly seq: number;
  readonly options: CommonRunOptions;
  readonly decisions: Readonly<Record<string, ToolDecision>>;
  readonly approvals: Readonly<Record<string, ResumeApproval>>;
}

/** The run's clock: `effects.now`, else the `clock` option's. */
function nowOf(options: CommonRunOptions): () => number {
  const clock = options.clock ?? systemClock;
  return options.effects?.now ?? ((): number => clock.now());
}

function launch(initial: RunState, launchContext: LaunchContext): RunHandle {
  const { options } = launchContext;
  const clock = options.clock ?? systemClock;
  const effects = resolveEffects(options.effects, options, {
    now: () => clock.now(),
    sleep: (ms, signal) => clock.sleep(ms, signal),
    random: options.random ?? Math.random,
    journal: () => storeFrom(options.checkpoint),
  });
  const now = effects.now;
  const random = effects.random;
  const runId = initial.runId;
  const hub = new EventHub(options.on ?? {}, options.onEvent, options.eventLog, { runId, now });
  const store = effects.journal;
  const tools = toolMap(options.tools ?? []);
  const parse = options.parse ?? defaultParseTurn;
  let createStream = options.createStream;
  const model = (): CreateStream => (createStream ??= sdkCreateStream(options.client));

  const runAbort = new AbortController();
  let abortCause: 'deadline' | 'caller' | null = null;
  const abort = (cause: 'deadline' | 'caller', reason: unknown): void => {
    if (runAbort.signal.aborted) return;
    abortCause = cause;
    runAbort.abort(reason);
  };
  const onCallerAbort = (): void => abort('caller', options.signal?.reason);

  /** The newest state: what the next checkpoint write stores. */
  let latest = initial;
  /** The run's lease on its store, taken before anything runs; every write goes through it. */
  let lease: CheckpointLease | null = null;
  let writer: CheckpointWriter = new CheckpointWriter(nullLeaseTarget, () => {
    throw new Error('no checkpoint before the lease');
  });
  const openWriter = (owned: CheckpointLease, seq: number): void => {
    lease = owned;
    writer = new CheckpointWriter(
      owned,
      (next) => ({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, seq: next, savedAt: new Date(now()).toISOString(), state: latest }),
      seq,
      (checkpoint) => hub.emit({ type: 'checkpoint', runId, at: now(), seq: checkpoint.seq, phase: checkpoint.state.phase }),
    );
  };

  const wantsText = (): boolean => hub.wants('text');
  /** A write the next step depends on; its failure is the run's `checkpoint_failed`. */
  const durableWrite = (): Promise<void> =>
    writer.write().catch((cause: unknown) => {
      throw new ControllerError('checkpoint_failed', `writing the checkpoint failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    });
  /**
   * The signal a side effect runs under. An invoked actor's own signal fires
   * only when its state is left early, which this machine never does (it takes
   * no outside events): the run's signal (deadline, caller) is the one that
   * matters, and `AbortSignal.any` per request would cost more than the rest
   * of a segment's bookkeeping.
   */
  const runSignal = (_actorSignal: AbortSignal): AbortSignal => runAbort.signal;

  /** Journal hooks for the open batch: each new version of a call goes into the state the next write stores. */
  const batchJournal = (state: RunState): ToolJournal => {
    let toolState = state;
    const offset = toolState.toolCalls.length - toolState.batch.length;
    return {
      update: (call) => {
        const at = toolState.batch.indexOf(call.id);
        if (at === -1) return;
        const toolCalls = toolState.toolCalls.slice();
        toolCalls[offset + at] = call;
        toolState = { ...toolState, toolCalls };
        latest = toolState;
      },
      persist: durableWrite,
    };
  };

  const env: ContinuationEnv = {
    saveCheckpoint: (state) => {
      latest = state;
      return durableWrite();
    },
    requestModel: async (input, signal) => {
      const segment = input.state.segments.length;
      hub.emit({ type: 'segment_start', runId, at: now(), segment, kind: input.state.nextRequest, attempt: input.attempt, maxTokens: input.state.maxTokens });
      const onText = wantsText() ? (delta: string, index: number) => hub.emit({ type: 'text', runId, at: now(), segment, index, delta }) : undefined;
      const onBlock = hub.wants('block')
        ? (block: BetaContentBlock, index: number) => {
            const call = block as { name?: unknown; id?: unknown; tool_use_id?: unknown; input?: unknown };
            hub.emit({
              type: 'block',
              runId,
              at: now(),
              segment,
              index,
              blockType: block.type,
              name: typeof call.name === 'string' ? call.name : null,
              id: typeof call.id === 'string' ? call.id : typeof call.tool_use_id === 'string' ? call.tool_use_id : null,
              input: 'input' in block ? call.input : null,
            });
          }
        : undefined;
      const params = requestParams(input.state);
      const perform = async (): Promise<ReceivedSegment> => {
        const response = await requestSegment({ createStream: model(), parse, params, signal: runSignal(signal), now, onText, onBlock, idleTimeoutMs: options.idleTimeoutMs });
        return {
          message: response.message,
          dropped: response.turn.dropped,
          invalidToolInputs: response.turn.invalidToolInputs,
          requestId: response.requestId,
          startedAt: response.startedAt,
          durationMs: response.durationMs,
        };
      };
      return effects.modelRequest({ runId, params, segment, attempt: input.attempt, kind: input.state.nextRequest }, perform);
    },
    runTools: async (input, signal) =>
      runToolBatch({
        calls: input.calls,
        tools,
        concurrency: input.state.settings.toolConcurrency,
        timeoutMs: input.state.settings.toolTimeoutMs,
        decisions: launchContext.decisions,
        signal: runSignal(signal),
        now,
        invoke: effects.toolCall,
        journal: batchJournal(input.state),
        onStart: (call) => hub.emit({ type: 'tool_start', runId, at: now(), id: call.id, name: call.name, input: call.input, attempt: call.attempts }),
        onEnd: (call) =>
          hub.emit({ type: 'tool_end', runId, at: now(), id: call.id, name: call.name, isError: call.result?.is_error ?? false, durationMs: call.durationMs ?? 0, error: call.result?.is_error ? resultText(call.result) : null }),
      }),
    awaitsApproval: (call) => awaitsDecision(call) && (options.approveToolCall !== undefined || Object.hasOwn(launchContext.approvals, call.id)),
    approveTools: async (input, signal) => {
      // The open batch is durable before anyone is asked: a person may take hours, and a restart meanwhile must find the calls.
      latest = input.state;
      await durableWrite();
      return decideToolCalls({
        runId,
        calls: input.calls,
        hook: options.approveToolCall,
        approvals: launchContext.approvals,
        signal: runSignal(signal),
        now,
        journal: batchJournal(input.state),
        onDecision: (call) => {
          const approval = call.approval!;
          hub.emit({ type: 'tool_approval', runId, at: now(), id: call.id, name: call.name, decision: approval.decision, message: approval.message ?? null, source: approval.source });
        },
      });
    },
    sleep: (ms, signal) => effects.sleep(ms, runSignal(signal)),
    now,
    random,
    abortCause: () => abortCause,
    notify: (note: ContinuationNote) => {
      const at = now();
      switch (note.type) {
        case 'continuation':
          hub.emit({ type: 'continuation', runId, at, kind: note.kind, count: note.count });
          break;
        case 'retry': {
          const { type: _type, ...retry } = note;
          hub.emit({ type: 'retry', runId, at, ...retry });
          break;
        }
        case 'budget':
          hub.emit({ type: 'budget', runId, at, budget: note.error.budget!, limit: note.error.limit, used: note.error.used });
          break;
        case 'segment_end': {
          const segment = note.segment;
          hub.emit({
            type: 'segment_end',
            runId,
            at,
            segment: segment.index,
            stopReason: segment.stopReason,
            usage: segment.usage,
            durationMs: segment.durationMs,
            requestId: segment.requestId,
          });
          break;
        }
      }
    },
  };

  const machine = options.machine ?? continuationMachine;

  let lastStateName = '';
  const userInspect = options.inspect;
  const inspect = (event: InspectionEvent): void => {
    if (userInspect) {
      if (typeof userInspect === 'function') userInspect(event);
      else userInspect.next?.(event);
    }
    // The root actor's own steps (its invoked children report too). Compared by session id because the
    // first microsteps are inspected while `createActor` is still constructing the actor.
    if (event.type === '@xstate.microstep' && event.actorRef.sessionId === event.rootId) {
      const snapshot = event.snapshot as { value?: unknown };
      const name = continuationStateName(snapshot.value);
      if (name !== lastStateName) {
        lastStateName = name;
        hub.emit({ type: 'state', runId, at: now(), state: name });
      }
    }
  };

  let resolveSettled!: (result: RunResult) => void;
  const settled = new Promise<RunResult>((res) => {
    resolveSettled = res;
  });

  let cancelDeadline = (): void => {};
  const cleanup = (): void => {
    cancelDeadline();
    options.signal?.removeEventListener('abort', onCallerAbort);
  };

  let settledOnce = false;
  /** The one way a run ends: whatever went wrong, `settled` resolves (never rejects). */
  const finishWith = async (context: Pick<ContinuationContext, 'state' | 'error'>, journal = true): Promise<void> => {
    if (settledOnce) return;
    settledOnce = true;
    let state = context.state;
    let error = context.error;
    try {
      latest = state;
      if (journal && !writer.failed) {
        try {
          await writer.write();
        } catch (cause) {
          if (error === null || error.code !== 'checkpoint_failed') {
            // The end could not be journaled: the durable state is the one before it. Say so; keep the answer.
            const failure = cause instanceof ControllerError ? cause : new ControllerError('checkpoint_failed', `writing the final checkpoint failed: ${(cause as Error).message}`, { cause });
            if (error === null) {
              error = failure;
              state = finish(state, 'failed', { error });
            }
          }
        }
      }
    } finally {
      const held = lease;
      lease = null;
      await held?.release().catch(() => {});
    }
    let result: RunResult;
    try {
      result = resultFromState(state.outcome === null ? finish(state, 'failed', { error }) : state, error, hub.listenerErrors);
    } catch (cause) {
      const fallback = new ControllerError('checkpoint_invalid', `the run's state cannot be reported: ${(cause as Error).message}`, { cause });
      result = resultFromState(finish(initial, 'failed', { error: fallback }), fallback, hub.listenerErrors);
    }
    cleanup();
    hub.emit({ type: 'run_end', runId, at: now(), status: result.status, stopReason: result.stopReason, errorCode: result.error?.code ?? null });
    await hub.close().catch(() => {});
    resolveSettled(result);
  };
  /** Ends the run before its machine started (no lease, a lease lost, a store that failed). */
  const failEarly = (state: RunState, error: ControllerError, journal = false): Promise<void> =>
    finishWith({ state: finish({ ...state, outcome: null }, 'failed', { error }), error }, journal);

  const begin = async (): Promise<void> => {
    hub.emit({ type: 'run_start', runId, at: now(), resumed: launchContext.resumed, phase: initial.phase });
    if (initial.phase === 'done') {
      // A finished run: give its result back, run nothing, write nothing.
      return finishWith({ state: initial, error: null }, false);
    }
    // One owner per run: take the lease before anything runs or is written.
    let owned: CheckpointLease;
    try {
      owned = await store.acquire(runId);
    } catch (cause) {
      const error = cause instanceof ControllerError ? cause : new ControllerError('checkpoint_failed', `taking the run's lease failed: ${(cause as Error).message}`, { cause });
      return failEarly(initial, error);
    }
    lease = owned;
    if (owned.tookOver) hub.emit({ type: 'lease_takeover', runId, at: now(), previous: owned.tookOver.holder, reason: owned.tookOver.reason });
    let start = initial;
    let seq = launchContext.seq;
    if (launchContext.resumed) {
      // What was read before the lease may be stale: the previous owner may have gone on writing since.
      try {
        const stored = await store.load(runId);
        if (stored !== null && stored.state.runId === runId && stored.seq > seq) {
          start = resumedState(stored, options as ResumeOptions);
          seq = stored.seq;
          latest = start;
        }
      } catch (cause) {
        const error = cause instanceof ControllerError ? cause : new ControllerError('checkpoint_invalid', (cause as Error).message, { cause });
        return failEarly(initial, error);
      }
      if (start.phase === 'done') return finishWith({ state: start, error: null }, false);
    }
    openWriter(owned, seq);
    startMachine(start);
  };

  const startMachine = (initial: RunState): void => {
    if (options.signal?.aborted) abort('caller', options.signal.reason);
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const deadlineAt = initial.settings.budgets.deadlineAt;
    if (deadlineAt !== null) {
      // Chained past setTimeout's 2^31-1 ms: a run may outlive 24.8 days (waiting on a slow tool, say).
      cancelDeadline = setLongTimeout(() => abort('deadline', new ControllerError('budget_exceeded', 'deadline', { budget: 'deadline' })), Math.max(0, deadlineAt - now()));
    }
    lastStateName = 'starting';
    hub.emit({ type: 'state', runId, at: now(), state: lastStateName });
    // State events come from XState's inspection; skip the hook when nobody can see them.
    const observed = hub.active || userInspect !== undefined;
    const actor = createActor(machine, observed ? { input: { state: initial, env }, inspect } : { input: { state: initial, env } });
    actor.subscribe({
      complete: () => {
        void finishWith(actor.getSnapshot().context);
      },
      error: (cause) => {
        // A bug in a step or the machine, not a run outcome: still a typed, settled result.
        const error = cause instanceof ControllerError ? cause : new ControllerError('request_failed', `the controller failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
        void failEarly(latest, error, true);
      },
    });
    actor.start();
  };
  // Start on a later tick, so `handle.events()` called right after `startRun` sees `run_start`.
  queueMicrotask(() => {
    begin().catch((cause: unknown) => failEarly(latest, new ControllerError('request_failed', `the controller failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })));
  });

  const result = settled.then((r) => {
    if (r.error && (r.status === 'failed' || r.status === 'budget_exceeded')) throw r.error;
    return r;
  });
  result.catch(() => {}); // the caller may only use `settled`

  return {
    runId,
    result,
    settled,
    events: () => hub.iterate(),
    abort: (reason?: unknown) => abort('caller', reason ?? new Error('aborted')),
  };
}
