/**
 * Assembly: stop fields hidden until message_delta (at runtime and in the
 * types), what truncation drops and why, invalid tool input, the usage merge,
 * and `event: error` mid-stream.
 */
import { describe, expect, it } from 'vitest';
import { MessageAssembler } from '../../src/assemble/assembler.js';
import { INVALID_JSON_KEY, StopReasonError, StreamError, TurnParser, type TurnResult, type TurnSnapshot } from '../../src/index.js';
import { serialize, type Obj } from '../support/arbitraries.js';

const messageStart = (usage: Obj = { input_tokens: 10, output_tokens: 1 }): Obj => ({
  type: 'message_start',
  message: { id: 'msg_01test', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage },
});
const blockStart = (index: number, content_block: Obj): Obj => ({ type: 'content_block_start', index, content_block });
const delta = (index: number, d: Obj): Obj => ({ type: 'content_block_delta', index, delta: d });
const text = (index: number, t: string): Obj => delta(index, { type: 'text_delta', text: t });
const json = (index: number, partial_json: string): Obj => delta(index, { type: 'input_json_delta', partial_json });
const blockStop = (index: number): Obj => ({ type: 'content_block_stop', index });
const messageDelta = (stop_reason: string, usage: Obj | null = { output_tokens: 42 }): Obj => ({
  type: 'message_delta',
  delta: { stop_reason, stop_sequence: null },
  ...(usage === null ? {} : { usage }),
});
const messageStop: Obj = { type: 'message_stop' };
const ping: Obj = { type: 'ping' };
const toolStart = (index: number, id = 'toolu_01'): Obj => blockStart(index, { type: 'tool_use', id, name: 'make_file', input: {} });

/** Feeds the events as SSE bytes (so the real path runs). */
function parse(events: readonly Obj[]): TurnResult {
  const turn = new TurnParser();
  try {
    turn.write(serialize(events).bytes);
  } catch {
    // reported by end()
  }
  return turn.end();
}

describe('stop fields before message_delta', () => {
  it('reading message.stop_reason (or stop_sequence / stop_details) on a streaming snapshot throws StopReasonError', () => {
    const turn = new TurnParser();
    for (const e of [messageStart(), blockStart(0, { type: 'text', text: '' }), text(0, 'Hi')]) turn.writeEvent(e);
    const snapshot: TurnSnapshot = turn.snapshot;
    expect(snapshot.status).toBe('streaming');
    if (snapshot.status !== 'streaming') return;
    // @ts-expect-error — StreamingMessage has no stop_reason: branching on it early must not compile.
    expect(() => snapshot.message.stop_reason).toThrow(StopReasonError);
    // @ts-expect-error — nor stop_sequence
    expect(() => snapshot.message.stop_sequence).toThrow(StopReasonError);
    // @ts-expect-error — nor stop_details
    expect(() => snapshot.message.stop_details).toThrow(StopReasonError);
    try {
      // @ts-expect-error — the same read, to inspect the error
      void snapshot.message.stop_reason;
    } catch (error) {
      expect(error).toBeInstanceOf(StopReasonError);
      expect((error as StopReasonError).code).toBe('stop_reason_not_available');
      expect((error as StopReasonError).field).toBe('stop_reason');
      expect((error as StopReasonError).eventIndex).toBe(3);
    }
    // Hidden from enumeration and JSON too: a streaming message never shows a stale `null` stop reason.
    expect(Object.keys(snapshot.message)).not.toContain('stop_reason');
    expect(JSON.parse(JSON.stringify(snapshot.message))).not.toHaveProperty('stop_reason');
  });

  it('the stop fields appear with message_delta (snapshot "finishing", then "complete")', () => {
    const turn = new TurnParser();
    for (const e of [messageStart(), blockStart(0, { type: 'text', text: '' }), text(0, 'Hi'), blockStop(0), messageDelta('end_turn')]) turn.writeEvent(e);
    const finishing = turn.snapshot;
    expect(finishing.status).toBe('finishing');
    if (finishing.status === 'finishing') {
      expect(finishing.stopReason).toBe('end_turn');
      expect(finishing.message.stop_reason).toBe('end_turn');
    }
    turn.writeEvent(messageStop);
    const done = turn.snapshot;
    expect(done.status).toBe('complete');
    if (done.status === 'complete') expect(done.message.stop_sequence).toBeNull();
  });

  it('a failed result before message_delta hides the stop reason as well', () => {
    const result = parse([messageStart(), blockStart(0, { type: 'text', text: '' }), text(0, 'Hi')]);
    expect(result.ok).toBe(false);
    expect(result.stopReason).toBeNull();
    if (!result.ok && result.message !== null) {
      // @ts-expect-error — FailedTurn.message is a StreamingMessage
      expect(() => result.message.stop_reason).toThrow(StopReasonError);
    }
  });
});

describe('truncation (max_tokens / model_context_window_exceeded) drops what cannot go back into history', () => {
  it.each(['max_tokens', 'model_context_window_exceeded'])('%s: an open tool_use block is dropped as unclosed, with its raw JSON', (stop) => {
    const result = parse([
      messageStart(),
      blockStart(0, { type: 'text', text: '' }),
      text(0, 'Writing '),
      text(0, 'the file.'),
      blockStop(0),
      toolStart(1),
      json(1, ''),
      json(1, '{"filename": "taxes.txt'),
      json(1, '", "lines": ["# GUIDE",'),
      messageDelta(stop),
      messageStop,
    ]);
    if (!result.ok) throw result.error;
    expect(result.stopReason).toBe(stop);
    expect(result.message.content).toEqual([{ type: 'text', text: 'Writing the file.' }]);
    expect(result.dropped).toHaveLength(1);
    const [drop] = result.dropped;
    expect(drop).toMatchObject({ index: 1, type: 'tool_use', reason: 'unclosed', partial: '{"filename": "taxes.txt", "lines": ["# GUIDE",' });
    expect(drop?.block).toMatchObject({ type: 'tool_use', id: 'toolu_01', name: 'make_file' });
    expect(drop?.block).not.toHaveProperty('input');
  });

  it('an open tool block is dropped even when its JSON happens to be complete', () => {
    const result = parse([messageStart(), toolStart(0), json(0, '{"a":1}'), messageDelta('max_tokens'), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.message.content).toEqual([]);
    expect(result.dropped.map((d) => [d.reason, d.partial])).toEqual([['unclosed', '{"a":1}']]);
  });

  it('a thinking block without its signature is dropped (missing_signature, partial = the thinking)', () => {
    const result = parse([
      messageStart(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      delta(0, { type: 'thinking_delta', thinking: 'Let me ' }),
      delta(0, { type: 'thinking_delta', thinking: 'think…' }),
      messageDelta('max_tokens'),
      messageStop,
    ]);
    if (!result.ok) throw result.error;
    expect(result.message.content).toEqual([]);
    expect(result.dropped).toMatchObject([{ index: 0, type: 'thinking', reason: 'missing_signature', partial: 'Let me think…' }]);
  });

  it('a signed thinking block and an open text block are kept', () => {
    const result = parse([
      messageStart(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      delta(0, { type: 'thinking_delta', thinking: 'Hmm.' }),
      delta(0, { type: 'signature_delta', signature: 'c2ln' }),
      blockStop(0),
      blockStart(1, { type: 'text', text: '' }),
      text(1, 'cut her'),
      messageDelta('max_tokens'),
      messageStop,
    ]);
    if (!result.ok) throw result.error;
    expect(result.dropped).toEqual([]);
    expect(result.message.content).toEqual([
      { type: 'thinking', thinking: 'Hmm.', signature: 'c2ln' },
      { type: 'text', text: 'cut her' },
    ]);
  });

  it('a closed tool block whose JSON is not an object is dropped as invalid_input', () => {
    for (const bad of ['{"a": ', '[1,2]', '"str"', 'null', '{"a":1}}']) {
      const result = parse([messageStart(), toolStart(0), json(0, bad), blockStop(0), toolStart(1, 'toolu_02'), json(1, '{"ok":true}'), blockStop(1), messageDelta('max_tokens'), messageStop]);
      if (!result.ok) throw result.error;
      expect(result.dropped).toMatchObject([{ index: 0, type: 'tool_use', reason: 'invalid_input', partial: bad }]);
      expect(result.message.content).toEqual([{ type: 'tool_use', id: 'toolu_02', name: 'make_file', input: { ok: true } }]);
    }
  });
});

describe('invalid tool input without truncation', () => {
  // tool_use accepts it (fine-grained tool streaming) unless strict: test/turn/eager-invalid-input.test.ts.
  it.each(['end_turn', 'pause_turn', 'refusal', 'stop_sequence'])('%s: a closed tool block with invalid JSON is StreamError invalid_tool_input at message_delta', (stop) => {
    const events = [messageStart(), toolStart(0), json(0, '{"path": "/tmp'), blockStop(0), ping, messageDelta(stop), messageStop];
    const result = parse(events);
    expect(result.ok).toBe(false);
    expect(result.error).toBeInstanceOf(StreamError);
    const error = result.error as StreamError;
    expect(error.code).toBe('invalid_tool_input');
    expect(error.eventIndex).toBe(5);
    expect(error.stopReason).toBe(stop);
    expect(error.partial?.content).toHaveLength(1);
  });

  it('an empty input (only `""` deltas) is `{}`, not invalid', () => {
    const result = parse([messageStart(), toolStart(0), json(0, ''), json(0, ''), blockStop(0), messageDelta('tool_use'), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.message.content).toEqual([{ type: 'tool_use', id: 'toolu_01', name: 'make_file', input: {} }]);
  });
});

describe('tool input that is only whitespace', () => {
  it('`"  "` deltas give `{}`, exactly like `""`: whitespace around no value is an empty input, not invalid JSON', () => {
    for (const pieces of [[''], ['  '], [' ', '\n\t ']]) {
      const result = parse([messageStart(), toolStart(0), ...pieces.map((p) => json(0, p)), blockStop(0), messageDelta('tool_use'), messageStop]);
      if (!result.ok) throw result.error;
      expect(result.message.content, JSON.stringify(pieces)).toEqual([{ type: 'tool_use', id: 'toolu_01', name: 'make_file', input: {} }]);
    }
  });
});

describe('fallback blocks', () => {
  it('a fallback block is kept in place and message.model becomes the model it hands over to, as in the SDK', () => {
    const fallback = {
      type: 'fallback',
      from: { model: 'claude-sonnet-4-6' },
      to: { model: 'claude-opus-4-1-20250805' },
      trigger: { type: 'refusal', category: null },
    };
    const result = parse([
      messageStart(), blockStart(0, fallback), blockStop(0),
      blockStart(1, { type: 'text', text: '' }), text(1, 'served by the fallback'), blockStop(1),
      messageDelta('end_turn'), messageStop,
    ]);
    if (!result.ok) throw result.error;
    expect(result.message.model).toBe('claude-opus-4-1-20250805');
    expect(result.message.content).toEqual([fallback, { type: 'text', text: 'served by the fallback' }]);
  });

  it('a fallback block without a usable `to.model` leaves the model of message_start', () => {
    for (const to of [undefined, {}, { model: 7 }]) {
      const result = parse([messageStart(), blockStart(0, { type: 'fallback', from: { model: 'claude-sonnet-4-6' }, ...(to === undefined ? {} : { to }) }), blockStop(0), messageDelta('end_turn'), messageStop]);
      if (!result.ok) throw result.error;
      expect(result.message.model, JSON.stringify(to)).toBe('claude-sonnet-4-6');
    }
  });
});

describe('message_delta keeps what message_start said unless it says otherwise', () => {
  const container = { id: 'container_011CZ', expires_at: '2026-12-01T11:00:00Z' };
  const contextManagement = { applied_edits: [{ type: 'clear_tool_uses_20250919', cleared_tool_uses: 2, cleared_input_tokens: 900 }] };
  const start = (): Obj => {
    const event = messageStart();
    Object.assign(event['message'] as Obj, { container, context_management: contextManagement });
    return event;
  };

  it('a message_delta without container / context_management (or with null) does not erase message_start\'s', () => {
    for (const extra of [{}, { context_management: null }]) {
      const end = messageDelta('end_turn');
      Object.assign(end, extra);
      if (Object.keys(extra).length > 0) (end['delta'] as Obj)['container'] = null;
      const result = parse([start(), end, messageStop]);
      if (!result.ok) throw result.error;
      expect(result.message.container, JSON.stringify(extra)).toEqual(container);
      expect(result.message.context_management, JSON.stringify(extra)).toEqual(contextManagement);
    }
  });

  it('a message_delta that names them replaces them', () => {
    const later = { id: 'container_022DX', expires_at: '2026-12-01T12:00:00Z' };
    const laterEdits = { applied_edits: [] };
    const end = messageDelta('end_turn');
    (end['delta'] as Obj)['container'] = later;
    end['context_management'] = laterEdits;
    const result = parse([start(), end, messageStop]);
    if (!result.ok) throw result.error;
    expect(result.message.container).toEqual(later);
    expect(result.message.context_management).toEqual(laterEdits);
  });
});

describe('usage merge (message_delta counters are cumulative totals)', () => {
  it('present values overwrite, null and absent ones keep the message_start value', () => {
    const result = parse([
      messageStart({ input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 7, cache_read_input_tokens: 9, service_tier: 'standard' }),
      messageDelta('end_turn', {
        output_tokens: 55,
        input_tokens: 120,
        cache_creation_input_tokens: null,
        server_tool_use: { web_search_requests: 2 },
        iterations: [{ type: 'message', input_tokens: 120, output_tokens: 55 }],
      }),
      messageStop,
    ]);
    if (!result.ok) throw result.error;
    expect(result.message.usage).toEqual({
      input_tokens: 120,
      output_tokens: 55,
      cache_creation_input_tokens: 7,
      cache_read_input_tokens: 9,
      service_tier: 'standard',
      server_tool_use: { web_search_requests: 2 },
      iterations: [{ type: 'message', input_tokens: 120, output_tokens: 55 }],
    });
  });

  it('no usage at all in message_delta keeps every counter', () => {
    const result = parse([messageStart({ input_tokens: 3, output_tokens: 4 }), messageDelta('end_turn', null), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.message.usage).toEqual({ input_tokens: 3, output_tokens: 4 });
  });

  it('output_tokens: null keeps the old value (unlike the SDK, which would write null)', () => {
    const result = parse([messageStart({ input_tokens: 3, output_tokens: 4 }), messageDelta('end_turn', { output_tokens: null }), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.message.usage.output_tokens).toBe(4);
  });

  it('MessageAssembler directly: usage counters are overwritten, never added', () => {
    const assembler = new MessageAssembler(() => 0);
    assembler.start(structuredClone(messageStart({ input_tokens: 10, output_tokens: 2 })) as never);
    assembler.messageDelta(structuredClone(messageDelta('end_turn', { output_tokens: 5 })) as never);
    expect(assembler.current()?.usage).toEqual({ input_tokens: 10, output_tokens: 5 });
  });
});

describe('`event: error` mid-stream', () => {
  it('is StreamError api_error with the API error type, request id and the message so far', () => {
    const result = parse([
      messageStart(),
      blockStart(0, { type: 'text', text: '' }),
      text(0, 'Half a '),
      text(0, 'sentence'),
      { type: 'error', error: { details: null, type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_011abc' },
    ]);
    expect(result.ok).toBe(false);
    const error = result.error as StreamError;
    expect(error).toBeInstanceOf(StreamError);
    expect(error.code).toBe('api_error');
    expect(error.apiErrorType).toBe('overloaded_error');
    expect(error.requestId).toBe('req_011abc');
    expect(error.eventIndex).toBe(4);
    expect(error.got).toBe('error');
    expect(error.partial?.content).toEqual([{ type: 'text', text: 'Half a sentence' }]);
    expect(result.message?.content).toEqual([{ type: 'text', text: 'Half a sentence' }]);
    expect(error.stopReason).toBeNull();
  });

  it('after message_delta: the partial message keeps the stop reason', () => {
    const result = parse([messageStart(), messageDelta('end_turn'), { type: 'error', error: { type: 'api_error', message: 'Internal server error' } }]);
    const error = result.error as StreamError;
    expect(error.code).toBe('api_error');
    expect(error.apiErrorType).toBe('api_error');
    expect(error.requestId).toBeNull();
    expect(error.stopReason).toBe('end_turn');
    expect(result.stopReason).toBe('end_turn');
  });

  it('before message_start (the shared corpus fragment 34 shape): api_error with no partial message', () => {
    const result = parse([{ type: 'error', error: { details: null, type: 'api_error', message: 'Internal server error' } }]);
    const error = result.error as StreamError;
    expect(error.code).toBe('api_error');
    expect(error.partial).toBeNull();
    expect(result.message).toBeNull();
  });
});

describe('tool input that arrives whole in content_block_start', () => {
  it('a tool block with no input_json_delta keeps the input its start gave (server and MCP tool blocks too)', () => {
    for (const type of ['tool_use', 'server_tool_use', 'mcp_tool_use']) {
      const block = { type, id: 'toolu_01', name: 'web_search', input: { query: 'tides', n: 3 }, ...(type === 'mcp_tool_use' ? { server_name: 's' } : {}) };
      const result = parse([messageStart(), blockStart(0, block), blockStop(0), messageDelta(type === 'tool_use' ? 'tool_use' : 'end_turn'), messageStop]);
      if (!result.ok) throw result.error;
      expect(result.message.content, type).toEqual([block]);
    }
  });

  it('once an input_json_delta arrives, the streamed JSON decides, not the start’s input', () => {
    const result = parse([messageStart(), blockStart(0, { type: 'tool_use', id: 'toolu_01', name: 't', input: { stale: true } }), json(0, '{"fresh":1}'), blockStop(0), messageDelta('tool_use'), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.message.content).toEqual([{ type: 'tool_use', id: 'toolu_01', name: 't', input: { fresh: 1 } }]);
  });
});

describe('invalid tool input: what the reason says', () => {
  it('JSON that does not parse, and JSON that is not an object, are told apart', () => {
    const reasons = (bad: string) => {
      const result = parse([messageStart(), toolStart(0), json(0, bad), blockStop(0), messageDelta('tool_use'), messageStop]);
      if (!result.ok) throw result.error;
      return result.invalidToolInputs.map((i) => [i.index, i.id, i.name, i.partial, i.reason]);
    };
    expect(reasons('{"a": ')).toEqual([[0, 'toolu_01', 'make_file', '{"a": ', expect.stringMatching(/^input JSON does not parse: \S/)]]);
    expect(reasons('[1,2]')).toEqual([[0, 'toolu_01', 'make_file', '[1,2]', 'input JSON is not an object']]);
  });

  it('a closed tool block dropped as invalid_input under truncation keeps its raw JSON, wrapped, as its input', () => {
    const result = parse([messageStart(), toolStart(0), json(0, '[1,2]'), blockStop(0), messageDelta('max_tokens'), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.dropped).toMatchObject([{ index: 0, reason: 'invalid_input', partial: '[1,2]' }]);
    expect(result.dropped[0]?.block).toHaveProperty('input', { [INVALID_JSON_KEY]: '[1,2]' });
  });
});

describe('the final message is a plain object', () => {
  it('its stop fields are ordinary properties: enumerable, writable, deletable — as in the SDK’s message', () => {
    const result = parse([messageStart(), blockStart(0, { type: 'text', text: '' }), text(0, 'Hi'), blockStop(0), messageDelta('end_turn'), messageStop]);
    if (!result.ok) throw result.error;
    const message = result.message;
    expect({ ...message }).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
    expect(JSON.parse(JSON.stringify(message))).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
    // a caller may edit what it stores (ES modules are strict: a read-only or fixed property would throw here)
    message.stop_reason = 'max_tokens';
    expect(message.stop_reason).toBe('max_tokens');
    delete (message as { stop_sequence?: unknown }).stop_sequence;
    expect(message).not.toHaveProperty('stop_sequence');
  });

  it('input_transformations: message_delta replaces message_start’s, and keeps them when it has none (or null)', () => {
    const before = [{ type: 'thinking_dropped', path: 'messages[0].content[1]' }];
    const after = [{ type: 'thinking_dropped', path: 'messages[2].content[0]' }];
    const withStart = (): Obj => {
      const event = messageStart();
      (event['message'] as Obj)['input_transformations'] = before;
      return event;
    };
    for (const [extra, expected] of [[{}, before], [{ input_transformations: null }, before], [{ input_transformations: after }, after]] as const) {
      const end = { ...messageDelta('end_turn'), ...extra };
      const result = parse([withStart(), end, messageStop]);
      if (!result.ok) throw result.error;
      expect((result.message as unknown as Obj)['input_transformations'], JSON.stringify(extra)).toEqual(expected);
    }
  });
});

describe('long blocks', () => {
  it('text and tool JSON of many deltas (more than one join batch), read mid-stream and at the end, hold every delta in order', () => {
    const pieces = Array.from({ length: 700 }, (_, i) => `${i},`);
    const turn = new TurnParser();
    turn.write(serialize([messageStart(), blockStart(0, { type: 'text', text: '' }), ...pieces.slice(0, 300).map((p) => text(0, p))]).bytes);
    const mid = turn.snapshot;
    expect(mid.status === 'streaming' && mid.message.content[0]).toEqual({ type: 'text', text: pieces.slice(0, 300).join('') });
    turn.write(serialize([...pieces.slice(300).map((p) => text(0, p)), blockStop(0), toolStart(1), json(1, '{"list":['), ...pieces.map((p) => json(1, p)), json(1, '0]}'), blockStop(1), messageDelta('tool_use'), messageStop]).bytes);
    const result = turn.end();
    if (!result.ok) throw result.error;
    expect(result.message.content).toEqual([
      { type: 'text', text: pieces.join('') },
      { type: 'tool_use', id: 'toolu_01', name: 'make_file', input: { list: [...pieces.map((_, i) => i), 0] } },
    ]);
  });
});

describe('each delta kind lands where the SDK puts it', () => {
  const citation = (n: number): Obj => ({ type: 'char_location', cited_text: `quote ${n}`, document_index: 0, document_title: null, start_char_index: n, end_char_index: n + 5 });
  const ok = (events: readonly Obj[]): TurnResult & { ok: true } => {
    const result = parse(events);
    if (!result.ok) throw result.error;
    return result;
  };

  it('citations_delta: appended in order to the text block, which gets a citations array when its start had none', () => {
    for (const startBlock of [{ type: 'text', text: '' }, { type: 'text', text: '', citations: [] }, { type: 'text', text: '', citations: [citation(0)] }]) {
      const prior = (startBlock as Obj)['citations'] as Obj[] | undefined;
      const result = ok([
        messageStart(), blockStart(0, structuredClone(startBlock)), text(0, 'a'),
        delta(0, { type: 'citations_delta', citation: citation(1) }), text(0, 'b'),
        delta(0, { type: 'citations_delta', citation: citation(2) }), blockStop(0), messageDelta('end_turn'), messageStop,
      ]);
      expect(result.message.content, JSON.stringify(startBlock)).toStrictEqual([{ type: 'text', text: 'ab', citations: [...(prior ?? []), citation(1), citation(2)] }]);
    }
  });

  it('thinking_delta and signature_delta: the thinking joined, the last signature kept', () => {
    const result = ok([
      messageStart(), blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      delta(0, { type: 'thinking_delta', thinking: 'Let me ' }), delta(0, { type: 'thinking_delta', thinking: 'see.' }),
      delta(0, { type: 'signature_delta', signature: 'EqQBCkYI' }), blockStop(0), messageDelta('end_turn'), messageStop,
    ]);
    expect(result.message.content).toStrictEqual([{ type: 'thinking', thinking: 'Let me see.', signature: 'EqQBCkYI' }]);
  });

  it('compaction_delta: the delta’s content (null for a failed compaction) replaces the block’s; encrypted_content only when sent', () => {
    const run = (d: Obj): unknown => ok([messageStart(), blockStart(0, { type: 'compaction', content: null }), delta(0, { type: 'compaction_delta', ...d }), blockStop(0), messageDelta('end_turn'), messageStop]).message.content;
    expect(run({ content: 'summary' })).toStrictEqual([{ type: 'compaction', content: 'summary' }]);
    expect(run({ content: 'summary', encrypted_content: 'ZW5j' })).toStrictEqual([{ type: 'compaction', content: 'summary', encrypted_content: 'ZW5j' }]);
    expect(run({ content: null, encrypted_content: null })).toStrictEqual([{ type: 'compaction', content: null, encrypted_content: null }]);
  });

  it('a tool input that is JSON but not an object — a number, a string, null, an array — is invalid, named so', () => {
    for (const bad of ['1', '"x"', 'null', '[]', 'true']) {
      const result = ok([messageStart(), toolStart(0), json(0, bad), blockStop(0), messageDelta('tool_use'), messageStop]);
      expect(result.invalidToolInputs.map((i) => [i.partial, i.reason]), bad).toEqual([[bad, 'input JSON is not an object']]);
      expect(result.message.content, bad).toStrictEqual([{ type: 'tool_use', id: 'toolu_01', name: 'make_file', input: { [INVALID_JSON_KEY]: bad } }]);
    }
  });

  it('the snapshot mid-block holds every delta so far (text, thinking and a tool’s input JSON)', () => {
    const turn = new TurnParser();
    const seen: unknown[] = [];
    turn.on('streamEvent', (_event, snapshot) => {
      const last = snapshot.content.at(-1) as Obj | undefined;
      if (last !== undefined) seen.push(structuredClone(last));
    });
    turn.write(serialize([
      messageStart(), blockStart(0, { type: 'text', text: 'I' }), text(0, ' am'), text(0, ' here'), blockStop(0),
      blockStart(1, { type: 'thinking', thinking: '', signature: '' }), delta(1, { type: 'thinking_delta', thinking: 'hm' }),
    ]).bytes);
    expect(seen).toStrictEqual([
      { type: 'text', text: 'I' }, { type: 'text', text: 'I am' }, { type: 'text', text: 'I am here' }, { type: 'text', text: 'I am here' },
      { type: 'thinking', thinking: '', signature: '' }, { type: 'thinking', thinking: 'hm', signature: '' },
    ]);
  });
});
