/**
 * The base of every error turnstate throws or reports. Each layer has one
 * subclass with its own documented `code` union:
 *
 * - {@link SseError} (`src/sse`): the bytes are not a well-formed event stream.
 * - {@link StreamError} (`machines/stream.machine.ts`): the events break the
 *   Messages API grammar, the stream ended early, or the API sent `event: error`.
 * - {@link StopReasonError} (`src/assemble`): `stop_reason` was read before the
 *   closing `message_delta`.
 * - Controller errors (`src/controller`).
 *
 * Every error says where it happened and keeps what was assembled so far:
 * nothing a stream delivered is thrown away because a later byte was bad.
 */
export abstract class TurnstateError extends Error {
  abstract readonly code: string;
  /** Index of the event (0-based, pings included) the error is about; for an incomplete stream, the number of events received. */
  eventIndex: number | null = null;
  /** Byte offset in the input of that event's `data` payload, when the input was bytes. */
  byteOffset: number | null = null;

  /** The stable, machine-readable part of the error, as the CLI prints it. */
  toJSON(): { code: string; message: string; eventIndex: number | null; byteOffset: number | null } {
    return { code: this.code, message: this.message, eventIndex: this.eventIndex, byteOffset: this.byteOffset };
  }
}

export function isTurnstateError(value: unknown): value is TurnstateError {
  return value instanceof TurnstateError;
}
