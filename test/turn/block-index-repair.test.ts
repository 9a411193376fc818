/**
 * Issue 7 A2 / A4. A real code-execution recording (a skill writing files)
 * starts the block after a `*_tool_result` with the result's index again (2,
 * 5, 7 where 3, 6, 8 were due) while that block's deltas and stop carry the
 * due index. By default that exact shape is taken as the due block with a
 * `block_index_repaired` diagnostic; `strict` rejects it, and every other index
 * mismatch stays an error. Interleaved blocks stay rejected, by name.
 */
import { describe, expect, it } from 'vitest';
import { parseTurnSync, StreamError, type TurnResult } from '../../src/index.js';
import { sdkFinalMessage } from '../support/sdk-oracle.js';
import { plain } from '../props/reference.js';

type Obj = Record<string, unknown>;

const sse = (events: readonly Obj[]): string => events.map((e) => `event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`).join('');

const messageStart = (): Obj => ({
  type: 'message_start',
  message: { id: 'msg_01RepairXXXXXXXXXXXXXXXX', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
});
const end = (stop = 'end_turn'): Obj[] => [
  { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 40 } },
  { type: 'message_stop' },
];
const text = (index: number, body: string, startIndex = index): Obj[] => [
  { type: 'content_block_start', index: startIndex, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index, delta: { type: 'text_delta', text: body } },
  { type: 'content_block_stop', index },
];
const serverCall = (index: number, id: string): Obj[] => [
  { type: 'content_block_start', index, content_block: { type: 'server_tool_use', id, name: 'bash_code_execution', input: {} } },
  { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '{"command": "ls"}' } },
  { type: 'content_block_stop', index },
];
const result = (index: number, id: string, type = 'bash_code_execution_tool_result'): Obj[] => [
  { type: 'content_block_start', index, content_block: { type, tool_use_id: id, content: { type: 'bash_code_execution_result', stdout: 'a.txt\n', stderr: '', return_code: 0, content: [] } } },
  { type: 'content_block_stop', index },
];

/** The shape of the recording: three tool results, each followed by a start that repeats its index. */
const repeated: Obj[] = [
  messageStart(),
  ...text(0, 'Writing the files.'),
  ...serverCall(1, 'srvtoolu_01A'),
  ...result(2, 'srvtoolu_01A'),
  ...text(3, 'First done.', 2),
  ...serverCall(4, 'srvtoolu_01B'),
  ...result(5, 'srvtoolu_01B', 'text_editor_code_execution_tool_result'),
  ...text(6, 'Second done.', 5),
  ...result(7, 'srvtoolu_01B', 'web_search_tool_result'),
  ...serverCall(8, 'srvtoolu_01C').map((e) => (e['type'] === 'content_block_start' ? { ...e, index: 7 } : e)),
  ...end(),
];

const codeOf = (r: TurnResult): string | null => r.error?.code ?? null;

describe('a block index repeated right after a server tool result', () => {
  it('is taken as the due block, with one block_index_repaired diagnostic (expected, got) per repair, and the message equals the SDK’s', async () => {
    const bytes = sse(repeated);
    const r = parseTurnSync(bytes);
    expect(r.error).toBeNull();
    expect(r.diagnostics.map((d) => (d.code === 'block_index_repaired' ? [d.code, d.expected, d.got, d.eventIndex] : d.code))).toEqual([
      ['block_index_repaired', 3, 2, 9],
      ['block_index_repaired', 6, 5, 17],
      ['block_index_repaired', 8, 7, 22],
    ]);
    const sdk = await sdkFinalMessage(bytes);
    if (!sdk.ok) throw sdk.error;
    expect(plain(r.message)).toEqual(sdk.message);
    expect(r.message?.content.map((b) => (b.type === 'text' ? b.text : b.type))).toEqual([
      'Writing the files.', 'server_tool_use', 'bash_code_execution_tool_result', 'First done.', 'server_tool_use',
      'text_editor_code_execution_tool_result', 'Second done.', 'web_search_tool_result', 'server_tool_use',
    ]);
  });

  it('strict rejects it as block_index_mismatch at the repeating start, naming the due index', () => {
    const r = parseTurnSync(sse(repeated), { strict: true });
    expect(codeOf(r)).toBe('block_index_mismatch');
    expect(r.error?.eventIndex).toBe(9);
    expect((r.error as StreamError).expected).toContain('content_block_start(index 3)');
  });

  it('any other mismatch stays an error: a repeat after a block that is not a tool result', () => {
    const events = [messageStart(), ...text(0, 'a'), ...text(1, 'b', 0), ...end()];
    expect(codeOf(parseTurnSync(sse(events)))).toBe('block_index_mismatch');
  });

  it('… a start two behind after a tool result, or one ahead', () => {
    const base = [messageStart(), ...text(0, 'a'), ...serverCall(1, 'srvtoolu_01A'), ...result(2, 'srvtoolu_01A')];
    expect(codeOf(parseTurnSync(sse([...base, ...text(3, 'b', 1), ...end()])))).toBe('block_index_mismatch');
    expect(codeOf(parseTurnSync(sse([...base, ...text(3, 'b', 4), ...end()])))).toBe('block_index_mismatch');
  });

  it('… the repaired block’s deltas and stop must carry the due index, not the repeated one', () => {
    const events = [messageStart(), ...serverCall(0, 'srvtoolu_01A'), ...result(1, 'srvtoolu_01A'), ...text(1, 'b'), ...end()];
    const r = parseTurnSync(sse(events));
    expect(codeOf(r)).toBe('block_index_mismatch');
    expect(r.error?.eventIndex).toBe(7); // the delta for index 1, while block 2 is open
  });

  it('… a tool result whose own start repeats the index is not repaired (only the block right after one)', () => {
    const events = [messageStart(), ...serverCall(0, 'srvtoolu_01A'), ...result(1, 'srvtoolu_01A').map((e) => (e['type'] === 'content_block_start' ? { ...e, index: 0 } : e)), ...end()];
    expect(codeOf(parseTurnSync(sse(events)))).toBe('block_index_mismatch');
  });
});

describe('interleaved blocks (one starting while another is open)', () => {
  it('are rejected by default, and the error’s `expected` says blocks do not interleave', () => {
    const events = [
      messageStart(),
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'b' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_stop', index: 1 },
      ...end(),
    ];
    const r = parseTurnSync(sse(events));
    expect(codeOf(r)).toBe('unexpected_event');
    expect(r.error?.eventIndex).toBe(2);
    const error = r.error as StreamError;
    expect(error.state).toBe('inBlock.text');
    expect(error.expected).toMatch(/blocks do not interleave/);
  });
});
