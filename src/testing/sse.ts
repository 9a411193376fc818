/**
 * Builds Messages API streams for tests: the events of a message, and their SSE
 * bytes in the shape the real API sends (an `event:` line, a `data:` line, a
 * blank line; `{"type": "ping"}` with its space; optional whitespace padding
 * before closing braces, as real responses carry since 2024).
 */
import type { BetaRawMessageStreamEvent } from '@anthropic-ai/sdk/resources/beta/messages/messages';

/** A content block of a scripted message, as the final message would hold it. */
export type BlockSpec =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'server_tool_use'; id: string; name: string; input: unknown }
  /** Any block that arrives whole in content_block_start (web_search_tool_result, …). */
  | { type: 'whole'; block: Record<string, unknown> };

export interface MessageSpec {
  readonly id?: string;
  readonly model?: string;
  readonly content: readonly BlockSpec[];
  readonly stopReason: string;
  readonly stopSequence?: string | null;
  readonly stopDetails?: Record<string, unknown> | null;
  readonly usage?: {
    input_tokens?: number;
    output_tokens?: number;
    cache_creation_input_tokens?: number;
    cache_read_input_tokens?: number;
    server_tool_use?: Record<string, number>;
  };
  /** Characters per text/thinking/input delta. Default 12. */
  readonly chunkSize?: number;
  /**
   * max_tokens cut the last block short: it gets no content_block_stop and
   * only this fraction (0..1) of its deltas (for tool_use: of its input JSON).
   */
  readonly cutLastBlock?: number;
}

let counter = 0;
/** An id in the API's format (`msg_01…`), unique within the process. */
export function fakeId(prefix: 'msg' | 'toolu' | 'srvtoolu' | 'req'): string {
  counter += 1;
  return `${prefix}_01${`${counter.toString(36).padStart(6, '0')}Xk9Qm2Vb7LpR4tYw8ZsN3cHd`.slice(0, 22)}`;
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}

/** The stream events of a message, in order, pings included. */
export function messageEvents(spec: MessageSpec): BetaRawMessageStreamEvent[] {
  const size = spec.chunkSize ?? 12;
  const usage = spec.usage ?? {};
  const events: unknown[] = [];
  events.push({
    type: 'message_start',
    message: {
      model: spec.model ?? 'claude-sonnet-4-6',
      id: spec.id ?? fakeId('msg'),
      type: 'message',
      role: 'assistant',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      usage: {
        input_tokens: usage.input_tokens ?? 25,
        cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
        cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        output_tokens: 1,
        service_tier: 'standard',
      },
    },
  });
  const last = spec.content.length - 1;
  spec.content.forEach((block, index) => {
    const cut = index === last && spec.cutLastBlock !== undefined ? spec.cutLastBlock : null;
    const keep = <T>(items: T[]): T[] => (cut === null ? items : items.slice(0, Math.floor(items.length * cut)));
    const delta = (d: Record<string, unknown>) => ({ type: 'content_block_delta', index, delta: d });
    switch (block.type) {
      case 'text':
        events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        for (const piece of keep(chunks(block.text, size))) events.push(delta({ type: 'text_delta', text: piece }));
        break;
      case 'thinking':
        events.push({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
        for (const piece of keep(chunks(block.thinking, size))) events.push(delta({ type: 'thinking_delta', thinking: piece }));
        if (cut === null) events.push(delta({ type: 'signature_delta', signature: block.signature }));
        break;
      case 'redacted_thinking':
        events.push({ type: 'content_block_start', index, content_block: { type: 'redacted_thinking', data: block.data } });
        break;
      case 'tool_use':
      case 'server_tool_use': {
        const start: Record<string, unknown> = { type: block.type, id: block.id, name: block.name, input: {} };
        if (block.type === 'tool_use') start['caller'] = { type: 'direct' };
        events.push({ type: 'content_block_start', index, content_block: start });
        const json = JSON.stringify(block.input);
        const pieces = ['', ...chunks(json, size)];
        for (const piece of keep(pieces)) events.push(delta({ type: 'input_json_delta', partial_json: piece }));
        break;
      }
      case 'whole':
        events.push({ type: 'content_block_start', index, content_block: block.block });
        break;
    }
    if (cut === null) events.push({ type: 'content_block_stop', index });
  });
  // The API sends its ping right after the first content_block_start.
  const firstStart = events.findIndex((e) => (e as { type: string }).type === 'content_block_start');
  events.splice(firstStart === -1 ? 1 : firstStart + 1, 0, { type: 'ping' });
  const deltaUsage: Record<string, unknown> = {
    input_tokens: usage.input_tokens ?? 25,
    cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
    output_tokens: usage.output_tokens ?? 10,
  };
  if (usage.server_tool_use) deltaUsage['server_tool_use'] = usage.server_tool_use;
  events.push({
    type: 'message_delta',
    delta: { stop_reason: spec.stopReason, stop_sequence: spec.stopSequence ?? null, stop_details: spec.stopDetails ?? null },
    usage: deltaUsage,
  });
  events.push({ type: 'message_stop' });
  return events as BetaRawMessageStreamEvent[];
}

export interface SseOptions {
  /** Whitespace before the final `}` of data lines, as the real API pads them. Default true. */
  readonly pad?: boolean;
}

/** Events → SSE text. The padding is deterministic (1..16 spaces, cycling). */
export function eventsToSse(events: readonly unknown[], options: SseOptions = {}): string {
  const pad = options.pad ?? true;
  let out = '';
  events.forEach((event, i) => {
    const type = (event as { type: string }).type;
    let data = type === 'ping' ? '{"type": "ping"}' : JSON.stringify(event);
    if (pad && type !== 'ping') data = `${data.slice(0, -1)}${' '.repeat(1 + ((i * 7) % 16))}}`;
    out += `event: ${type}\ndata: ${data}\n\n`;
  });
  return out;
}

/** The SSE body of a whole message. */
export function sseFromMessage(spec: MessageSpec, options: SseOptions = {}): string {
  return eventsToSse(messageEvents(spec), options);
}

/** The first `count` events of a message's stream — a connection that dropped. */
export function truncatedSse(spec: MessageSpec, count: number, options: SseOptions = {}): string {
  return eventsToSse(messageEvents(spec).slice(0, count), options);
}

/**
 * A stream that starts like `spec` and then gets `event: error` (e.g.
 * overloaded_error) after `count` events, with no message_stop: what the API
 * sends when it fails mid-stream.
 */
export function errorAfterSse(spec: MessageSpec, count: number, errorType = 'overloaded_error', options: SseOptions = {}): string {
  const events: unknown[] = messageEvents(spec).slice(0, count);
  events.push({ type: 'error', error: { details: null, type: errorType, message: errorType === 'overloaded_error' ? 'Overloaded' : 'Internal server error' }, request_id: fakeId('req') });
  return eventsToSse(events, options);
}
