/**
 * Property: mutate a valid event sequence (swap two events, drop one, duplicate
 * one, re-index a block event, inject an event after message_stop or anywhere,
 * truncate). turnstate must agree with an independent reference grammar
 * (./reference.ts, a plain loop) on every mutated sequence:
 *
 * - reference rejects → turnstate rejects with a StreamError of the same code,
 *   at the same event index (never an SseError, never a TypeError);
 * - reference accepts (the mutation happened to be harmless: two pings
 *   swapped, a ping or a delta dropped, …) → turnstate accepts, with the
 *   reference's message, stop reason and dropped blocks.
 *
 * Fed as SSE bytes (in random chunks) and, separately, as parsed events.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TurnParser, TurnstateError, type TurnResult } from '../../src/index.js';
import { chunk, chunkingArb, mutatedStreamArb, serialize, sseFormatArb, validStreamArb, type Obj } from '../support/arbitraries.js';
import { referenceParse } from './reference.js';
import { agreesWithReference } from './properties.js';

function viaBytes(chunks: readonly Uint8Array[], actorSteps: 'boundaries' | 'every-event'): TurnResult {
  const turn = new TurnParser({ actorSteps });
  try {
    for (const c of chunks) turn.write(c);
  } catch (error) {
    // write throws the typed error; end() then reports the same one.
    if (!(error instanceof TurnstateError)) throw error;
  }
  return turn.end();
}

function viaEvents(events: readonly Obj[]): TurnResult {
  const turn = new TurnParser();
  try {
    // Clones: the assembler builds the message inside the objects it is given.
    for (const e of events) turn.writeEvent(structuredClone(e));
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  return turn.end();
}

describe('mutated event sequences', () => {
  it('as bytes: turnstate and the reference grammar agree on accept / reject, error code and event index', () => {
    fc.assert(
      fc.property(mutatedStreamArb(), sseFormatArb, chunkingArb, fc.constantFrom('boundaries' as const, 'every-event' as const), ({ events }, format, chunking, actorSteps) => {
        const result = viaBytes(chunk(serialize(events, format).bytes, chunking), actorSteps);
        agreesWithReference(result, referenceParse(events));
      }),
      { numRuns: 400 },
    );
  });

  it('as parsed events (writeEvent): the same agreement', () => {
    fc.assert(
      fc.property(mutatedStreamArb(), ({ events }) => {
        agreesWithReference(viaEvents(events), referenceParse(events));
      }),
      { numRuns: 300 },
    );
  });

  it('the mutations do produce both verdicts, and every error code the grammar can give', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(mutatedStreamArb(), ({ events }) => {
        const ref = referenceParse(events);
        const key = ref.ok ? 'accepted' : ref.code;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }),
      { numRuns: 3000, seed: 20250514 },
    );
    for (const code of ['accepted', 'unexpected_event', 'block_index_mismatch', 'delta_type_mismatch', 'block_open_at_message_delta', 'event_after_message_stop', 'invalid_tool_input', 'incomplete_stream', 'api_error']) {
      expect(seen.get(code) ?? 0, `${code} in ${JSON.stringify([...seen])}`).toBeGreaterThan(5);
    }
  });

  it('the reference itself accepts every unmutated stream with the generator’s message', () => {
    fc.assert(
      fc.property(validStreamArb(), (stream) => {
        const ref = referenceParse(stream.events);
        if (!ref.ok) throw new Error(`reference rejects a valid stream: ${ref.code} at ${ref.eventIndex}`);
        expect(ref.message).toEqual(stream.expected.message);
        expect(ref.dropped).toEqual(stream.expected.dropped);
      }),
      { numRuns: 200 },
    );
  });
});
