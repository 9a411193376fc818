/**
 * Issue 7 A1: programmatic tool calling. When code execution calls a client
 * tool, the follow-up response is a message_start that already holds the
 * finished blocks (tool_use with `caller`, sometimes a
 * code_execution_tool_result before it) with `stop_reason: "tool_use"` set,
 * then message_stop — no block events, no message_delta. The grammar has a
 * named path for it (`startsComplete` → `prepopulated`); the general rule is
 * not loosened.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTurnSync, StreamError, TurnParser } from '../../src/index.js';
import { sdkFinalMessage } from '../support/sdk-oracle.js';
import { plain } from '../props/reference.js';

type Obj = Record<string, unknown>;
const recording = readFileSync(fileURLToPath(new URL('../../recordings/ptc-prepopulated-tool-use.sse', import.meta.url)), 'utf8');
const sse = (events: readonly Obj[]): string => events.map((e) => `event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`).join('');
const start = JSON.parse(/^data: (.*)$/m.exec(recording)![1]!) as { message: Obj };
const withMessage = (patch: Obj): Obj => ({ type: 'message_start', message: { ...start.message, ...patch } });

describe('a prepopulated message_start (programmatic tool calling)', () => {
  it('assembles to exactly what the SDK’s beta accumulator builds, stop reason, caller and container included', async () => {
    const r = parseTurnSync(recording);
    if (!r.ok) throw r.error;
    const sdk = await sdkFinalMessage(recording);
    if (!sdk.ok) throw sdk.error;
    expect(plain(r.message)).toEqual(sdk.message);
    expect(r.stopReason).toBe('tool_use');
    expect(r.trace).toEqual(['awaitingMessageStart', 'prepopulated', 'complete']);
    expect(r.message.container?.id).toMatch(/^container_/);
    const call = r.message.content.find((b) => b.type === 'tool_use');
    expect(call).toMatchObject({ name: 'query_database', caller: { type: 'code_execution_20250825' } });
  });

  it('the stop reason is readable from message_start on: the snapshot is `finishing`, `stop` fires, no StopReasonError', () => {
    const stops: unknown[] = [];
    const turn = new TurnParser().on('stop', (reason) => stops.push(reason));
    const [first] = recording.split(/(?<=\n\n)/);
    turn.write(first!);
    const snap = turn.snapshot;
    expect(snap.status).toBe('finishing');
    if (snap.status !== 'finishing') return;
    expect(snap.stopReason).toBe('tool_use');
    expect(snap.message.stop_reason).toBe('tool_use');
    expect(stops).toEqual(['tool_use']);
  });

  it('content without a stop reason stays a violation (unexpected_event at event 0)', () => {
    const r = parseTurnSync(sse([withMessage({ stop_reason: null }), { type: 'message_stop' }]));
    expect(r.error?.code).toBe('unexpected_event');
    expect(r.error?.eventIndex).toBe(0);
    expect((r.error as StreamError).expected).toMatch(/finished content and its stop_reason/);
  });

  it('blocks, or a message_delta, after a prepopulated start stay violations; `expected` names message_stop', () => {
    for (const next of [
      { type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } },
    ]) {
      const r = parseTurnSync(sse([withMessage({}), next, { type: 'message_stop' }]));
      expect(r.error?.code, next.type).toBe('unexpected_event');
      expect(r.error?.eventIndex).toBe(1);
      expect((r.error as StreamError).state).toBe('prepopulated');
      expect((r.error as StreamError).expected).toMatch(/^message_stop/);
      expect(r.stopReason).toBe('tool_use');
    }
  });

  it('a prepopulated tool_use without id, name or an object input is malformed_event (the controller would rely on them)', () => {
    const content = start.message['content'] as Obj[];
    for (const broken of [{ id: undefined }, { name: 7 }, { input: '{"sql":' }]) {
      const bad = content.map((b) => (b['type'] === 'tool_use' ? { ...b, ...broken } : b));
      const r = parseTurnSync(sse([withMessage({ content: bad }), { type: 'message_stop' }]));
      expect(r.error?.code).toBe('malformed_event');
    }
  });

  it('ordinary starts are untouched: empty content streams its blocks as before', () => {
    const r = parseTurnSync(
      sse([
        withMessage({ content: [], stop_reason: null, container: null }),
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
        { type: 'content_block_stop', index: 0 },
        { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } },
        { type: 'message_stop' },
      ]),
    );
    expect(r.ok).toBe(true);
    expect(r.trace).toEqual(['awaitingMessageStart', 'betweenBlocks', 'inBlock.text', 'betweenBlocks', 'awaitingMessageStop', 'complete']);
  });
});
