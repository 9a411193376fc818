import { TurnstateError } from '../errors.js';

/**
 * - `stop_reason_not_available`: `stop_reason`, `stop_sequence` or
 *   `stop_details` was read before the closing `message_delta`. In a stream they
 *   are null until then, so a loop that branches on them early decides wrongly.
 */
export type StopReasonErrorCode = 'stop_reason_not_available';

/** Thrown when a stop field is read before the stream has said how the message stopped. */
export class StopReasonError extends TurnstateError {
  override readonly name = 'StopReasonError';
  readonly code: StopReasonErrorCode = 'stop_reason_not_available';
  readonly field: string;

  constructor(field: string, eventIndex: number) {
    super(
      `${field} read before the closing message_delta (after ${eventIndex} events): it is not known yet. ` +
        `Wait for the snapshot status 'finishing' or 'complete', or for the final message.`,
    );
    this.field = field;
    this.eventIndex = eventIndex;
  }
}
