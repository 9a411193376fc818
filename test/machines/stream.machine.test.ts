/**
 * What the stream machine promises beyond the transitions coverage-stream.test.ts walks: the bare machine's
 * defaults (what `createActor(streamMachine, { input: {} })` does with no options, as the inspector and src/trace run it), the
 * prepopulated path taken only with content, and the `expected` text of the states no event leaves.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { expectedIn, stateName, streamMachine, type StreamContext } from '../../machines/stream.machine.js';
import { parseTurnSync } from '../../src/index.js';
import { plain } from '../props/reference.js';
import { sdkFinalMessage } from '../support/sdk-oracle.js';

type Obj = Record<string, unknown>;
const message = { id: 'msg_01mach', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } };
const sse = (events: readonly Obj[]): string => events.map((e) => `event: ${String(e['type'])}\ndata: ${JSON.stringify(e)}\n\n`).join('');

describe('the bare machine (no options in its input)', () => {
  it('is lenient by default: an unknown event type is skipped, the stream goes on', () => {
    const actor = createActor(streamMachine, { input: {} }).start();
    actor.send({ type: 'message_start', message } as never);
    actor.send({ type: 'unknown_event', event: { type: 'future_event' } } as never);
    expect(stateName(actor.getSnapshot().value)).toBe('betweenBlocks');
    actor.send({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } } as never);
    actor.send({ type: 'message_stop' } as never);
    expect(stateName(actor.getSnapshot().value)).toBe('complete');
    expect(actor.getSnapshot().context.violation).toBeNull();
  });

  it('strict when asked: the same unknown event ends it as unknown_event_type', () => {
    const actor = createActor(streamMachine, { input: { strict: true } }).start();
    actor.send({ type: 'message_start', message } as never);
    actor.send({ type: 'unknown_event', event: { type: 'future_event' } } as never);
    expect(stateName(actor.getSnapshot().value)).toBe('violated');
    expect(actor.getSnapshot().context.violation).toBe('unknown_event_type');
  });
});

describe('a message_start with a stop reason but no content is not a finished message', () => {
  // A proxy or a replay tool may fill stop_reason early; with no blocks there is nothing finished to take, so the
  // blocks still stream and message_delta's stop reason is the one that counts, as in the SDK's accumulator.
  const events: Obj[] = [
    { type: 'message_start', message: { ...message, stop_reason: 'end_turn' } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'streamed' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 4 } },
    { type: 'message_stop' },
  ];

  it('its blocks are accepted and assembled as the SDK assembles them', async () => {
    const r = parseTurnSync(sse(events));
    if (!r.ok) throw r.error;
    expect(r.trace).toEqual(['awaitingMessageStart', 'betweenBlocks', 'inBlock.text', 'betweenBlocks', 'awaitingMessageStop', 'complete']);
    expect(r.message.content).toEqual([{ type: 'text', text: 'streamed' }]);
    expect(r.stopReason).toBe('max_tokens');
    const sdk = await sdkFinalMessage(sse(events));
    if (!sdk.ok) throw sdk.error;
    expect(plain(r.message)).toEqual(sdk.message);
  });
});

describe('expectedIn for the states no event leaves', () => {
  // TurnParser stops at the first violation or API error, so its errors never name these states; the machine
  // module's function still answers for them (the inspector shows the state) and must not claim anything is accepted.
  const context: StreamContext = { effects: undefined as never, strict: false, nextIndex: 2, openIndex: null, lastBlockType: 'text', violation: 'unexpected_event' };
  it.each(['violated', 'apiErrored'])('%s: nothing', (state) => {
    expect(expectedIn(state, context)).toBe('nothing (the stream has ended)');
  });
});
