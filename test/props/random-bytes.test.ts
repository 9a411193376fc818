/**
 * Property: whatever arrives — random bytes, random text, SSE-shaped garbage,
 * random JSON values or almost-valid events — turnstate never throws anything
 * but a TurnstateError (from `write` / `writeEvent`), `end()` never throws, and
 * a failed result always carries a TurnstateError whose code is in its
 * documented union. Listeners (incl. partial tool input) are attached, so the
 * event-emitting paths run on the garbage too.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SseError, StreamError, TurnParser, TurnstateError, type TurnOptions, type TurnResult } from '../../src/index.js';
import { chunk, chunkingArb, jsonValueArb, serialize, sseFormatArb, textArb, validStreamArb, type Obj } from '../support/arbitraries.js';
import { SSE_ERROR_CODES, STREAM_ERROR_CODES } from './reference.js';

type Input = { kind: 'bytes'; chunks: Uint8Array[] } | { kind: 'text'; chunks: string[] } | { kind: 'events'; events: unknown[] };

const optionsArb: fc.Arbitrary<TurnOptions> = fc.record(
  {
    strict: fc.boolean(),
    actorSteps: fc.constantFrom('boundaries' as const, 'every-event' as const),
    maxEventSize: fc.integer({ min: 1, max: 400 }),
  },
  { requiredKeys: [] },
);

/** Runs the input; returns the result, and fails the property on any non-TurnstateError throw. */
function run(input: Input, options: TurnOptions): TurnResult {
  const turn = new TurnParser(options);
  const noop = (): void => {};
  turn.on('text', noop).on('thinking', noop).on('inputJson', noop).on('citation', noop).on('signature', noop).on('compaction', noop).on('streamEvent', noop);
  turn.on('contentBlock', noop).on('stop', noop).on('message', noop).on('diagnostic', noop).on('state', noop).on('error', noop).on('event', noop);
  const items: unknown[] = input.kind === 'events' ? input.events : input.chunks;
  let thrown: unknown = null;
  for (const item of items) {
    try {
      if (input.kind === 'events') turn.writeEvent(structuredClone(item));
      else turn.write(item as Uint8Array | string);
      // Reading the snapshot mid-stream must not throw either.
      void turn.snapshot.status;
    } catch (error) {
      if (!(error instanceof TurnstateError)) throw error;
      // Every later write throws the same error.
      if (thrown !== null) expect(error).toBe(thrown);
      thrown = error;
    }
  }
  let result: TurnResult;
  try {
    result = turn.end();
  } catch (error) {
    throw new Error(`end() threw: ${String(error)}`);
  }
  if (!result.ok) {
    expect(result.error).toBeInstanceOf(TurnstateError);
    if (thrown !== null) expect(result.error).toBe(thrown);
    if (result.error instanceof StreamError) expect(STREAM_ERROR_CODES).toContain(result.error.code);
    else if (result.error instanceof SseError) expect(SSE_ERROR_CODES).toContain(result.error.code);
    else throw new Error(`unexpected error class ${result.error.constructor.name}`);
    expect(() => JSON.stringify(result.error)).not.toThrow();
    expect(turn.snapshot.status).toBe('failed');
  } else {
    expect(thrown).toBeNull();
    // Reading the stop fields of a complete message never throws.
    expect(() => [result.message.stop_reason, result.message.stop_sequence, result.message.stop_details]).not.toThrow();
  }
  return result;
}

const eventName = fc.constantFrom(
  'message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping', 'error',
  'x_future', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '',
);
const deltaName = fc.constantFrom('text_delta', 'citations_delta', 'input_json_delta', 'thinking_delta', 'signature_delta', 'compaction_delta', 'x_delta', 'constructor', 'toString', '__proto__');
const blockName = fc.constantFrom('text', 'tool_use', 'server_tool_use', 'mcp_tool_use', 'thinking', 'redacted_thinking', 'compaction', 'fallback', 'x_block', 'constructor');
const anyIndex = fc.oneof(fc.nat(3), fc.constant(-1), fc.constant(1.5), fc.constant(2 ** 32), fc.constant('0'), fc.constant(null));
const loose: fc.Arbitrary<unknown> = fc.oneof(jsonValueArb, textArb, fc.constant(undefined));

/** Events that pass or nearly pass the shape checks, with random payloads: they reach the assembler. */
const almostEventArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ type: fc.constant('message_start'), message: fc.record({ content: fc.oneof(fc.constant([]), fc.array(loose, { maxLength: 1 })), usage: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), loose, { maxKeys: 3 }), loose), id: loose, model: loose }, { requiredKeys: ['content', 'usage'] }) }),
  fc.record({ type: fc.constant('content_block_start'), index: anyIndex, content_block: fc.record({ type: blockName, text: loose, input: loose, thinking: loose, citations: loose, content: loose, to: loose }, { requiredKeys: ['type'] }) }),
  fc.record({ type: fc.constant('content_block_delta'), index: anyIndex, delta: fc.record({ type: deltaName, text: loose, partial_json: fc.oneof(loose, fc.constantFrom('{', '}', '{"a":', '[1]', '"x"', '')), thinking: loose, signature: loose, citation: loose, content: loose, encrypted_content: loose }, { requiredKeys: ['type'] }) }),
  fc.record({ type: fc.constant('content_block_stop'), index: anyIndex }),
  fc.record({ type: fc.constant('message_delta'), delta: fc.record({ stop_reason: fc.oneof(fc.constantFrom('end_turn', 'max_tokens', 'model_context_window_exceeded', 'tool_use'), loose), stop_sequence: loose, stop_details: loose, container: loose }, { requiredKeys: [] }), usage: fc.oneof(fc.dictionary(fc.constantFrom('output_tokens', 'input_tokens', 'iterations', 'server_tool_use', 'x'), loose, { maxKeys: 3 }), loose), context_management: loose }, { requiredKeys: ['type', 'delta'] }),
  fc.record({ type: fc.constant('message_stop') }),
  fc.constant({ type: 'ping' }),
  fc.record({ type: fc.constant('error'), error: fc.oneof(fc.record({ type: fc.oneof(fc.string(), loose), message: loose }), loose), request_id: loose }),
  fc.record({ type: eventName, index: anyIndex, delta: loose, content_block: loose, message: loose }),
  jsonValueArb,
);

/** A valid stream's events with some replaced by almost-events: deep paths into the assembler. */
const corruptedEventsArb: fc.Arbitrary<unknown[]> = fc
  .tuple(validStreamArb({ maxBlocks: 3 }), fc.array(fc.tuple(fc.nat(), almostEventArb), { minLength: 1, maxLength: 4 }))
  .map(([stream, replacements]) => {
    const events: unknown[] = stream.events.map((e) => structuredClone(e));
    for (const [at, event] of replacements) events.splice(at % (events.length + 1), at % 2, event);
    return events;
  });

/** SSE-shaped text: real field names, random values, random line endings. */
const sseLineArb: fc.Arbitrary<string> = fc.oneof(
  eventName.map((n) => `event: ${n}`),
  fc.oneof(jsonValueArb.map((v) => JSON.stringify(v) ?? 'null'), almostEventArb.map((v) => JSON.stringify(v) ?? ''), textArb).map((d) => `data: ${d}`),
  fc.constantFrom('', ': comment', 'retry: 1000', 'retry: x', 'id: 7', 'bogus: field', 'data', 'event', ':'),
);
const sseTextArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(sseLineArb, { maxLength: 30 }), fc.constantFrom('\n', '\r\n', '\r'))
  .map(([lines, eol]) => lines.join(eol));

describe('garbage never makes turnstate throw anything but TurnstateError', () => {
  it('random bytes, in random chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), chunkingArb, optionsArb, (bytes, chunking, options) => {
        run({ kind: 'bytes', chunks: chunk(bytes, chunking) }, options);
      }),
      { numRuns: 300 },
    );
  });

  it('random strings (written as text)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), textArb), { maxLength: 8 }), optionsArb, (chunks, options) => {
        run({ kind: 'text', chunks }, options);
      }),
      { numRuns: 300 },
    );
  });

  it('SSE-shaped text with random payloads, as bytes in random chunks', () => {
    fc.assert(
      fc.property(sseTextArb, chunkingArb, optionsArb, (text, chunking, options) => {
        run({ kind: 'bytes', chunks: chunk(new TextEncoder().encode(text), chunking) }, options);
      }),
      { numRuns: 300 },
    );
  });

  it('random JSON values and almost-events through writeEvent', () => {
    fc.assert(
      fc.property(fc.array(almostEventArb, { maxLength: 12 }), optionsArb, (events, options) => {
        run({ kind: 'events', events }, options);
      }),
      { numRuns: 400 },
    );
  });

  it('valid streams with events replaced by almost-events, as events and as bytes', () => {
    fc.assert(
      fc.property(corruptedEventsArb, sseFormatArb, chunkingArb, optionsArb, (events, format, chunking, options) => {
        run({ kind: 'events', events }, options);
        const objects = events.filter((e): e is Obj => typeof e === 'object' && e !== null && !Array.isArray(e));
        const bytes = serialize(objects.map((e) => ({ ...e, type: String(e['type']) })), format).bytes;
        run({ kind: 'bytes', chunks: chunk(bytes, chunking) }, { ...options, maxEventSize: 1 << 20 });
      }),
      { numRuns: 300 },
    );
  });
});
