import type { ListenerError } from '../turn/errors.js';
import type {
  BetaContentBlock,
  BetaMessage,
  BetaMessageParam,
  BetaRefusalStopDetails,
  BetaToolResultBlockParam,
  BetaToolResultContentBlockParam,
  MessageCreateParamsBase,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { BetaToolRunContext } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import type { ControllerError, ControllerErrorCode, ControllerErrorJSON } from './errors.js';
import type { UsageTotals } from './usage.js';

/**
 * Every field of a Messages request except `messages` and `stream`, which the
 * controller owns. `max_tokens` is the starting value; the `raise` policy may
 * grow it for later requests.
 */
export type RequestParams = Omit<MessageCreateParamsBase, 'messages' | 'stream'>;

/** A full streaming request as the controller sends it. */
export type StreamRequestParams = RequestParams & { messages: BetaMessageParam[] };

/**
 * How a run ended. The CLI exits 0 for `completed` and `stopped`, 1 for the rest.
 *
 * - `completed`: `end_turn` — the model finished its turn.
 * - `stopped`: `stop_sequence` — one of the request's `stop_sequences` was
 *   generated; `stopSequence` says which. A deliberate stop, so a success.
 * - `refused`: `refusal` — the model declined; `stopDetails` says why. Never
 *   retried, and no request follows it.
 * - `incomplete`: the output was cut off and the policy says not to go on:
 *   `max_tokens` under the `stop` policy (or `raise` at its ceiling, or
 *   `continue` with nothing left to continue from), or
 *   `model_context_window_exceeded`. `reason` says which; `message` holds the
 *   partial output and `dropped` the blocks the stream layer removed from it.
 * - `budget_exceeded`: a cap in {@link Budgets} stopped the run before the next
 *   request or tool batch (or the deadline aborted one in flight). Resumable
 *   with a larger budget.
 * - `failed`: a {@link ControllerError} other than a budget stopped the run
 *   (`error.code` says which).
 * - `awaiting_approval`: `approveToolCall` deferred one or more calls of the
 *   open tool batch; `awaitingApproval` lists them. Nothing is an error: the
 *   run is resumable with `approvals` for those ids.
 */
export type RunStatus = 'completed' | 'stopped' | 'refused' | 'incomplete' | 'budget_exceeded' | 'failed' | 'awaiting_approval';

/**
 * What to do when a segment stops on `max_tokens`.
 *
 * - `stop` (default): end the run with status `incomplete`.
 * - `continue`: append the partial assistant message (incomplete blocks already
 *   dropped by the stream layer, trailing whitespace trimmed because the API
 *   rejects a final assistant turn ending in whitespace) and request again so
 *   the model carries on from it. Counts as a continuation.
 * - `raise`: repeat the same request with `max_tokens` multiplied by
 *   `maxTokensRaiseFactor`, up to `maxTokensCeiling`; at the ceiling, stop as
 *   `incomplete`. The cut-off output is discarded (its usage still counts).
 *   Counts as a continuation, since it is another billed request.
 */
export type MaxTokensPolicy = 'stop' | 'continue' | 'raise';

/** Why the controller makes a request: the first, or which stop reason led to it. */
export type RequestKind = 'initial' | 'tool_results' | 'pause_turn' | 'compaction' | 'max_tokens_continue' | 'max_tokens_raise';

/** Caps that stop a run with a `budget_exceeded` error. `null` means no cap. */
export interface BudgetSettings {
  /** Requests after the first one (tool results, pause_turn, max_tokens continue/raise). Retries do not count. */
  maxContinuations: number | null;
  /** Client tool calls run in the whole run. */
  maxToolCalls: number | null;
  /** Input + output + cache tokens over all segments (see `totalTokens`). Checked before each further request. */
  maxTotalTokens: number | null;
  /** Absolute wall-clock deadline (epoch ms). */
  deadlineAt: number | null;
}

/** Mid-stream retry settings. HTTP-level retries are the SDK's (`maxRetries` on the client). */
export interface RetrySettings {
  /** Retries of one request after a mid-stream failure. Default 3. */
  maxRetries: number;
  /** First backoff; doubles on each retry. Default 500 ms. */
  baseDelayMs: number;
  /** Largest backoff before jitter. Default 8000 ms. */
  maxDelayMs: number;
  /** `event: error` types that are retried. Default overloaded_error, api_error. */
  retryOnApiErrors: string[];
}

/** Everything about a run's behaviour that a checkpoint keeps, so a resume behaves the same. */
export interface RunSettings {
  maxTokensPolicy: MaxTokensPolicy;
  maxTokensCeiling: number;
  maxTokensRaiseFactor: number;
  budgets: BudgetSettings;
  /** Identical consecutive calls (same tool, same input) that stop the run. 0 disables. Default 3. */
  stuckLoopThreshold: number;
  toolConcurrency: number;
  /** Per-call timeout unless the tool sets `timeoutMs`. Default 120 000 ms. */
  toolTimeoutMs: number;
  retry: RetrySettings;
  /**
   * The run was started with an `approveToolCall` hook: a resume must be given
   * one too (functions are not checkpointed), or later tool calls would run
   * unasked. Absent in checkpoints written before approvals existed.
   */
  requiresApproval?: boolean | undefined;
}

/**
 * Who owns a run: the holder of its checkpoint store's lease. For the file
 * store, the content of the lock file.
 */
export interface LeaseHolder {
  pid: number;
  host: string;
  /** Random per lease: tells two leases of one process apart. */
  token: string;
  acquiredAt: number;
  /** Epoch ms; renewed while the run is live. Past it, the lease is stale whoever holds it. */
  expiresAt: number;
}

/** What a tool call produced, as it goes into the `tool_result` block. */
export interface ToolResult {
  content: NonNullable<BetaToolResultBlockParam['content']>;
  is_error: boolean;
}

/**
 * The journal entry of one client tool call. `started` is written (and made
 * durable) before the tool runs and `done` after, so a resume knows which calls
 * ran, which did not, and which are in doubt.
 */
export interface ToolCallRecord {
  id: string;
  name: string;
  input: unknown;
  /** Index of the segment whose message asked for it. */
  segment: number;
  status: 'pending' | 'started' | 'done';
  result: ToolResult | null;
  /** How many times `run` was entered (more than 1 only after a resume re-ran a retry-safe tool). */
  attempts: number;
  startedAt: number | null;
  durationMs: number | null;
  /**
   * The raw input, when the call's streamed input was not valid JSON
   * (fine-grained tool streaming): the call is journaled `done` at once with
   * an `is_error` result and never run — nor asked about on resume.
   */
  invalidInput?: string;
  /**
   * The approval decision for this call, journaled (durably) before it is
   * acted on: `approved` calls run as usual, `denied` ones are `done` with an
   * `is_error` result carrying the message and never run, `deferred` ones
   * stay `pending` until a resume decides them. Absent without approvals.
   */
  approval?: ApprovalRecord;
}

/** One journaled approval decision. */
export interface ApprovalRecord {
  decision: 'approved' | 'denied' | 'deferred';
  /** For `denied`: the message the model gets as the `is_error` tool_result. */
  message?: string;
  /** Who decided: the `approveToolCall` hook, or the `approvals` of a resume. */
  source: 'hook' | 'resume';
  at: number;
}

/** One model response of the run. */
export interface SegmentRecord {
  index: number;
  kind: RequestKind;
  stopReason: string | null;
  stopSequence: string | null;
  usage: UsageTotals;
  durationMs: number;
  startedAt: number;
  requestId: string | null;
  messageId: string | null;
  model: string | null;
  /** `max_tokens` of the request. */
  maxTokens: number;
  /** Mid-stream retries before this segment succeeded. */
  retries: number;
}

/** A failed attempt that was retried. Not a segment and not a continuation. */
export interface RetryRecord {
  /** The index the segment will have once it succeeds. */
  segment: number;
  attempt: number;
  code: string;
  apiErrorType: string | null;
  message: string;
  delayMs: number;
  requestId: string | null;
  at: number;
  /** Usage the failed attempt reported before it died (not added to the totals). */
  usage: UsageTotals | null;
}

/** A block the stream layer removed from a message (max_tokens cut it). */
export interface DroppedRecord {
  segment: number;
  index: number;
  type: string;
  reason: string;
  partial: string;
  block: BetaContentBlock;
}

/** How a run ended, as the checkpoint stores it. */
export interface Outcome {
  status: RunStatus;
  stopReason: string | null;
  stopSequence: string | null;
  stopDetails: BetaRefusalStopDetails | null;
  reason: string | null;
  error: ({ code: ControllerErrorCode; message: string } & ControllerErrorJSON) | null;
}

/** Where a run stands between steps. */
export type RunPhase = 'requesting' | 'running_tools' | 'done';

/**
 * The whole state of a run: what a checkpoint holds and what the machine's
 * context carries. JSON-safe by construction (no Infinity, no functions).
 */
export interface RunState {
  runId: string;
  startedAt: number;
  params: RequestParams;
  /** `max_tokens` for the next request. */
  maxTokens: number;
  messages: BetaMessageParam[];
  phase: RunPhase;
  /** Why the next (or in-flight) request is made. */
  nextRequest: RequestKind;
  continuations: number;
  /** Tool calls opened so far (what the `tool_calls` budget counts). */
  toolCallCount: number;
  usage: UsageTotals;
  segments: SegmentRecord[];
  retries: RetryRecord[];
  toolCalls: ToolCallRecord[];
  /** Ids of the open tool batch, in the order of their tool_use blocks. */
  batch: string[];
  dropped: DroppedRecord[];
  /** The last segment's message as received. */
  lastMessage: BetaMessage | null;
  outcome: Outcome | null;
  settings: RunSettings;
}

/** Output of a tool's `run`: a string, or content blocks for the tool_result. */
export type ToolRunOutput = string | Array<BetaToolResultContentBlockParam>;

/**
 * A client tool the controller can run: the SDK's runnable-tool shape
 * (`{ name, description, input_schema, run(input, context) }`, as made by
 * `betaTool` / `betaZodTool`), plus two optional turnstate fields.
 * Every field except `run`, `parse`, `close`, `retrySafe` and `timeoutMs` is
 * sent to the API as the tool's definition.
 */
export interface RunnableTool<Input = any> {
  readonly name: string;
  readonly description?: string | undefined;
  /** JSON Schema of the input (`type: 'object'`), as the API takes it. */
  readonly input_schema?: unknown;
  run(input: Input, context?: BetaToolRunContext): ToolRunOutput | Promise<ToolRunOutput>;
  /** Validates/parses the raw input (the SDK helpers set it); a throw becomes an error result. */
  parse?: ((content: unknown) => Input) | undefined;
  /**
   * The tool may run again for the same call without harm (it is idempotent or
   * has no side effects). Only such a tool is re-run on resume when the journal
   * says it started but recorded no result.
   */
  retrySafe?: boolean | undefined;
  /** Per-call timeout for this tool (ms). */
  timeoutMs?: number | undefined;
}

/** The final answer of a run. */
export interface RunResult {
  runId: string;
  status: RunStatus;
  /** The last segment's stop reason (null if none arrived). */
  stopReason: string | null;
  /** The text of the final assistant message (its text blocks joined). */
  text: string;
  /** The last segment's message exactly as received. */
  message: BetaMessage | null;
  /** The transcript: the input messages and everything the run added. */
  messages: BetaMessageParam[];
  usage: UsageTotals;
  segments: SegmentRecord[];
  retries: RetryRecord[];
  toolCalls: ToolCallRecord[];
  dropped: DroppedRecord[];
  stopSequence: string | null;
  stopDetails: BetaRefusalStopDetails | null;
  /** For `incomplete`: why (`max_tokens`, `model_context_window_exceeded`, …). */
  reason: string | null;
  error: ControllerError | null;
  /** For `awaiting_approval`: the deferred calls of the open batch, in tool_use order (else empty). */
  awaitingApproval: readonly { readonly id: string; readonly name: string; readonly input: unknown }[];
  /**
   * Event callbacks (`on`, `onEvent`) that threw: each caught — the run went on
   * exactly as if it had returned — and kept here (`listener_failed`, the
   * controller event type as `listener`, the thrown value as `cause`). Not journaled.
   */
  listenerErrors: readonly ListenerError[];
  /** The final state, as the last checkpoint holds it. */
  state: RunState;
}
