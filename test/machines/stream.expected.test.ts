/**
 * The `expected` text of a StreamError: what the grammar would have accepted in the state the stream broke in.
 * The strings are written out by hand (not produced by expectedIn) — a user reads them to see what went wrong,
 * so a wrong index, a missing delta type or a text swapped between states must fail here.
 */
import { describe, expect, it } from 'vitest';
import { StreamError, TurnParser } from '../../src/index.js';

type Obj = Record<string, unknown>;
const message = { id: 'msg_01exp', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } };
const start: Obj = { type: 'message_start', message };
const finishedStart: Obj = { type: 'message_start', message: { ...message, content: [{ type: 'text', text: 'done' }], stop_reason: 'end_turn' } };
const blockStart = (index: number, content_block: Obj): Obj => ({ type: 'content_block_start', index, content_block });
const blockStop = (index: number): Obj => ({ type: 'content_block_stop', index });
const text0 = blockStart(0, { type: 'text', text: '' });
const messageDelta: Obj = { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } };
const stop: Obj = { type: 'message_stop' };
const stray: Obj = { type: 'content_block_stop', index: 9 };

const interleave = 'blocks do not interleave, so the next content_block_start only after that stop';
const cases: readonly { state: string; before: readonly Obj[]; expected: string }[] = [
  { state: 'awaitingMessageStart', before: [], expected: 'message_start (with empty content, or with finished content and its stop_reason)' },
  { state: 'prepopulated', before: [finishedStart], expected: 'message_stop (message_start carried the finished message and its stop reason)' },
  { state: 'betweenBlocks', before: [start], expected: 'content_block_start(index 0) or message_delta' },
  { state: 'betweenBlocks', before: [start, text0, blockStop(0), blockStart(1, { type: 'text', text: '' }), blockStop(1)], expected: 'content_block_start(index 2) or message_delta' },
  { state: 'inBlock.text', before: [start, text0], expected: `content_block_delta(index 0: text_delta | citations_delta) or content_block_stop(index 0); ${interleave}` },
  {
    state: 'inBlock.toolInput',
    before: [start, text0, blockStop(0), blockStart(1, { type: 'tool_use', id: 'toolu_01', name: 'f', input: {} })],
    expected: `content_block_delta(index 1: input_json_delta) or content_block_stop(index 1); ${interleave}`,
  },
  { state: 'inBlock.thinking', before: [start, blockStart(0, { type: 'thinking', thinking: '', signature: '' })], expected: `content_block_delta(index 0: thinking_delta | signature_delta) or content_block_stop(index 0); ${interleave}` },
  { state: 'inBlock.compaction', before: [start, blockStart(0, { type: 'compaction', content: null })], expected: `content_block_delta(index 0: compaction_delta) or content_block_stop(index 0); ${interleave}` },
  {
    state: 'inBlock.wholeBlock',
    before: [start, blockStart(0, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_01', content: [] })],
    expected: `no deltas (this block arrives whole) or content_block_stop(index 0); ${interleave}`,
  },
  { state: 'awaitingMessageStop', before: [start, text0, blockStop(0), messageDelta], expected: 'message_stop' },
  { state: 'complete', before: [start, messageDelta, stop], expected: 'nothing but ping' },
];

function failWith(events: readonly Obj[]): StreamError {
  const turn = new TurnParser();
  for (const event of events) {
    try {
      turn.writeEvent(structuredClone(event)); // the assembler takes ownership of what it is given
    } catch {
      break;
    }
  }
  const { error } = turn.end();
  if (!(error instanceof StreamError)) throw new Error(`expected a StreamError, got ${String(error)}`);
  return error;
}

describe('StreamError.expected names what the state accepts', () => {
  it.each(cases.map((c) => [c.state, c.before.length, c] as const))('%s (after %i events): an offending event', (_, __, c) => {
    const error = failWith([...c.before, stray]);
    expect(error.state).toBe(c.state);
    expect(error.eventIndex).toBe(c.before.length);
    expect(error.got).toBe('content_block_stop');
    expect(error.expected).toBe(c.expected);
    expect(error.message).toContain(`is not allowed in state ${c.state}; expected ${c.expected}`);
  });

  it.each(cases.filter((c) => c.state !== 'complete').map((c) => [c.state, c.before.length, c] as const))('%s (after %i events): the stream ends there', (_, __, c) => {
    const error = failWith(c.before);
    expect(error.code).toBe('incomplete_stream');
    expect(error.state).toBe(c.state);
    expect(error.expected).toBe(c.expected);
  });
});
