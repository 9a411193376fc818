/**
 * Fine-grained tool streaming (`eager_input_streaming: true`, issue 7 A3): the
 * API streams tool input it never validated, so a tool_use block can close with
 * input that is not JSON while the stop reason is `tool_use`. The message
 * assembles, the block is reported in `invalidToolInputs` with its raw string,
 * and its input is `{ INVALID_JSON: raw }`; `strict` keeps `invalid_tool_input`;
 * `max_tokens` keeps the drop rule, with the cut block reported as `unclosed`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTurn, parseTurnSync, StreamError, TurnParser, type TurnResult } from '../../src/index.js';
import { serialize, type Obj } from '../support/arbitraries.js';
import { sdkFinalMessage } from '../support/sdk-oracle.js';

const recording = readFileSync(fileURLToPath(new URL('../../recordings/tool-use-eager-invalid-json.sse', import.meta.url)));
/** The recording's three input_json_delta pieces, joined by hand (the leading `""` delta adds nothing). */
const RAW = '{"filename": "poem.txt", "lines_of_text": ["The sea at dusk, a "silver" hush, the gulls gone home"]}';
const TOOL_ID = 'toolu_01MRxjvnq6pJLczAyd979amq';

/** The message the recording stands for, written out from its events (not produced by turnstate or the SDK). */
const expectedMessage = {
  model: 'claude-sonnet-4-6',
  id: 'msg_01GbzcmcFyAi9QTJziF7RYvz',
  type: 'message',
  role: 'assistant',
  content: [
    { type: 'text', text: "I'll write the poem to poem.txt." },
    { type: 'tool_use', id: TOOL_ID, name: 'make_file', input: { INVALID_JSON: RAW }, caller: { type: 'direct' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  stop_details: null,
  usage: {
    input_tokens: 1210,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: 42,
    service_tier: 'standard',
    inference_geo: 'not_available',
  },
};

const messageStart: Obj = {
  type: 'message_start',
  message: { id: 'msg_01test', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
};
const toolStart = (index: number, type = 'tool_use', id = `toolu_0${index}`): Obj => ({ type: 'content_block_start', index, content_block: { type, id, name: 'make_file', input: {} } });
const json = (index: number, partial_json: string): Obj => ({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
const blockStop = (index: number): Obj => ({ type: 'content_block_stop', index });
const messageDelta = (stop_reason: string): Obj => ({ type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: 42 } });
const messageStop: Obj = { type: 'message_stop' };

function parse(events: readonly Obj[], strict = false): TurnResult {
  return parseTurnSync(serialize(events).bytes, { strict });
}

describe('fine-grained tool streaming: a closed tool_use whose input is not JSON, stop_reason tool_use', () => {
  it('the recording assembles; the block is reported with its raw JSON and carries {"INVALID_JSON": raw}', async () => {
    const result = await parseTurn(recording);
    if (!result.ok) throw result.error;
    expect(result.stopReason).toBe('tool_use');
    expect(JSON.parse(JSON.stringify(result.message))).toEqual(expectedMessage);
    expect(result.invalidToolInputs).toEqual([
      { index: 1, id: TOOL_ID, name: 'make_file', partial: RAW, reason: expect.stringMatching(/^input JSON does not parse: /) },
    ]);
    expect(result.dropped).toEqual([]);
    expect(result.diagnostics).toEqual([]);
  });

  it('the same in any chunking, every byte a chunk boundary', () => {
    for (const size of [1, 7, 64]) {
      const turn = new TurnParser();
      for (let i = 0; i < recording.length; i += size) turn.write(recording.subarray(i, i + size));
      const result = turn.end();
      if (!result.ok) throw result.error;
      expect(JSON.parse(JSON.stringify(result.message))).toEqual(expectedMessage);
      expect(result.invalidToolInputs.map((t) => t.partial)).toEqual([RAW]);
    }
  });

  it('contentBlock listeners get the block as it goes back in history', () => {
    const seen: unknown[] = [];
    const turn = new TurnParser().on('contentBlock', (block) => seen.push(JSON.parse(JSON.stringify(block))));
    turn.write(recording);
    expect(turn.end().ok).toBe(true);
    expect(seen[1]).toEqual(expectedMessage.content[1]);
  });

  it("the SDK's accumulator (1.11.0) throws on this stream: the difference is turnstate's, on purpose", async () => {
    const sdk = await sdkFinalMessage(recording);
    expect(sdk.ok).toBe(false);
  });

  it('valid JSON that is not an object (an array, a string) is reported the same way', () => {
    for (const bad of ['[1, 2]', '"poem.txt"']) {
      const result = parse([messageStart, toolStart(0), json(0, bad), blockStop(0), messageDelta('tool_use'), messageStop]);
      if (!result.ok) throw result.error;
      expect(result.message.content).toEqual([{ type: 'tool_use', id: 'toolu_00', name: 'make_file', input: { INVALID_JSON: bad } }]);
      expect(result.invalidToolInputs).toEqual([{ index: 0, id: 'toolu_00', name: 'make_file', partial: bad, reason: 'input JSON is not an object' }]);
    }
  });

  it('two parallel calls, one broken: only the broken one is reported; the other keeps its parsed input', () => {
    const result = parse([messageStart, toolStart(0), json(0, '{"a": 1}'), blockStop(0), toolStart(1), json(1, '{"a": '), blockStop(1), messageDelta('tool_use'), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.message.content).toEqual([
      { type: 'tool_use', id: 'toolu_00', name: 'make_file', input: { a: 1 } },
      { type: 'tool_use', id: 'toolu_01', name: 'make_file', input: { INVALID_JSON: '{"a": ' } },
    ]);
    expect(result.invalidToolInputs.map((t) => [t.index, t.id, t.partial])).toEqual([[1, 'toolu_01', '{"a": ']]);
  });

  it('strict keeps invalid_tool_input, and nothing is wrapped', async () => {
    const result = await parseTurn(recording, { strict: true });
    expect(result.ok).toBe(false);
    const error = result.error as StreamError;
    expect(error).toBeInstanceOf(StreamError);
    expect(error.code).toBe('invalid_tool_input');
    expect(error.stopReason).toBe('tool_use');
    expect(result.invalidToolInputs).toEqual([]);
    expect((error.partial?.content[1] as { input: unknown }).input).toEqual({});
  });

  it('another stop reason (end_turn) is still invalid_tool_input, as is a server_tool_use block under tool_use', () => {
    const endTurn = parse([messageStart, toolStart(0), json(0, '{"a": '), blockStop(0), messageDelta('end_turn'), messageStop]);
    expect(endTurn.ok).toBe(false);
    expect((endTurn.error as StreamError).code).toBe('invalid_tool_input');
    const server = parse([messageStart, toolStart(0, 'server_tool_use', 'srvtoolu_01'), json(0, '{"q": '), blockStop(0), messageDelta('tool_use'), messageStop]);
    expect(server.ok).toBe(false);
    expect((server.error as StreamError).code).toBe('invalid_tool_input');
  });
});

describe('fine-grained tool streaming under max_tokens: the drop rule stands', () => {
  it('a tool_use cut mid-input is dropped as unclosed — the cause is max_tokens, not a JSON error', () => {
    const cut = '{"filename": "poem.txt", "lines_of_text": ["The sea at dusk,';
    const result = parse([messageStart, toolStart(0), json(0, cut), messageDelta('max_tokens'), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.stopReason).toBe('max_tokens');
    expect(result.message.content).toEqual([]);
    expect(result.dropped).toMatchObject([{ index: 0, type: 'tool_use', reason: 'unclosed', partial: cut }]);
    expect(result.invalidToolInputs).toEqual([]);
  });

  it('a closed broken block before the cut is dropped as invalid_input, not reported as a call to answer', () => {
    const result = parse([messageStart, toolStart(0), json(0, '{"a": '), blockStop(0), toolStart(1), json(1, '{"b'), messageDelta('max_tokens'), messageStop]);
    if (!result.ok) throw result.error;
    expect(result.dropped.map((d) => [d.index, d.reason, d.partial])).toEqual([
      [0, 'invalid_input', '{"a": '],
      [1, 'unclosed', '{"b'],
    ]);
    expect(result.message.content).toEqual([]);
    expect(result.invalidToolInputs).toEqual([]);
  });
});
