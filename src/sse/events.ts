import type { BetaRawMessageStreamEvent } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { ErrorResponse } from '@anthropic-ai/sdk/resources/shared';
import { SseError } from './errors.js';
import { quickDelta } from './quick-delta.js';
import { isToolBlock, toolBlockProblem } from './tool-blocks.js';

/** `event: ping` — keep-alive, legal anywhere. The SDK has no type for it. */
export interface PingEvent {
  readonly type: 'ping';
}

/**
 * Every event the Messages API stream is documented to send: the SDK's beta
 * stream events (a superset of the stable ones), ping, and the mid-stream
 * `event: error` whose payload is the API's ErrorResponse.
 */
export type StreamEvent = BetaRawMessageStreamEvent | PingEvent | ErrorResponse;

/** An event whose `type` this version does not know: kept as-is for diagnostics. */
export interface UnknownEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Event types this version knows. Anything else is forward-compatible noise or, with `strict`, an error. */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
  'error',
]);


/**
 * One SSE event → a typed stream event. `ownStrings`: strings must not share
 * memory with the input chunk (someone outside may keep them). Checks exactly what the types promise
 * and what assembly relies on, so nothing downstream can meet a TypeError.
 */
export function decodeEvent(name: string | undefined, data: string, eventIndex: number, ownStrings = false): StreamEvent | UnknownEvent {
  const delta = quickDelta(data, ownStrings);
  if (delta !== undefined) {
    if (name !== undefined && name !== 'content_block_delta') throw nameMismatch(name, 'content_block_delta', eventIndex);
    return delta;
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (cause) {
    throw new SseError('invalid_json', `event ${eventIndex}${name ? ` (${name})` : ''}: data is not JSON: ${preview(data)}`, { eventIndex, cause });
  }
  const event = checkEvent(value, eventIndex);
  if (name !== undefined && name !== event.type) throw nameMismatch(name, event.type, eventIndex);
  return event;
}

/** Checks an already-parsed event (e.g. from the SDK's own stream iterator). */
export function checkEvent(value: unknown, eventIndex: number): StreamEvent | UnknownEvent {
  const where = eventIndex;
  if (!isObject(value) || typeof value['type'] !== 'string') {
    throw malformed(where, 'an event must be a JSON object with a string "type"');
  }
  switch (value['type']) {
    case 'content_block_delta': {
      const delta = value['delta'];
      if (!isIndex(value['index']) || !isObject(delta) || !deltaPayloadOk(delta)) {
        throw malformed(where, 'content_block_delta needs an integer "index" and a "delta" object with a string "type" and the payload field that type carries');
      }
      break;
    }
    case 'content_block_start': {
      const block = value['content_block'];
      if (!isIndex(value['index']) || !isObject(block) || typeof block['type'] !== 'string') {
        throw malformed(where, 'content_block_start needs an integer "index" and a "content_block" object with a string "type"');
      }
      const problem = isToolBlock(block['type']) ? toolBlockProblem(block) : null;
      if (problem !== null) throw malformed(where, `content_block_start: ${problem}`);
      break;
    }
    case 'content_block_stop':
      if (!isIndex(value['index'])) throw malformed(where, 'content_block_stop needs an integer "index"');
      break;
    case 'message_start': {
      const message = value['message'];
      // Content is usually empty; a programmatic-tool-calling response carries finished blocks here (the machine judges whether that may be).
      if (!isObject(message) || !Array.isArray(message['content']) || !message['content'].every(finishedBlockOk) || !isObject(message['usage'])) {
        throw malformed(where, 'message_start needs a "message" with a "content" array of blocks (objects with a string "type"; tool_use with string "id" and "name" and an object "input") and a "usage" object');
      }
      checkUsage(message['usage'], where, 'message_start');
      break;
    }
    case 'message_delta': {
      const usage = value['usage'];
      const delta = value['delta'];
      if (!isObject(delta) || (typeof delta['stop_reason'] !== 'string' && delta['stop_reason'] !== null) || (usage !== undefined && usage !== null && !isObject(usage))) {
        throw malformed(where, 'message_delta needs a "delta" object whose "stop_reason" is a string or null (and "usage", if present, must be an object)');
      }
      if (usage !== undefined && usage !== null) checkUsage(usage as Record<string, unknown>, where, 'message_delta');
      break;
    }
    case 'error': {
      const error = value['error'];
      if (!isObject(error) || typeof error['type'] !== 'string') {
        throw malformed(where, 'an error event needs an "error" object with a string "type"');
      }
      break;
    }
  }
  return value as unknown as StreamEvent | UnknownEvent;
}

/** The payload field each known delta type carries; an unknown type needs only its name. Hot: runs on every delta. */
function deltaPayloadOk(delta: Record<string, unknown>): boolean {
  switch (delta['type']) {
    case 'text_delta':
      return typeof delta['text'] === 'string';
    case 'input_json_delta':
      return typeof delta['partial_json'] === 'string';
    case 'thinking_delta':
      return typeof delta['thinking'] === 'string';
    case 'signature_delta':
      return typeof delta['signature'] === 'string';
    case 'citations_delta':
      return isObject(delta['citation']);
    case 'compaction_delta':
      return delta['content'] === null || typeof delta['content'] === 'string';
    default:
      return typeof delta['type'] === 'string';
  }
}

/** A block that arrives finished in message_start: what assembly and the controller rely on. */
function finishedBlockOk(block: unknown): boolean {
  if (!isObject(block) || typeof block['type'] !== 'string') return false;
  if (block['type'] !== 'tool_use') return true;
  return typeof block['id'] === 'string' && typeof block['name'] === 'string' && isObject(block['input']);
}

/** Token counts summed by the controller and checked against budgets. */
const USAGE_COUNTS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;
/** Objects of counts only (by kind of server tool, by cache lifetime). */
const USAGE_COUNT_GROUPS = ['server_tool_use', 'cache_creation'] as const;

/**
 * Usage counters are non-negative safe integers (or null, or absent). A
 * negative count would let a token budget be gamed, and one that sums to
 * Infinity makes the run's own checkpoint unresumable: both are refused here,
 * at the event that carried them. Runs twice per message, not per delta.
 */
function checkUsage(usage: Record<string, unknown>, eventIndex: number, type: string): void {
  for (const key of USAGE_COUNTS) {
    const value = usage[key];
    if (value !== undefined && value !== null && !isCount(value)) throw badCount(eventIndex, type, `usage.${key}`, value);
  }
  for (const group of USAGE_COUNT_GROUPS) {
    const counts = usage[group];
    if (counts === undefined || counts === null) continue;
    if (!isObject(counts)) throw malformed(eventIndex, `${type}: "usage.${group}" must be an object of counts`);
    for (const [key, value] of Object.entries(counts)) {
      if (value !== null && !isCount(value)) throw badCount(eventIndex, type, `usage.${group}.${key}`, value);
    }
  }
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function badCount(eventIndex: number, type: string, path: string, value: unknown): SseError {
  const shown = typeof value === 'number' || typeof value === 'boolean' || value === null ? String(value) : JSON.stringify(value)?.slice(0, 40) ?? typeof value;
  return malformed(eventIndex, `${type}: "${path}" must be a non-negative safe integer, got ${shown}`);
}

function nameMismatch(name: string, type: string, eventIndex: number): SseError {
  return new SseError('event_name_mismatch', `event ${eventIndex}: "event: ${name}" carries a "${type}" payload`, { eventIndex });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && value >>> 0 === value;
}

/** The byte offset is added by the turn layer, which computes it only when an error needs it. */
function malformed(eventIndex: number, what: string): SseError {
  return new SseError('malformed_event', `event ${eventIndex}: ${what}`, { eventIndex });
}

function preview(data: string): string {
  return JSON.stringify(data.length > 60 ? `${data.slice(0, 60)}…` : data);
}
