import type { BetaStopReason } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { TurnstateError } from '../src/errors.js';
import type { DroppedBlock, StreamingMessage } from '../src/assemble/types.js';

/**
 * Why the machine rejected a stream. Stable; new codes are only added.
 *
 * - `unexpected_event`: a known event that the grammar does not allow here
 *   (a delta before its block starts, a second message_start, message_stop
 *   without message_delta, …).
 * - `block_index_mismatch`: a block event whose index is not the next block (start)
 *   or the open block (delta, stop). One exception, unless `strict`: a start
 *   right after a `*_tool_result` block that repeats its index is taken as the
 *   due block (diagnostic `block_index_repaired`).
 * - (`unexpected_event` also covers interleaved blocks: a content_block_start
 *   while another block is open.)
 * - `delta_type_mismatch`: a delta that does not fit the open block's type.
 * - `block_open_at_message_delta`: message_delta while a block is open, with a stop
 *   reason that does not truncate.
 * - `event_after_message_stop`: anything but ping after message_stop.
 * - `unknown_event_type` / `unknown_delta_type`: only with `strict: true`.
 * - `invalid_tool_input`: a closed tool block whose input JSON is not an object
 *   (when the stop reason does not truncate; when it does, the block is dropped).
 * - `incomplete_stream`: the input ended before message_stop.
 * - `api_error`: the API sent `event: error` (see `apiErrorType`).
 */
export type StreamErrorCode =
  | 'unexpected_event'
  | 'block_index_mismatch'
  | 'delta_type_mismatch'
  | 'block_open_at_message_delta'
  | 'event_after_message_stop'
  | 'unknown_event_type'
  | 'unknown_delta_type'
  | 'invalid_tool_input'
  | 'incomplete_stream'
  | 'api_error';

/**
 * The events break the Messages API grammar, the stream ended early, or the
 * API reported an error mid-stream. Always carries the message assembled so
 * far (`partial`) and the blocks already dropped: nothing is thrown away.
 */
export class StreamError extends TurnstateError {
  override readonly name = 'StreamError';
  readonly code: StreamErrorCode;
  /** The machine state the stream was in (as the inspector names it). */
  readonly state: string;
  /** What the grammar would have accepted there. */
  readonly expected: string;
  /** The type of the offending event, or null for an incomplete stream. */
  readonly got: string | null;
  /** For `api_error`: the API's error type (overloaded_error, api_error, …). */
  readonly apiErrorType: string | null;
  /** For `api_error`: the request id the API reported, if any. */
  readonly requestId: string | null;
  /** The message assembled up to the error; null before message_start. */
  partial: StreamingMessage | null = null;
  /** The stop reason, when message_delta arrived before the error. */
  stopReason: BetaStopReason | null = null;
  dropped: readonly DroppedBlock[] = [];

  constructor(
    code: StreamErrorCode,
    message: string,
    where: { eventIndex: number; byteOffset: number | null; state: string; expected: string; got: string | null; apiErrorType?: string; requestId?: string | null },
  ) {
    super(message);
    this.code = code;
    this.eventIndex = where.eventIndex;
    this.byteOffset = where.byteOffset;
    this.state = where.state;
    this.expected = where.expected;
    this.got = where.got;
    this.apiErrorType = where.apiErrorType ?? null;
    this.requestId = where.requestId ?? null;
  }
}
