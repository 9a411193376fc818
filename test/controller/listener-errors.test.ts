import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListenerError } from '../../src/index.js';
import type { ControllerEvent, RunResult } from '../../src/controller/index.js';
import { echoTool, runScripted, text, toolUse } from './helpers.js';

const script = () => [
  toolUse([{ id: 't1', name: 'echo', input: { a: 1 } }, { id: 't2', name: 'echo', input: { b: [2] } }], 'Checking both.'),
  { fail: 'overloaded_error' as const },
  text('Both done.'),
];

/** What a run decided: everything but timings, ids and the listener errors. */
const decided = (r: RunResult) => ({
  status: r.status,
  stopReason: r.stopReason,
  text: r.text,
  messages: r.messages,
  toolCalls: r.toolCalls.map((c) => ({ id: c.id, name: c.name, input: c.input, status: c.status, result: c.result, attempts: c.attempts })),
  usage: r.usage,
  segments: r.segments.map((s) => s.stopReason),
  retries: r.retries.map((x) => x.code),
});

describe('controller callbacks that throw (issue 6 item 14, the same rule as TurnParser listeners)', () => {
  it('property: `on` and `onEvent` callbacks throwing at random events never change the run, and each throw is reported', async () => {
    const { result: reference } = await runScripted(script(), { tools: [echoTool()] });
    expect(reference.status).toBe('completed');
    expect(reference.listenerErrors).toEqual([]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.nat({ max: 60 }), { maxLength: 10 }), fc.boolean(), async (throwAt, viaOn) => {
        let calls = 0;
        let threw = 0;
        const maybeThrow = (event: ControllerEvent): void => {
          if (throwAt.includes(calls++)) {
            threw++;
            throw Object.assign(new Error(`observer bug at ${event.type}`), { type: event.type });
          }
        };
        const on = Object.fromEntries(['text', 'block', 'segment_end', 'tool_start', 'tool_end', 'retry', 'checkpoint', 'state', 'run_end'].map((t) => [t, maybeThrow]));
        const { result } = await runScripted(script(), { tools: [echoTool()], ...(viaOn ? { on } : { onEvent: maybeThrow }) });
        expect(decided(result)).toEqual(decided(reference));
        expect(result.listenerErrors).toHaveLength(threw);
        for (const error of result.listenerErrors) {
          expect(error).toBeInstanceOf(ListenerError);
          expect(error.code).toBe('listener_failed');
          expect(error.listener).toBe((error.cause as { type: string }).type);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('a text callback that always throws: the streamed segments assemble the same, the run completes', async () => {
    const { result } = await runScripted(script(), {
      tools: [echoTool()],
      on: {
        text: () => {
          throw new Error('socket closed');
        },
      },
    });
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Both done.');
    expect(result.listenerErrors.length).toBeGreaterThan(0);
    expect(result.listenerErrors.every((e) => e.listener === 'text')).toBe(true);
  });
});
