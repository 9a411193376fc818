/**
 * Issue 6 C16: every tool-call block type is checked at content_block_start
 * (`malformed_event` there, before any tool could run), and a closed tool
 * block's input must be an object (`invalid_tool_input`).
 */
import { describe, expect, it } from 'vitest';
import { parseTurnSync, SseError, StreamError, TurnParser, TurnstateError } from '../../src/index.js';

type Obj = Record<string, unknown>;

const start: Obj = { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } } };
const end: Obj[] = [
  { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 5 } },
  { type: 'message_stop' },
];

function stream(block: Obj, deltas: readonly string[] = []): Obj[] {
  return [
    start,
    { type: 'content_block_start', index: 0, content_block: block },
    ...deltas.map((partial_json) => ({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json } })),
    { type: 'content_block_stop', index: 0 },
    ...end,
  ];
}

const sse = (events: readonly Obj[]): string => events.map((e) => `event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`).join('');

/** Both ways in: bytes, and already-parsed events (fresh copies, so nothing is shared between runs). */
function bothWays(events: readonly Obj[], options: { strict?: boolean } = {}) {
  const viaBytes = parseTurnSync(sse(events), options);
  const turn = new TurnParser(options);
  try {
    for (const e of structuredClone(events)) turn.writeEvent(e);
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  return [viaBytes, turn.end()];
}

const good: Record<string, Obj> = {
  tool_use: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} },
  server_tool_use: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} },
  mcp_tool_use: { type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'echo', server_name: 'srv', input: {} },
};

const defects: [string, (block: Obj) => Obj, RegExp][] = [
  ['no id', ({ id: _id, ...rest }) => rest, /"id"/],
  ['a numeric id', (b) => ({ ...b, id: 42 }), /"id"/],
  ['an empty id', (b) => ({ ...b, id: '' }), /"id"/],
  ['no name', ({ name: _name, ...rest }) => rest, /"name"/],
  ['a numeric name', (b) => ({ ...b, name: 7 }), /"name"/],
  ['input a string', (b) => ({ ...b, input: '{"q":1}' }), /"input"/],
  ['input null', (b) => ({ ...b, input: null }), /"input"/],
  ['input an array', (b) => ({ ...b, input: [1, 2] }), /"input"/],
  ['no input', ({ input: _input, ...rest }) => rest, /"input"/],
];

describe('C16: tool blocks are validated at content_block_start', () => {
  for (const [type, block] of Object.entries(good)) {
    it(`${type}: a well-formed block, with or without input deltas, is accepted`, () => {
      for (const result of [...bothWays(stream(block)), ...bothWays(stream(block, ['{"q":', '1}']))]) {
        expect(result!.ok, String(result!.error)).toBe(true);
      }
      const [withDeltas] = bothWays(stream(block, ['{"q":', '1}']));
      expect((withDeltas!.message!.content[0] as { input: unknown }).input).toEqual({ q: 1 });
    });

    it.each(defects)(`${type} with %s is malformed_event at its content_block_start (event 1), with the partial kept`, (_name, mutate, field) => {
      // Even when deltas would follow, the block is refused as it opens.
      for (const deltas of [[], ['{"q":1}']]) {
        for (const result of bothWays(stream(mutate(block), deltas))) {
          expect(result!.ok).toBe(false);
          const error = result!.error as SseError;
          expect(error).toBeInstanceOf(SseError);
          expect(error.code).toBe('malformed_event');
          expect(error.eventIndex).toBe(1);
          expect(error.message).toMatch(field);
          expect(error.partial?.id).toBe('msg_1');
        }
      }
    });
  }

  it('the byte offset of the refusal is its content_block_start payload', () => {
    const text = sse(stream({ ...good['tool_use'], id: 3 }));
    const result = parseTurnSync(text);
    expect(result.error?.byteOffset).toBe(Buffer.byteLength(text.slice(0, text.indexOf('data: {"type":"content_block_start"') + 6)));
  });

  it('other block types are not held to it (a text block has no id)', () => {
    const events = [start, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, { type: 'content_block_stop', index: 0 }, ...end];
    for (const result of bothWays(events)) expect(result!.ok).toBe(true);
  });
});

describe('C16: the final input of a closed tool block must be an object', () => {
  it.each([
    ['an array', ['[1,', '2]']],
    ['a string', ['"x"']],
    ['null', ['null']],
    ['broken JSON', ['{"q":']],
  ])('streamed input that is %s is invalid_tool_input (server tool blocks; client tool_use with strict — without, it is reported in invalidToolInputs, issue 7 A3)', (_name, deltas) => {
    const cases = [
      ...bothWays(stream(good['server_tool_use']!, deltas)),
      ...bothWays(stream(good['mcp_tool_use']!, deltas)),
      ...bothWays(stream(good['tool_use']!, deltas), { strict: true }),
    ];
    for (const result of cases) {
      expect(result!.ok).toBe(false);
      expect(result!.error).toBeInstanceOf(StreamError);
      expect(result!.error?.code).toBe('invalid_tool_input');
    }
  });
});
