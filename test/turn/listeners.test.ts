import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListenerError, TurnParser, type TurnHandlers, type TurnOptions, type TurnResult } from '../../src/index.js';
import { SseFramer } from '../../src/sse/framer.js';
import type { ListenerFailed } from '../../src/assemble/types.js';
import { chunk, serialize, validBytesArb, type Obj } from '../support/arbitraries.js';

const recording = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../recordings/${name}`, import.meta.url)));
const chunksOf = (bytes: Uint8Array, size: number): Uint8Array[] => chunk(bytes, { kind: 'sizes', sizes: [size] });

/** What a parse decided, for comparing two parses of the same bytes. */
function verdict(result: TurnResult): unknown {
  return {
    ok: result.ok,
    message: JSON.parse(JSON.stringify(result.message)),
    stopReason: result.stopReason,
    dropped: result.dropped.map((d) => ({ index: d.index, reason: d.reason, partial: d.partial })),
    error: result.error === null ? null : { code: result.error.code, eventIndex: result.error.eventIndex },
    diagnostics: result.diagnostics.filter((d) => d.code !== 'listener_failed').map((d) => d.code),
    eventCount: result.eventCount,
  };
}

describe('listeners take the SDK MessageStream argument order', () => {
  it('text(textDelta, textSnapshot), contentBlock(block), message(message), streamEvent(event, snapshot)', () => {
    const seen: string[] = [];
    const textCalls: [string, string][] = [];
    const turn = new TurnParser()
      .on('text', (delta, snapshot) => void textCalls.push([delta, snapshot]))
      .on('contentBlock', (...args) => seen.push(`block ${args.length} ${args[0].type}`))
      .on('message', (message) => seen.push(`message ${message.id}`));
    const types: string[] = [];
    turn.on('streamEvent', (event, snapshot) => types.push(`${event.type}:${snapshot.content.length}`));
    for (const piece of chunksOf(recording('end-turn-text.sse'), 7)) turn.write(piece);
    const result = turn.end();
    expect(result.ok).toBe(true);
    const text = (result.message!.content[0] as { text: string }).text;
    expect(textCalls.length).toBeGreaterThan(1);
    // Each snapshot is the deltas so far; the last one is the block's text.
    textCalls.forEach(([, snap], i) => expect(snap).toBe(textCalls.slice(0, i + 1).map(([d]) => d).join('')));
    expect(textCalls.at(-1)![1]).toBe(text);
    expect(seen.filter((s) => !s.startsWith('text '))).toEqual(['block 1 text', `message ${result.message!.id}`]);
    // No pings: the SDK never shows them. Every other event, with the message so far.
    expect(types[0]).toBe('message_start:0');
    expect(types.at(-1)).toBe('message_stop:1');
    expect(types.some((t) => t.startsWith('ping'))).toBe(false);
  });

  it('inputJson(partialJson, jsonSnapshot): the input parsed so far, {} before any key', () => {
    const snaps: string[] = [];
    const pieces: string[] = [];
    const turn = new TurnParser().on('inputJson', (partial, snapshot) => {
      pieces.push(partial);
      snaps.push(JSON.stringify(snapshot));
    });
    const input = { city: 'Lisbon', days: [1, 2], nested: { ok: true } };
    const json = JSON.stringify(input);
    const events: Obj[] = [
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-opus-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'weather', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } },
      ...[json.slice(0, 10), json.slice(10, 25), json.slice(25)].map((partial_json) => ({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json } })),
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 5 } },
      { type: 'message_stop' },
    ];
    turn.write(serialize(events).bytes);
    expect(turn.end().ok).toBe(true);
    expect(pieces.join('')).toBe(json);
    expect(snaps[0]).toBe('{}');
    expect(snaps.at(-1)).toBe(json);
    // After the prefix {"city":"Lisbon","days":[ : the object so far, the open array empty.
    expect(json.slice(0, 25)).toBe('{"city":"Lisbon","days":[');
    expect(JSON.parse(snaps[2]!)).toEqual({ city: 'Lisbon', days: [] });
  });

  it('thinking(thinkingDelta, thinkingSnapshot), signature(signature), citation(citation, citationsSnapshot)', () => {
    const thinking: [string, string][] = [];
    const signatures: unknown[][] = [];
    const turn = new TurnParser().on('thinking', (d, s) => thinking.push([d, s])).on('signature', (...args) => signatures.push(args));
    turn.write(recording('thinking-signature.sse'));
    const result = turn.end();
    const block = result.message!.content.find((b) => b.type === 'thinking') as { thinking: string; signature: string };
    expect(thinking.at(-1)![1]).toBe(block.thinking);
    expect(thinking.map(([d]) => d).join('')).toBe(block.thinking);
    expect(signatures).toEqual([[block.signature]]);

    const citations: number[] = [];
    const cited = new TurnParser().on('citation', (citation, snapshot) => citations.push(snapshot.length) && expect(snapshot.at(-1)).toBe(citation));
    cited.write(recording('citations-document.sse'));
    expect(cited.end().ok).toBe(true);
    expect(citations.length).toBeGreaterThan(0);
    citations.forEach((n, i) => expect(n).toBeGreaterThan(i === 0 ? 0 : citations[i - 1]! - 1));
  });
});

// ---------------------------------------------------------------------------
// C14: a listener that throws can never change what is parsed.

const THROWING: readonly (keyof TurnHandlers)[] = ['text', 'thinking', 'inputJson', 'citation', 'signature', 'compaction', 'contentBlock', 'streamEvent', 'event', 'stop', 'message', 'state', 'diagnostic'];

interface PushParser {
  on<K extends keyof TurnHandlers>(name: K, handler: TurnHandlers[K]): unknown;
  write(chunk: Uint8Array): void;
  end(): TurnResult;
}

/**
 * Feeds `chunks` as a chat backend does (a throw out of `write` is caught and
 * the next chunk written), with listeners on every name that throw on the
 * calls `plan` picks. Returns the verdict and how many listener calls threw.
 */
function parseWithThrowers(make: (options: TurnOptions) => PushParser, chunks: readonly Uint8Array[], plan: ReadonlySet<number>): { result: TurnResult; threw: number } {
  const turn = make({});
  let calls = 0;
  let threw = 0;
  for (const name of THROWING) {
    turn.on(name, (() => {
      if (plan.has(calls++)) {
        threw++;
        throw new Error(`boom in ${name}`);
      }
    }) as never);
  }
  for (const piece of chunks) {
    try {
      turn.write(piece);
    } catch {
      // A backend that catches and carries on.
    }
  }
  return { result: turn.end(), threw };
}

/**
 * The bug this fixes, rebuilt: a driver that calls listeners from inside the
 * framer callback without isolating them, so a throw unwinds the framer and
 * the rest of its chunk is lost (what main did).
 */
class LeakyParser implements PushParser {
  readonly #inner = new TurnParser();
  readonly #text: ((d: string, s: string) => void)[] = [];
  readonly #framer = new SseFramer((_name, data) => {
    const event = JSON.parse(data) as Obj;
    this.#inner.writeEvent(event);
    const delta = event['delta'] as Obj | undefined;
    if (delta?.['type'] === 'text_delta') for (const l of this.#text) l(delta['text'] as string, '');
  });
  on<K extends keyof TurnHandlers>(name: K, handler: TurnHandlers[K]): this {
    if (name === 'text') this.#text.push(handler as never);
    return this;
  }
  write(piece: Uint8Array): void {
    this.#framer.pushBytes(piece);
  }
  end(): TurnResult {
    try {
      this.#framer.end();
    } catch {
      // as a backend would
    }
    return this.#inner.end();
  }
}

const real = (options: TurnOptions): PushParser => new TurnParser(options);

/** The verdict with no listeners at all. */
function parseClean(chunks: readonly Uint8Array[]): TurnResult {
  const turn = new TurnParser();
  try {
    for (const piece of chunks) turn.write(piece);
  } catch {
    // the verdict says it
  }
  return turn.end();
}

describe('a listener that throws never changes what is parsed (issue 6 item 14)', () => {
  it('regression: a text listener throwing once, 50-byte chunks, gives the same message and a listener_failed diagnostic', () => {
    const bytes = recording('tool-use-single.sse');
    const reference = parseClean([bytes]);
    expect(reference.ok).toBe(true);

    let thrown = false;
    const turn = new TurnParser().on('text', () => {
      if (!thrown) {
        thrown = true;
        throw new Error('client went away');
      }
    });
    for (const piece of chunksOf(bytes, 50)) turn.write(piece); // never throws
    const result = turn.end();
    expect(verdict(result)).toEqual(verdict(reference));
    const failures = result.diagnostics.filter((d): d is ListenerFailed => d.code === 'listener_failed');
    expect(failures).toHaveLength(1);
    const error = failures[0]!.error as ListenerError;
    expect(error).toBeInstanceOf(ListenerError);
    expect(error.code).toBe('listener_failed');
    expect(error.listener).toBe('text');
    expect((error.cause as Error).message).toBe('client went away');
    expect(error.eventIndex).toBe(failures[0]!.eventIndex);
    expect(typeof error.byteOffset).toBe('number');
  });

  it('the whole body in one chunk, a throw in every kind of listener: still the same verdict', () => {
    for (const name of ['tool-use-single.sse', 'thinking-signature.sse', 'max-tokens-mid-tool-use.sse', 'broken-open-block-at-end-turn.sse']) {
      const bytes = recording(name);
      const reference = parseClean([bytes]);
      const everyCall = new Set(Array.from({ length: 10_000 }, (_, i) => i));
      const { result, threw } = parseWithThrowers(real, [bytes], everyCall);
      expect(verdict(result), name).toEqual(verdict(reference));
      expect(threw).toBeGreaterThan(0);
      expect(result.diagnostics.filter((d) => d.code === 'listener_failed').length).toBe(Math.min(threw, 1000));
    }
  });

  it('throws of odd values (null-prototype object, a toString that throws) are described safely', () => {
    const odd = [Object.create(null), { toString: () => { throw new Error('no'); } }, undefined, Symbol('s')];
    for (const value of odd) {
      const turn = new TurnParser().on('message', () => {
        throw value;
      });
      turn.write(recording('end-turn-text.sse'));
      const result = turn.end();
      expect(result.ok).toBe(true);
      expect(result.diagnostics.at(-1)!.code).toBe('listener_failed');
      expect(typeof result.diagnostics.at(-1)!.message).toBe('string');
    }
  });

  const property = (make: (options: TurnOptions) => PushParser) =>
    fc.property(validBytesArb(), fc.uniqueArray(fc.nat({ max: 400 }), { maxLength: 8 }), ({ chunks }, throwAt) => {
      const reference = parseClean(chunks);
      const { result } = parseWithThrowers(make, chunks, new Set(throwAt));
      expect(verdict(result)).toEqual(verdict(reference));
    });

  it('property: throwing listeners at random points, random chunkings, never change the verdict', () => {
    fc.assert(property(real), { numRuns: 150 });
  });

  it('the property catches a driver that lets listener throws unwind the framer', () => {
    const outcome = fc.check(property((options) => (void options, new LeakyParser())), { numRuns: 300 });
    expect(outcome.failed).toBe(true);
  });
});
