/**
 * turnstate: strict, fast parsing of Claude Messages API streams, and the
 * agent loop that branches on their stop reason — never on their text.
 *
 * bytes → `src/sse` (framing, events) → `machines/stream.machine.ts` (grammar)
 * → `src/assemble` (the message) → `src/turn` (the APIs below).
 */
export { TurnParser } from './turn/turn-parser.js';
export { parseTurn, parseTurnSync, iterateTurn, type ParseOptions, type TurnStreamEvent } from './turn/parse.js';
export type { TurnOptions, TurnHandlers, TurnSnapshot, TurnResult, CompleteTurn, FailedTurn } from './turn/types.js';
export type { StreamingMessage, DroppedBlock, DropReason, InvalidToolInput, Diagnostic, SkippedDiagnostic, BlockIndexRepaired, ListenerFailed, StopFields } from './assemble/types.js';
export { INVALID_JSON_KEY } from './assemble/types.js';
export { IncrementalJsonParser, PartialJsonError } from './assemble/partial-json.js';
export { TurnstateError, isTurnstateError } from './errors.js';
export { ListenerError, TurnStreamError, type ListenerErrorCode, type TurnStreamErrorCode } from './turn/errors.js';
export { TurnStream, type TurnStreamEvents, type TurnStreamOptions } from './turn/turn-stream.js';
export { streamMessage, type MessagesClient, type StreamMessageParams, type StreamMessageOptions } from './turn/stream-message.js';
export { SseError, type SseErrorCode } from './sse/errors.js';
export { StreamError, type StreamErrorCode } from '../machines/stream.errors.js';
export { StopReasonError, type StopReasonErrorCode } from './assemble/errors.js';
export { streamMachine, deltaTable, TRUNCATING_STOP_REASONS, KNOWN_DELTA_TYPES } from '../machines/stream.machine.js';
export { KNOWN_EVENT_TYPES, type StreamEvent, type PingEvent, type UnknownEvent } from './sse/events.js';
export type { StreamSource } from './sse/sources.js';
