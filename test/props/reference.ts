/**
 * An independent reference for the property tests: the Messages API stream
 * grammar and assembly, written as one plain loop over the events — no XState,
 * no shared code with src/ or machines/. It predicts, for any event sequence,
 * whether turnstate must accept it, and if not which StreamError code at which
 * event index; and if so, the message and the dropped blocks.
 *
 * The rules, as documented in machines/stream.machine.ts / stream.errors.ts:
 *
 *   message_start ( content_block_start(i) content_block_delta(i)* content_block_stop(i) )*
 *   message_delta message_stop
 *
 * ping anywhere; `event: error` anywhere before message_stop ends the stream
 * (`api_error`); after message_stop only ping (and, unless strict, unknown
 * event types) are allowed. Unknown event / delta types are skipped unless
 * strict. Unless strict, a content_block_start right after a `*_tool_result`
 * block may repeat that block's index; it is the due block. A truncating stop reason may arrive while a block is open. A closed
 * tool block whose input JSON is not an object is fatal at message_delta unless
 * the stop reason truncates; then it is dropped, as are unclosed tool blocks
 * and thinking blocks without a signature.
 */
import type { ExpectedDrop, Obj } from '../support/arbitraries.js';

export const STREAM_ERROR_CODES = [
  'unexpected_event',
  'block_index_mismatch',
  'delta_type_mismatch',
  'block_open_at_message_delta',
  'event_after_message_stop',
  'unknown_event_type',
  'unknown_delta_type',
  'invalid_tool_input',
  'incomplete_stream',
  'api_error',
] as const;

export const SSE_ERROR_CODES = [
  'invalid_utf8',
  'line_too_long',
  'invalid_json',
  'malformed_event',
  'event_name_mismatch',
  'source_failed',
  'unsupported_source',
  'aborted',
] as const;

const KNOWN_EVENTS = new Set(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping', 'error']);
const KNOWN_DELTAS = new Set(['text_delta', 'citations_delta', 'input_json_delta', 'thinking_delta', 'signature_delta', 'compaction_delta']);
const TOOL_TYPES = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);
const TRUNCATING = new Set(['max_tokens', 'model_context_window_exceeded']);

/** Which deltas a block of this type takes (none: it arrives whole). */
function takes(type: string): readonly string[] {
  if (type === 'text') return ['text_delta', 'citations_delta'];
  if (TOOL_TYPES.has(type)) return ['input_json_delta'];
  if (type === 'thinking') return ['thinking_delta', 'signature_delta'];
  if (type === 'compaction') return ['compaction_delta'];
  return [];
}

interface RefBlock {
  index: number;
  type: string;
  block: Obj;
  json: string;
  sawJson: boolean;
  closed: boolean;
  signed: boolean;
  invalid: boolean;
}

export type RefResult =
  | { ok: true; message: Obj; dropped: ExpectedDrop[]; stopReason: string | null }
  | { ok: false; code: string; eventIndex: number };

/** Parses a tool block's complete input JSON: empty means `{}`; otherwise it must be a JSON object. */
function toolInput(json: string): { ok: true; value: unknown } | { ok: false } {
  if (json.trim() === '') return { ok: true, value: {} };
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ok: true, value };
  } catch {
    // fall through
  }
  return { ok: false };
}

const USAGE_FIELDS = ['output_tokens', 'input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'server_tool_use', 'iterations', 'fallback_credit', 'output_tokens_details'];

export function referenceParse(events: readonly Obj[], options: { strict?: boolean } = {}): RefResult {
  const strict = options.strict ?? false;
  type State = 'start' | 'between' | 'inBlock' | 'awaitStop' | 'complete';
  let state: State = 'start';
  let next = 0;
  let open: RefBlock | null = null;
  const blocks: RefBlock[] = [];
  let message: Obj | null = null;
  let stopReason: string | null = null;
  const dropped: ExpectedDrop[] = [];
  const reject = (code: string, eventIndex: number): RefResult => ({ ok: false, code, eventIndex });

  for (let i = 0; i < events.length; i++) {
    const e = events[i] as Obj;
    const t = String(e['type']);
    if (t === 'ping') continue;
    if (!KNOWN_EVENTS.has(t)) {
      if (!strict) continue;
      return reject(state === 'complete' ? 'event_after_message_stop' : 'unknown_event_type', i);
    }
    if (state === 'complete') return reject('event_after_message_stop', i);
    if (t === 'error') return reject('api_error', i);
    switch (state) {
      case 'start':
        if (t !== 'message_start') return reject('unexpected_event', i);
        message = structuredClone(e['message'] as Obj);
        state = 'between';
        break;
      case 'between':
        if (t === 'content_block_start') {
          // The one repair: right after a server tool result, a start may repeat that result's index (issue 7 A2).
          const previous = blocks.at(-1);
          const repaired = !strict && e['index'] === next - 1 && previous !== undefined && previous.type.endsWith('_tool_result');
          if (e['index'] !== next && !repaired) return reject('block_index_mismatch', i);
          const block = structuredClone(e['content_block'] as Obj);
          open = { index: next, type: String(block['type']), block, json: '', sawJson: false, closed: false, signed: false, invalid: false };
          blocks.push(open);
          (message?.['content'] as Obj[]).push(block);
          next += 1;
          state = 'inBlock';
        } else if (t === 'message_delta') {
          const code = messageDelta(e);
          if (code !== null) return reject(code, i);
          state = 'awaitStop';
        } else return reject('unexpected_event', i);
        break;
      case 'inBlock': {
        const current = open as RefBlock;
        if (t === 'content_block_delta') {
          const delta = e['delta'] as Obj;
          const dt = String(delta['type']);
          if (e['index'] === current.index && takes(current.type).includes(dt)) applyDelta(current, delta);
          else if (!KNOWN_DELTAS.has(dt)) {
            if (strict) return reject('unknown_delta_type', i);
          } else return reject(e['index'] === current.index ? 'delta_type_mismatch' : 'block_index_mismatch', i);
        } else if (t === 'content_block_stop') {
          if (e['index'] !== current.index) return reject('block_index_mismatch', i);
          current.closed = true;
          if (TOOL_TYPES.has(current.type) && current.sawJson) {
            const input = toolInput(current.json);
            if (input.ok) current.block['input'] = input.value;
            else {
              current.invalid = true;
              // Fine-grained tool streaming (issue 7 A3): a client tool_use keeps its raw input, wrapped, unless strict.
              if (!strict && current.type === 'tool_use') current.block['input'] = { INVALID_JSON: current.json };
            }
          }
          open = null;
          state = 'between';
        } else if (t === 'message_delta') {
          const reason = (e['delta'] as Obj)['stop_reason'];
          if (!TRUNCATING.has(String(reason))) return reject('block_open_at_message_delta', i);
          const code = messageDelta(e);
          if (code !== null) return reject(code, i);
          open = null;
          state = 'awaitStop';
        } else return reject('unexpected_event', i);
        break;
      }
      case 'awaitStop':
        if (t !== 'message_stop') return reject('unexpected_event', i);
        state = 'complete';
        break;
    }
  }
  if (state !== 'complete') return reject('incomplete_stream', events.length);
  return { ok: true, message: message as Obj, dropped, stopReason };

  function applyDelta(b: RefBlock, delta: Obj): void {
    switch (delta['type']) {
      case 'text_delta':
        b.block['text'] = String(b.block['text'] ?? '') + String(delta['text']);
        break;
      case 'citations_delta': {
        const list = b.block['citations'];
        b.block['citations'] = Array.isArray(list) ? [...(list as unknown[]), delta['citation']] : [delta['citation']];
        break;
      }
      case 'input_json_delta':
        b.json += String(delta['partial_json']);
        b.sawJson = true;
        break;
      case 'thinking_delta':
        b.block['thinking'] = String(b.block['thinking'] ?? '') + String(delta['thinking']);
        break;
      case 'signature_delta':
        b.block['signature'] = delta['signature'];
        b.signed = true;
        break;
      case 'compaction_delta':
        b.block['content'] = delta['content'];
        if ('encrypted_content' in delta) b.block['encrypted_content'] = delta['encrypted_content'];
        break;
    }
  }

  /** Applies message_delta; returns an error code if the stream must be rejected here. */
  function messageDelta(e: Obj): string | null {
    const m = message as Obj;
    const delta = e['delta'] as Obj;
    m['stop_reason'] = delta['stop_reason'];
    m['stop_sequence'] = delta['stop_sequence'];
    m['stop_details'] = delta['stop_details'];
    stopReason = (delta['stop_reason'] as string | null | undefined) ?? null;
    if (delta['container'] != null) m['container'] = delta['container'];
    if (e['context_management'] != null) m['context_management'] = e['context_management'];
    const usage = e['usage'] as Obj | null | undefined;
    if (usage != null) {
      for (const field of USAGE_FIELDS) if (usage[field] != null) (m['usage'] as Obj)[field] = usage[field];
    }
    if (!TRUNCATING.has(String(delta['stop_reason']))) {
      // Accepted only for client tool_use blocks under stop_reason tool_use, and never under strict.
      const accepted = (b: RefBlock): boolean => !strict && stopReason === 'tool_use' && b.type === 'tool_use';
      return blocks.some((b) => b.invalid && !accepted(b)) ? 'invalid_tool_input' : null;
    }
    const keep: Obj[] = [];
    for (const b of blocks) {
      let reason: ExpectedDrop['reason'] | null = null;
      if (TOOL_TYPES.has(b.type)) reason = !b.closed ? 'unclosed' : b.invalid ? 'invalid_input' : null;
      else if (b.type === 'thinking' && !b.signed) reason = 'missing_signature';
      if (reason === null) keep.push(b.block);
      else dropped.push({ index: b.index, type: b.type, reason, partial: TOOL_TYPES.has(b.type) ? b.json : String(b.block['thinking'] ?? '') });
    }
    m['content'] = keep;
    return null;
  }
}

/** The comparable part of a dropped block. */
export function dropSummary(d: { index: number; type: string; reason: string; partial: string }): ExpectedDrop {
  return { index: d.index, type: d.type, reason: d.reason as ExpectedDrop['reason'], partial: d.partial };
}

/** A JSON round trip: what the message is on the wire (undefined keys gone). */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
