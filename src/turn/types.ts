import type {
  BetaContentBlock,
  BetaMessage,
  BetaStopReason,
  BetaTextCitation,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { InspectionEvent, Observer } from 'xstate';
import type { Diagnostic, DroppedBlock, InvalidToolInput, StreamingMessage } from '../assemble/types.js';
import type { TurnstateError } from '../errors.js';
import type { StreamEvent, UnknownEvent } from '../sse/events.js';

export interface TurnOptions {
  /**
   * Unknown event and delta types, and a block index repeated right after a
   * server tool result, become errors instead of diagnostics. Default false.
   */
  readonly strict?: boolean;
  /** Largest SSE line or event, in characters, before `line_too_long`. Default 64 MiB. */
  readonly maxEventSize?: number;
  /**
   * `boundaries` (default): the actor steps on every event that can change
   * state; deltas that fit the open block are applied by the same guard
   * without a step. `every-event`: every event is an actor step — slower,
   * for watching each delta in the inspector.
   */
  readonly actorSteps?: 'boundaries' | 'every-event';
  /** XState inspection hook, e.g. `createBrowserInspector().inspect` from @statelyai/inspect. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Listeners, as with `turn.on(...)`. */
  readonly on?: Partial<TurnHandlers>;
}

/**
 * What a stream tells its listeners: the SDK MessageStream's names and
 * argument order (`text(textDelta, textSnapshot)`, …), plus turnstate's own
 * (`event`, `stop`, `diagnostic`, `state`, `error`). Snapshots are computed
 * only for listeners that are registered. A listener that throws never changes
 * what is parsed: the error is caught and reported as a `listener_failed`
 * diagnostic (see the README, "Listeners that throw").
 */
export interface TurnHandlers {
  /** Every event after message_start but pings (as the SDK's), with the message so far. */
  streamEvent(event: StreamEvent | UnknownEvent, snapshot: StreamingMessage): void;
  /** A text block grew: the delta, and the block's whole text so far. */
  text(textDelta: string, textSnapshot: string): void;
  /** A citation arrived: it, and the block's citations so far. */
  citation(citation: BetaTextCitation, citationsSnapshot: BetaTextCitation[]): void;
  thinking(thinkingDelta: string, thinkingSnapshot: string): void;
  signature(signature: string): void;
  /** A compaction block got its content (beta). */
  compaction(compactedContent: string): void;
  /**
   * A tool block's input grew: the raw piece, and the input parsed so far —
   * by a linear incremental parser, so the value is one object updated in
   * place (not a fresh object per delta, as the SDK's re-parse gives);
   * `undefined` once the JSON is broken (judged at content_block_stop).
   */
  inputJson(partialJson: string, jsonSnapshot: unknown): void;
  /** A block got its content_block_stop. */
  contentBlock(block: BetaContentBlock): void;
  /** message_stop arrived: the message is complete. */
  message(message: BetaMessage): void;
  /** turnstate: every event, pings included, with its index in the stream. */
  event(event: StreamEvent | UnknownEvent, eventIndex: number): void;
  /** turnstate: the stop reason is known — message_delta arrived, or a message_start carried the finished message (programmatic tool calling) — and what max_tokens dropped. */
  stop(stopReason: BetaStopReason | null, dropped: readonly DroppedBlock[]): void;
  /** turnstate: something legal but noteworthy (an unknown event skipped, a listener that threw). */
  diagnostic(diagnostic: Diagnostic): void;
  /** turnstate: the machine moved to another state (names as the inspector shows them). */
  state(state: string): void;
  /** turnstate: the turn failed (the typed error, with the partial message). */
  error(error: TurnstateError): void;
}

/**
 * Where a stream stands. The stop reason is on the type only once `status`
 * says the closing message_delta has arrived, so branching early does not compile.
 */
export type TurnSnapshot =
  | { readonly status: 'awaiting_message'; readonly state: string; readonly message: null }
  | { readonly status: 'streaming'; readonly state: string; readonly message: StreamingMessage }
  | {
      /** The stop reason is known (message_delta arrived, or message_start carried the finished message); message_stop has not arrived. */
      readonly status: 'finishing';
      readonly state: string;
      readonly message: BetaMessage;
      readonly stopReason: BetaStopReason;
      readonly dropped: readonly DroppedBlock[];
    }
  | {
      readonly status: 'complete';
      readonly state: string;
      readonly message: BetaMessage;
      readonly stopReason: BetaStopReason;
      readonly dropped: readonly DroppedBlock[];
    }
  | {
      readonly status: 'failed';
      readonly state: string;
      readonly message: StreamingMessage | null;
      readonly error: TurnstateError;
      readonly dropped: readonly DroppedBlock[];
    };

interface TurnResultBase {
  readonly dropped: readonly DroppedBlock[];
  /**
   * Closed `tool_use` blocks whose input is not a JSON object, kept because the
   * stop reason is `tool_use` (fine-grained tool streaming). Their input in the
   * message is `{ INVALID_JSON: partial }`; do not run them — answer each with
   * an `is_error` tool_result. Empty under `strict` (that is an error there).
   */
  readonly invalidToolInputs: readonly InvalidToolInput[];
  readonly diagnostics: readonly Diagnostic[];
  /** The machine states visited, in order. */
  readonly trace: readonly string[];
  readonly eventCount: number;
}

/** A valid, complete stream: the message is ready to go back into history. */
export interface CompleteTurn extends TurnResultBase {
  readonly ok: true;
  readonly message: BetaMessage;
  readonly stopReason: BetaStopReason;
  readonly error: null;
}

/** Anything else: the typed error, and everything that did arrive. */
export interface FailedTurn extends TurnResultBase {
  readonly ok: false;
  /** The message assembled so far (its stop fields hidden unless message_delta arrived), or null before message_start. */
  readonly message: StreamingMessage | null;
  /** Known when message_delta arrived before the failure. */
  readonly stopReason: BetaStopReason | null;
  readonly error: TurnstateError;
}

export type TurnResult = CompleteTurn | FailedTurn;
