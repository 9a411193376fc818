import { TurnstateError } from '../errors.js';
import type { LeaseHolder, RunResult } from './types.js';
import type { UsageTotals } from './usage.js';
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';

/**
 * Why the controller stopped a run that did not end on its own terms. Stable;
 * new codes are only added.
 *
 * - `budget_exceeded`: a cap in {@link Budgets} was reached (see `budget`). The
 *   run stops *before* the request or tool batch that would pass the cap.
 * - `stuck_loop`: the same tool was called with identical input
 *   `stuckLoopThreshold` times in a row (see `toolCall`).
 * - `duplicate_tool_use_id`: a `tool_use` id appeared twice in one run. The
 *   API pairs each result with its call by id, so a repeat is a protocol error.
 * - `unknown_stop_reason`: a `stop_reason` this controller does not know. We
 *   refuse to guess: an unknown reason is never treated as "done".
 * - `tool_needs_decision`: on resume, a tool call was journaled as started but
 *   has no recorded result, and its tool does not declare `retrySafe`. Running
 *   it again could repeat a side effect; not running it loses one. Every such
 *   call of the batch is named at once (`toolCalls`; `toolCall` is the
 *   first); pass a `decisions` entry for each to {@link resume}.
 * - `retries_exhausted`: a mid-stream failure (overloaded, api_error, dropped
 *   connection) happened more times in a row than `retry.maxRetries` allows.
 * - `request_failed`: the model request itself failed (an HTTP error after the
 *   SDK's own retries, a network error, a `createStream` that threw).
 * - `stream_failed`: the response was not a valid stream for a reason that a
 *   retry would not fix (bad grammar, bad JSON).
 * - `checkpoint_invalid`: a checkpoint failed validation (wrong format or version,
 *   missing fields).
 * - `checkpoint_failed`: writing a checkpoint failed. The run stops: going on
 *   without a journal would break the exactly-once promise.
 * - `aborted`: the caller's AbortSignal fired.
 * - `run_locked`: another live process (or another run in this one) holds the
 *   run's lease: a run has one owner at a time. `holder` names it (pid, host,
 *   when its lease expires). Resumable once the holder is gone.
 * - `invalid_options`: an option of {@link startRun} / {@link resume} is out of
 *   range (a negative or NaN timeout, budget or retry delay, a tool whose
 *   `timeoutMs` is such). Thrown before the run starts; the message names the
 *   option.
 * - `approval_failed`: the `approveToolCall` hook threw (or rejected, or
 *   returned something that is not `{ approve: true }`, `{ deny: message }`
 *   or `{ defer: true }`) for the call `toolCall` names. Nothing of the batch
 *   ran and no decision of it was journaled; resumable (the hook is asked again).
 * - `invalid_approval`: an `approvals` entry of a resume is not one: its id
 *   (`toolUseId`) is not a call of the open batch that awaits a decision, or it
 *   contradicts the decision already journaled, or its value is not
 *   `{ approve: true }` / `{ deny: message }`. Thrown before the run starts.
 */
export type ControllerErrorCode =
  | 'budget_exceeded'
  | 'stuck_loop'
  | 'duplicate_tool_use_id'
  | 'unknown_stop_reason'
  | 'tool_needs_decision'
  | 'retries_exhausted'
  | 'request_failed'
  | 'stream_failed'
  | 'checkpoint_invalid'
  | 'checkpoint_failed'
  | 'aborted'
  | 'run_locked'
  | 'invalid_options'
  | 'approval_failed'
  | 'invalid_approval'
  /** TurnRunner: the conversation was changed while a run was in flight. */
  | 'run_in_progress';

/** Which cap of {@link Budgets} a `budget_exceeded` error is about. */
export type BudgetName = 'continuations' | 'tool_calls' | 'tokens' | 'deadline';

/** The tool call a `stuck_loop` or `tool_needs_decision` error is about. */
export interface ErrorToolCall {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

export interface ControllerErrorDetails {
  readonly budget?: BudgetName;
  /** For `budget_exceeded`: the cap, and the amount used or wanted. */
  readonly limit?: number;
  readonly used?: number;
  readonly toolCall?: ErrorToolCall;
  /** For `tool_needs_decision`: every call in doubt (`toolCall` is the first). */
  readonly toolCalls?: readonly ErrorToolCall[];
  readonly stopReason?: string;
  readonly toolUseId?: string;
  /** For `run_locked`: who holds the run's lease. */
  readonly holder?: LeaseHolder;
  readonly cause?: unknown;
}

/**
 * The controller layer's error. Besides its `code`, it carries everything the
 * run had done when it stopped — the transcript, the summed usage and, once the
 * run has finished, the whole {@link RunResult} — so a caller never loses work
 * to an error: nothing is silently truncated.
 */
export class ControllerError extends TurnstateError {
  override readonly name = 'ControllerError';
  readonly code: ControllerErrorCode;
  readonly budget: BudgetName | null;
  readonly limit: number | null;
  readonly used: number | null;
  readonly toolCall: ErrorToolCall | null;
  /** For `tool_needs_decision`: every call in doubt, in batch order (`toolCall` is the first). */
  readonly toolCalls: readonly ErrorToolCall[] | null;
  readonly stopReason: string | null;
  readonly toolUseId: string | null;
  readonly holder: LeaseHolder | null;
  /** The transcript when the run stopped. */
  messages: BetaMessageParam[] = [];
  /** Usage summed over every segment received before the run stopped. */
  usage: UsageTotals | null = null;
  /** The run's result (status `budget_exceeded` or `failed`), attached when the run settles. */
  result: RunResult | null = null;

  constructor(code: ControllerErrorCode, message: string, details: ControllerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.budget = details.budget ?? null;
    this.limit = details.limit ?? null;
    this.used = details.used ?? null;
    this.toolCall = details.toolCall ?? null;
    this.toolCalls = details.toolCalls ?? null;
    this.stopReason = details.stopReason ?? null;
    this.toolUseId = details.toolUseId ?? null;
    this.holder = details.holder ?? null;
  }

  override toJSON(): ReturnType<TurnstateError['toJSON']> & ControllerErrorJSON {
    const json: ControllerErrorJSON = {};
    if (this.budget !== null) json.budget = this.budget;
    if (this.limit !== null) json.limit = this.limit;
    if (this.used !== null) json.used = this.used;
    if (this.toolCall !== null) json.toolCall = this.toolCall;
    if (this.toolCalls !== null) json.toolCalls = [...this.toolCalls];
    if (this.stopReason !== null) json.stopReason = this.stopReason;
    if (this.toolUseId !== null) json.toolUseId = this.toolUseId;
    if (this.holder !== null) json.holder = this.holder;
    const cause = this.cause;
    if (cause instanceof TurnstateError) json.cause = cause.toJSON();
    else if (cause instanceof Error) json.cause = { name: cause.name, message: cause.message };
    return { ...super.toJSON(), ...json };
  }

  /** Rebuilds an error from its JSON (as stored in a checkpoint). */
  static fromJSON(json: { code: ControllerErrorCode; message: string } & ControllerErrorJSON): ControllerError {
    const details: { -readonly [K in keyof ControllerErrorDetails]: ControllerErrorDetails[K] } = {};
    if (json.budget !== undefined) details.budget = json.budget;
    if (json.limit !== undefined) details.limit = json.limit;
    if (json.used !== undefined) details.used = json.used;
    if (json.toolCall !== undefined) details.toolCall = json.toolCall;
    if (json.toolCalls !== undefined) details.toolCalls = json.toolCalls;
    if (json.stopReason !== undefined) details.stopReason = json.stopReason;
    if (json.toolUseId !== undefined) details.toolUseId = json.toolUseId;
    if (json.holder !== undefined) details.holder = json.holder;
    return new ControllerError(json.code, json.message, details);
  }
}

/** The extra fields {@link ControllerError.toJSON} adds to the base ones. */
export interface ControllerErrorJSON {
  budget?: BudgetName;
  limit?: number;
  used?: number;
  toolCall?: ErrorToolCall;
  toolCalls?: ErrorToolCall[];
  stopReason?: string;
  toolUseId?: string;
  holder?: LeaseHolder;
  cause?: { code?: string; name?: string; message: string };
}

export function isControllerError(value: unknown): value is ControllerError {
  return value instanceof ControllerError;
}
