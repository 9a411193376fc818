/**
 * The pure state changes of a run, one function per step. The continuation
 * machine's actions are thin wrappers around these, so every change to
 * {@link RunState} can be read (and tested) without a running actor.
 */
import type { BetaMessage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { DroppedBlock } from '../assemble/types.js';
import type { ControllerError } from './errors.js';
import { appendPartialForContinue, appendResponse, appendToolResults, toolUseBlocks } from './history.js';
import type { SegmentFailure } from './retry.js';
import type { Outcome, RequestKind, RunState, RunStatus, StreamRequestParams, ToolCallRecord } from './types.js';
import { addUsage, normalizeUsage } from './usage.js';

/** A received segment, as the machine hands it to the steps. */
export interface ReceivedSegment {
  readonly message: BetaMessage;
  readonly dropped: readonly DroppedBlock[];
  readonly requestId: string | null;
  readonly startedAt: number;
  readonly durationMs: number;
}

/** The request the state asks for next. */
export function requestParams(state: RunState): StreamRequestParams {
  return { ...state.params, max_tokens: state.maxTokens, messages: state.messages };
}

/** Logs a segment and adds its usage. Does not touch the transcript: what goes there depends on the stop reason. */
export function recordSegment(state: RunState, segment: ReceivedSegment, retries: number): RunState {
  const index = state.segments.length;
  const usage = normalizeUsage(segment.message.usage);
  const message = segment.message;
  return {
    ...state,
    usage: addUsage(state.usage, usage),
    segments: [
      ...state.segments,
      {
        index,
        kind: state.nextRequest,
        stopReason: message.stop_reason ?? null,
        stopSequence: message.stop_sequence ?? null,
        usage,
        durationMs: segment.durationMs,
        startedAt: segment.startedAt,
        requestId: segment.requestId,
        messageId: message.id ?? null,
        model: message.model ?? null,
        maxTokens: state.maxTokens,
        retries,
      },
    ],
    dropped:
      segment.dropped.length === 0
        ? state.dropped
        : [
            ...state.dropped,
            ...segment.dropped.map((d) => ({ segment: index, index: d.index, type: d.type, reason: d.reason, partial: d.partial, block: d.block })),
          ],
    lastMessage: message,
  };
}

export function recordRetry(state: RunState, failure: SegmentFailure, attempt: number, delayMs: number, at: number): RunState {
  const partial = failure.details.partialUsage;
  return {
    ...state,
    retries: [
      ...state.retries,
      {
        segment: state.segments.length,
        attempt,
        code: failure.code,
        apiErrorType: failure.details.apiErrorType ?? null,
        message: failure.message,
        delayMs,
        requestId: failure.details.requestId ?? null,
        at,
        usage: partial && typeof partial === 'object' ? normalizeUsage(partial) : null,
      },
    ],
  };
}

/** The assistant message goes into history exactly as received (merged into a paused turn). */
export function appendSegment(state: RunState, message: BetaMessage): RunState {
  return { ...state, messages: appendResponse(state.messages, message) };
}

/** max_tokens + continue: the trimmed partial goes in; null when nothing usable is left. */
export function appendPartial(state: RunState, message: BetaMessage): RunState | null {
  const messages = appendPartialForContinue(state.messages, message);
  return messages === null ? null : { ...state, messages };
}

/** Journals the message's tool calls as `pending` and opens them as the batch. */
export function openToolBatch(state: RunState, message: BetaMessage): RunState {
  const segment = state.segments.length - 1;
  const calls: ToolCallRecord[] = toolUseBlocks(message).map((block) => ({
    id: block.id,
    name: block.name,
    input: block.input,
    segment,
    status: 'pending',
    result: null,
    attempts: 0,
    startedAt: null,
    durationMs: null,
  }));
  return {
    ...state,
    phase: 'running_tools',
    toolCalls: [...state.toolCalls, ...calls],
    batch: calls.map((call) => call.id),
    toolCallCount: state.toolCallCount + calls.length,
  };
}

/** The open batch's records, in tool_use order. */
export function batchCalls(state: RunState): ToolCallRecord[] {
  const start = state.toolCalls.length - state.batch.length;
  return state.toolCalls.slice(start);
}

/** Records the batch's final records and appends ONE user message with every tool_result, in tool_use order. */
export function closeToolBatch(state: RunState, records: readonly ToolCallRecord[]): RunState {
  const start = state.toolCalls.length - state.batch.length;
  return {
    ...state,
    toolCalls: [...state.toolCalls.slice(0, start), ...records],
    // A tool_use stop with no client tool_use block (server tools only) has nothing to answer.
    messages: records.length === 0 ? state.messages : appendToolResults(state.messages, records),
    batch: [],
    phase: 'requesting',
  };
}

/** Another request will follow: count it as a continuation of the given kind. */
export function planContinuation(state: RunState, kind: RequestKind): RunState {
  return { ...state, phase: 'requesting', nextRequest: kind, continuations: state.continuations + 1 };
}

/** The next `max_tokens` under the `raise` policy, or null at the ceiling. */
export function raisedMaxTokens(state: RunState): number | null {
  const { maxTokensCeiling, maxTokensRaiseFactor } = state.settings;
  if (state.maxTokens >= maxTokensCeiling) return null;
  return Math.min(maxTokensCeiling, Math.max(state.maxTokens + 1, Math.ceil(state.maxTokens * maxTokensRaiseFactor)));
}

/**
 * Failures after which the same run can go on (with a larger budget, a
 * decision, or simply again). The others are final: going on would only repeat
 * them.
 */
const RESUMABLE = new Set(['budget_exceeded', 'retries_exhausted', 'request_failed', 'stream_failed', 'tool_needs_decision', 'checkpoint_failed', 'aborted']);

/** Marks the run as ended. A resumable failure keeps its phase so `resume` can go on from it. */
export function finish(state: RunState, status: RunStatus, details: { reason?: string | null; error?: ControllerError | null } = {}): RunState {
  const message = state.lastMessage;
  const error = details.error ?? null;
  const outcome: Outcome = {
    status,
    stopReason: message?.stop_reason ?? null,
    stopSequence: status === 'stopped' ? (message?.stop_sequence ?? null) : null,
    stopDetails: status === 'refused' ? (message?.stop_details ?? null) : null,
    reason: details.reason ?? null,
    error: error === null ? null : (error.toJSON() as Outcome['error']),
  };
  const resumable = error !== null && RESUMABLE.has(error.code);
  return { ...state, outcome, phase: resumable ? state.phase : 'done' };
}
