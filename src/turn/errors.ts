import { TurnstateError } from '../errors.js';

/**
 * Why the turn layer reports something that is not about the stream itself.
 * Stable; new codes are only added.
 *
 * - `listener_failed`: a listener threw. The error is caught: parsing goes on
 *   exactly as if the listener had returned, and the failure is reported
 *   (a `listener_failed` diagnostic carrying this error).
 */
export type ListenerErrorCode = 'listener_failed';

/** A listener (or controller callback) threw; what was parsed is unaffected. */
export class ListenerError extends TurnstateError {
  override readonly name = 'ListenerError';
  readonly code: ListenerErrorCode = 'listener_failed';
  /** The listener's event name (`text`, `contentBlock`, … or a controller event type). */
  readonly listener: string;

  constructor(listener: string, cause: unknown, where: { eventIndex: number | null; byteOffset: number | null }) {
    super(`a "${listener}" listener threw: ${describe(cause)}`, { cause });
    this.listener = listener;
    this.eventIndex = where.eventIndex;
    this.byteOffset = where.byteOffset;
  }
}

/** A safe one-line description of anything thrown (even a null-prototype object or one whose toString throws). */
export function describe(value: unknown): string {
  try {
    if (value instanceof Error) return value.message;
    if (typeof value === 'string') return value;
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * What a TurnStream's promises can say beyond the stream's own errors.
 * Stable; new codes are only added.
 *
 * - `no_message`: the stream ended without a message (`finalMessage()`).
 * - `no_text_block`: the final message has no text block (`finalText()`).
 * - `no_response`: `withResponse()` on a stream made from a ReadableStream.
 * - `request_failed`: the request threw something that is not an Error.
 */
export type TurnStreamErrorCode = 'no_message' | 'no_text_block' | 'no_response' | 'request_failed';

/** A TurnStream was asked for something its stream did not produce. */
export class TurnStreamError extends TurnstateError {
  override readonly name = 'TurnStreamError';
  readonly code: TurnStreamErrorCode;

  constructor(code: TurnStreamErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
