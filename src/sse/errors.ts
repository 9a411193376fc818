import type { DroppedBlock, StreamingMessage } from '../assemble/types.js';
import { TurnstateError } from '../errors.js';

/**
 * Why the bytes are not a usable event stream. Stable; new codes are only added.
 *
 * - `invalid_utf8`: the bytes are not UTF-8 (the SSE spec mandates UTF-8,
 *   https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).
 * - `line_too_long`: one line or event grew past `maxEventSize` characters before it ended.
 * - `invalid_json`: an event's `data` is not JSON.
 * - `malformed_event`: the JSON is not an event of the shape its `type` promises
 *   (e.g. a `content_block_delta` without a numeric `index` or a `delta` object).
 * - `event_name_mismatch`: the `event:` field names a different type than the JSON's `type`.
 * - `source_failed`: reading the input threw (a dropped connection, a stream error).
 * - `stalled`: an asynchronous source sent nothing for `idleTimeoutMs` (the read is
 *   cancelled; like a dropped connection, the controller retries it).
 * - `unsupported_source`: the input is none of the accepted kinds.
 * - `aborted`: the caller's AbortSignal fired.
 */
export type SseErrorCode =
  | 'invalid_utf8'
  | 'line_too_long'
  | 'invalid_json'
  | 'malformed_event'
  | 'event_name_mismatch'
  | 'source_failed'
  | 'stalled'
  | 'unsupported_source'
  | 'aborted';

/** The input could not be turned into Messages API events. */
export class SseError extends TurnstateError {
  override readonly name = 'SseError';
  readonly code: SseErrorCode;
  /** The message assembled before the bad input (set by the turn layer); null before message_start. */
  partial: StreamingMessage | null = null;
  dropped: readonly DroppedBlock[] = [];

  constructor(code: SseErrorCode, message: string, where?: { eventIndex?: number; byteOffset?: number; cause?: unknown }) {
    super(message, where?.cause === undefined ? undefined : { cause: where.cause });
    this.code = code;
    if (where?.eventIndex !== undefined) this.eventIndex = where.eventIndex;
    if (where?.byteOffset !== undefined) this.byteOffset = where.byteOffset;
  }
}
