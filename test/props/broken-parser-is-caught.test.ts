/**
 * The properties can fail: run them (with `fc.check`, not `fc.assert`) against
 * deliberately broken parsers and require `failed === true`. A property that
 * passes for a broken parser proves nothing about the real one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createParser } from 'eventsource-parser';
import { MessageAssembler } from '../../src/assemble/assembler.js';
import { TurnParser, TurnstateError } from '../../src/index.js';
import { SseFramer } from '../../src/sse/framer.js';
import type { Obj } from '../support/arbitraries.js';
import { framerProperty, mutationsProperty, turnstate, validStreamsProperty, type BytesParser, type Framed, type Outcome } from './properties.js';

/** SSE bytes → parsed events, with eventsource-parser; `flush` decides whether a final event without its blank line counts. */
function frameEvents(chunks: readonly Uint8Array[], flush: boolean): Obj[] {
  const events: Obj[] = [];
  const parser = createParser({ onEvent: (message) => events.push(JSON.parse(message.data) as Obj) });
  const decoder = new TextDecoder();
  for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }));
  parser.feed(decoder.decode());
  if (flush) parser.feed('\n\n');
  return events;
}

/** Feeds parsed events to a real TurnParser. */
function viaTurnParser(events: readonly Obj[]): Outcome {
  const turn = new TurnParser();
  try {
    for (const e of events) turn.writeEvent(e);
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  return turn.end();
}

/** Broken: drops every 7th text delta before turnstate sees it. */
const dropsEvery7thTextDelta: BytesParser = (chunks) => {
  let textDeltas = 0;
  const kept = frameEvents(chunks, true).filter((e) => {
    const d = e['delta'] as Obj | undefined;
    if (e['type'] !== 'content_block_delta' || d?.['type'] !== 'text_delta') return true;
    textDeltas += 1;
    return textDeltas % 7 !== 0;
  });
  return viaTurnParser(kept);
};

/** Broken: skips the grammar machine — any event order is assembled and accepted. */
const acceptsAnyOrder: BytesParser = (chunks) => {
  const assembler = new MessageAssembler(() => 0);
  for (const e of frameEvents(chunks, true)) {
    switch (e['type']) {
      case 'message_start':
        if (assembler.current() === null) assembler.start(e as never);
        break;
      case 'content_block_start':
        assembler.open(e as never);
        break;
      case 'content_block_delta':
        assembler.delta(e as never);
        break;
      case 'content_block_stop':
        assembler.close(e['index'] as number, 0);
        break;
      case 'message_delta':
        assembler.messageDelta(e as never);
        break;
    }
  }
  const message = assembler.current();
  return {
    ok: message !== null,
    message,
    stopReason: assembler.stopKnown ? (message as unknown as { stop_reason: unknown }).stop_reason : null,
    dropped: assembler.dropped,
    error: null,
  };
};

/** Broken: a final event without its trailing blank line is lost (what the SDK's own SSE decoder does). */
const ignoresUnterminatedFinalEvent: BytesParser = (chunks) => viaTurnParser(frameEvents(chunks, false));

/** Broken: moves every delta to the open block, so mis-indexed deltas slip through. */
const reindexesDeltas: BytesParser = (chunks) => {
  let open = -1;
  const events = frameEvents(chunks, true).map((e) => {
    if (e['type'] === 'content_block_start') open = e['index'] as number;
    return e['type'] === 'content_block_delta' ? { ...e, index: open } : e;
  });
  return viaTurnParser(events);
};

/** A simple framer: payloads found again in the decoded text; `unit` decides how an offset is counted. */
function searchingFramer(unit: 'bytes' | 'characters') {
  return (chunks: readonly Uint8Array[]): Framed[] => {
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    const text = new TextDecoder().decode(bytes); // strips the BOM
    const out: Framed[] = [];
    let from = 0;
    const framer = new SseFramer((name, data) => {
      const field = text.indexOf('data:', from);
      const start = text.startsWith(' ', field + 5) ? field + 6 : field + 5;
      from = start + data.length;
      const offset = unit === 'bytes' ? new TextEncoder().encode(text.slice(0, start)).length : start;
      out.push({ name, data, offset: offset + bom });
    });
    framer.pushText(text);
    framer.end();
    return out;
  };
}

const RUNS = { numRuns: 200, endOnFailure: true } as const;

describe('the properties catch broken parsers', () => {
  it('sanity: the real parser passes both properties under fc.check', () => {
    expect(fc.check(validStreamsProperty(turnstate()), { numRuns: 60 }).failed).toBe(false);
    expect(fc.check(mutationsProperty(turnstate()), { numRuns: 60 }).failed).toBe(false);
  });

  it('dropping every 7th text delta fails the valid-streams property', () => {
    expect(fc.check(validStreamsProperty(dropsEvery7thTextDelta), RUNS).failed).toBe(true);
  });

  it('accepting any event order passes valid streams but fails the mutations property', () => {
    expect(fc.check(validStreamsProperty(acceptsAnyOrder), { numRuns: 60 }).failed).toBe(false);
    expect(fc.check(mutationsProperty(acceptsAnyOrder), RUNS).failed).toBe(true);
  });

  it('losing a final event that lacks its blank line fails the valid-streams property', () => {
    expect(fc.check(validStreamsProperty(ignoresUnterminatedFinalEvent), RUNS).failed).toBe(true);
    // …while it is right on every stream that does end with a blank line: the property's formats matter.
  });

  it('re-indexing deltas to the open block fails the mutations property', () => {
    expect(fc.check(mutationsProperty(reindexesDeltas), RUNS).failed).toBe(true);
  });

  it('a framer that counts characters instead of bytes fails the framer property (one that counts bytes passes)', () => {
    expect(fc.check(framerProperty(searchingFramer('bytes')), { numRuns: 60 }).failed).toBe(false);
    expect(fc.check(framerProperty(searchingFramer('characters')), RUNS).failed).toBe(true);
  });
});
