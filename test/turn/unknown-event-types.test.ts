/**
 * Unknown event types are forward-compatible noise: skipped with one
 * diagnostic each (or rejected under `strict`), whatever their name and
 * wherever they come — including names that mean something to XState.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { StreamError, TurnParser, type TurnResult } from '../../src/index.js';
import { serialize, validStreamArb, type Obj } from '../support/arbitraries.js';

const KNOWN = new Set(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping', 'error']);

/**
 * Names XState treats specially when they reach `actor.send` (regression tests below; the driver now wraps unknown types):
 * `xstate.stop` stops the actor, `xstate.init` is ignored without a transition, and `*` makes
 * the development build throw inside the actor, reported later from a setTimeout.
 */
const XSTATE_RESERVED = new Set(['xstate.stop', 'xstate.init', '*']);

const start: Obj = {
  type: 'message_start',
  message: { id: 'msg_01', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } },
};
const text: Obj[] = [
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
  { type: 'content_block_stop', index: 0 },
];
const end: Obj[] = [{ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }, { type: 'message_stop' }];

function parseBytes(events: readonly Obj[], strict = false): TurnResult {
  const turn = new TurnParser({ strict });
  try {
    turn.write(serialize(events).bytes);
  } catch {
    // reported by end()
  }
  return turn.end();
}

const nameArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 8 }).map((s) => `xstate.${s}`),
  fc.constantFrom('xstate.error.actor.stream', 'xstate.done.actor.x', 'xstate.after.1.stream', 'xstate.done.state.stream', 'constructor', '__proto__', 'toString', 'stream', '#stream', 'x_future'),
).filter((name) => !KNOWN.has(name) && !XSTATE_RESERVED.has(name));

describe('unknown event types', () => {
  // XState's development build warns on every event sent to a stopped actor (the xstate.stop bug below).
  beforeEach(() => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('property: skipped with one diagnostic each, anywhere in a valid stream; rejected under strict', () => {
    fc.assert(
      fc.property(validStreamArb({ maxBlocks: 3 }), fc.array(fc.tuple(fc.nat(), nameArb), { minLength: 1, maxLength: 3 }), (stream, inserts) => {
        const events = [...stream.events];
        const at: number[] = [];
        for (const [pos, name] of inserts) {
          const i = pos % (events.length + 1);
          events.splice(i, 0, { type: name, detail: 1 });
        }
        events.forEach((e, i) => {
          if (!KNOWN.has(String(e['type']))) at.push(i);
        });
        const result = parseBytes(events);
        if (!result.ok) throw result.error;
        expect(result.message).toEqual(stream.expected.message);
        expect(result.diagnostics.map((d) => [d.code, d.eventIndex])).toEqual(at.map((i) => ['unknown_event_type', i]));

        const strict = parseBytes(events, true);
        expect(strict.ok).toBe(false);
        expect(strict.error).toBeInstanceOf(StreamError);
        const first = at[0] as number;
        const afterStop = events.findIndex((e) => e['type'] === 'message_stop') < first;
        expect(strict.error?.code).toBe(afterStop ? 'event_after_message_stop' : 'unknown_event_type');
        expect(strict.error?.eventIndex).toBe(first);
      }),
      { numRuns: 200 },
    );
  });

  // Regression: wire event types once reached XState unchanged, and `event: xstate.stop` stopped the grammar actor.
  it('fixed: `xstate.stop` is skipped like any unknown event (the stream still completes)', () => {
    const result = parseBytes([start, ...text.slice(0, 1), { type: 'xstate.stop' }, ...text.slice(1), ...end]);
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['unknown_event_type']);
  });

  it('fixed: after `xstate.stop` following message_stop, an invalid event is accepted silently', () => {
    const result = parseBytes([start, ...end, { type: 'xstate.stop' }, ...text.slice(0, 1), start]);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('event_after_message_stop');
    expect(result.error?.eventIndex).toBe(4);
  });

  it('fixed: `xstate.init` gets a diagnostic (today it is ignored silently)', () => {
    const result = parseBytes([start, { type: 'xstate.init' }, ...end]);
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => [d.code, d.eventIndex])).toEqual([['unknown_event_type', 1]]);
  });

  it('fixed: under strict, `xstate.init` is rejected as unknown_event_type (today it is accepted)', () => {
    const result = parseBytes([start, { type: 'xstate.init' }, ...end], true);
    expect(result.error?.code).toBe('unknown_event_type');
  });

  // Regression: an event named `*` once made XState's development build throw asynchronously.
  it('fixed: an event named `*` is skipped like any unknown event (crashes asynchronously under the development build)', () => {
    const result = parseBytes([start, { type: '*' }, ...end]);
    expect(result.ok).toBe(true);
  });
});
