import type { TurnstateError } from '../errors.js';
import type { BetaContentBlock, BetaMessage, BetaStopReason } from '@anthropic-ai/sdk/resources/beta/messages/messages';

/** The three fields a stream leaves null until its closing `message_delta`. */
export type StopFields = 'stop_reason' | 'stop_sequence' | 'stop_details';

/**
 * A message whose stop is not known yet. The stop fields are absent from the
 * type, so branching on them is a compile error; at runtime reading them
 * throws {@link StopReasonError}.
 */
export type StreamingMessage = Omit<BetaMessage, StopFields>;

/** Why max_tokens (or model_context_window_exceeded) cost a block its place in the message. */
export type DropReason =
  /** The block never got its content_block_stop. */
  | 'unclosed'
  /** The tool input JSON did not parse to an object. */
  | 'invalid_input'
  /** A thinking block cut before its signature_delta: the API would reject it in history. */
  | 'missing_signature';

/** A block removed from the message so it can go back into history — reported, not lost. */
export interface DroppedBlock {
  /** Its index in the stream. */
  readonly index: number;
  readonly type: string;
  readonly reason: DropReason;
  /** The raw content that did arrive: the partial input JSON, or the thinking text. */
  readonly partial: string;
  /** The block as it stood when dropped. */
  readonly block: BetaContentBlock;
}

/**
 * A closed `tool_use` block whose input is not a JSON object, accepted because
 * the stop reason is `tool_use` (fine-grained tool streaming,
 * `eager_input_streaming: true`, streams input the API never validated). In the
 * message its input is `{ INVALID_JSON: partial }`, the wrapping Anthropic's
 * fine-grained streaming docs suggest for sending invalid tool JSON back; the
 * tool must not be run. `strict` makes it `invalid_tool_input` instead.
 */
export interface InvalidToolInput {
  /** Its index in the stream. */
  readonly index: number;
  readonly id: string;
  readonly name: string;
  /** The raw input JSON as it arrived. */
  readonly partial: string;
  /** Why it is not usable, e.g. the JSON.parse message. */
  readonly reason: string;
}

/** The key the raw string of an invalid tool input is wrapped under in the message. */
export const INVALID_JSON_KEY = 'INVALID_JSON';

/** Something legal but noteworthy that was skipped or repaired; never silent. */
export type Diagnostic = SkippedDiagnostic | BlockIndexRepaired | ListenerFailed;

export interface SkippedDiagnostic {
  readonly code: 'unknown_event_type' | 'unknown_delta_type' | 'unknown_sse_field' | 'invalid_sse_retry' | 'cut_after_message_stop';
  readonly message: string;
  readonly eventIndex: number;
}

/** A listener threw; parsing went on unchanged (see TurnParser). */
export interface ListenerFailed {
  readonly code: 'listener_failed';
  readonly message: string;
  /** The event being handled when it threw (0 before any). */
  readonly eventIndex: number;
  /** A `ListenerError` (`code` `listener_failed`, `listener`), the thrown value as its `cause`. */
  readonly error: TurnstateError;
}

/**
 * A content_block_start that repeated the previous block's index right after a
 * server tool result (`*_tool_result`) was taken as the due block (`strict`
 * rejects it with `block_index_mismatch`).
 */
export interface BlockIndexRepaired {
  readonly code: 'block_index_repaired';
  readonly message: string;
  readonly eventIndex: number;
  /** The index the block was due at, and is assembled at. */
  readonly expected: number;
  /** The index the content_block_start carried. */
  readonly got: number;
}

export type { BetaMessage, BetaStopReason, BetaContentBlock };
