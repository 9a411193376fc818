/**
 * The driver's shortcut (`actorSteps: 'boundaries'`: a delta that fits the open
 * block is applied without an actor step, decided by the machine's own
 * `fitsOpenBlock` guard and `deltaTable`) must be indistinguishable from
 * stepping the actor on every event. Property: for random valid and mutated
 * event sequences (incl. unknown and mistyped deltas, strict or not, as bytes
 * or as events), both modes give identical results.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deltaTable, StreamError, TurnParser, TurnstateError, type TurnOptions, type TurnResult } from '../../src/index.js';
import { applyMutations, blockArbs, chunk, chunkingArb, mutatedStreamArb, serialize, sseFormatArb, validStreamArb, type Obj } from '../support/arbitraries.js';

type Feed = { kind: 'bytes'; chunks: Uint8Array[] } | { kind: 'events'; events: Obj[] };

interface Observed {
  result: TurnResult;
  states: string[];
  snapshotState: string;
  texts: string[];
}

function run(feed: Feed, options: TurnOptions): Observed {
  const states: string[] = [];
  const texts: string[] = [];
  const turn = new TurnParser(options).on('state', (s) => states.push(s)).on('text', (t, i) => texts.push(`${i}:${t}`));
  try {
    if (feed.kind === 'bytes') for (const c of feed.chunks) turn.write(c);
    else for (const e of feed.events) turn.writeEvent(structuredClone(e));
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  const result = turn.end();
  return { result, states, snapshotState: turn.snapshot.state, texts };
}

function comparable(o: Observed): unknown {
  const r = o.result;
  const error = r.error;
  return {
    ok: r.ok,
    code: error?.code ?? null,
    eventIndex: error?.eventIndex ?? null,
    byteOffset: error?.byteOffset ?? null,
    state: error instanceof StreamError ? error.state : null,
    expected: error instanceof StreamError ? error.expected : null,
    got: error instanceof StreamError ? error.got : null,
    message: r.message === null ? null : JSON.parse(JSON.stringify(r.message)),
    stopReason: r.stopReason,
    dropped: JSON.parse(JSON.stringify(r.dropped)),
    trace: r.trace,
    diagnostics: r.diagnostics,
    eventCount: r.eventCount,
    states: o.states,
    snapshotState: o.snapshotState,
    texts: o.texts,
  };
}

/** Valid streams, mutated ones, and ones with unknown or mistyped deltas inserted. */
const sequenceArb: fc.Arbitrary<Obj[]> = fc.oneof(
  validStreamArb().map((s) => [...s.events]),
  mutatedStreamArb().map((m) => m.events),
  mutatedStreamArb().map((m) => m.events),
  // Rich in server tool results, with the block after one repeating its index: the repair path (issue 7 A2).
  fc
    .tuple(validStreamArb({ block: fc.oneof(blockArbs.web_search_tool_result, blockArbs.text, blockArbs.tool) }), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }))
    .map(([s, picks]) => applyMutations(s.events, picks.map((i) => ({ kind: 'repeat_after_result' as const, i })))),
  // Programmatic tool calling: the finished message in message_start, then message_stop — sometimes followed by events it forbids (issue 7 A1).
  fc
    .tuple(validStreamArb({ openTail: false }), fc.array(fc.nat(), { maxLength: 2 }))
    .map(([s, picks]) => {
      const { message } = s.expected;
      const events: Obj[] = [{ type: 'message_start', message: { ...message, stop_reason: s.expected.stopReason } }, { type: 'message_stop' }];
      const tail = s.events.filter((e) => e['type'] !== 'message_start' && e['type'] !== 'message_stop');
      for (const i of picks) if (tail.length > 0) events.splice(1, 0, structuredClone(tail[i % tail.length]!));
      return events;
    }),
);

const feedArb: fc.Arbitrary<Feed> = fc.oneof(
  sequenceArb.map((events) => ({ kind: 'events' as const, events })),
  fc.tuple(sequenceArb, sseFormatArb, chunkingArb).map(([events, format, chunking]) => ({
    kind: 'bytes' as const,
    chunks: chunk(serialize(events, format).bytes, chunking),
  })),
);

describe('fast path (boundaries) vs every-event', () => {
  it('give identical results: verdict, error code / index / state, message, dropped, trace, listeners', () => {
    fc.assert(
      fc.property(feedArb, fc.boolean(), (feed, strict) => {
        const fast = run(feed, { actorSteps: 'boundaries', strict });
        const slow = run(feed, { actorSteps: 'every-event', strict });
        expect(comparable(fast)).toEqual(comparable(slow));
      }),
      { numRuns: 300 },
    );
  });

  it('the sequences reach the named paths the shortcut must not bypass (the repeated-index repair, the prepopulated start)', () => {
    let repaired = 0;
    let prepopulated = 0;
    fc.assert(
      fc.property(sequenceArb, (events) => {
        const { result } = run({ kind: 'events', events }, {});
        if (result.ok && result.diagnostics.some((d) => d.code === 'block_index_repaired')) repaired += 1;
        if (result.ok && result.trace.includes('prepopulated')) prepopulated += 1;
      }),
      { numRuns: 600, seed: 7 },
    );
    expect(repaired).toBeGreaterThan(5);
    expect(prepopulated).toBeGreaterThan(5);
  });

  it('deltaTable lists exactly the streaming block states and the delta types each takes', () => {
    expect(Object.fromEntries(deltaTable)).toEqual({
      'inBlock.text': ['text_delta', 'citations_delta'],
      'inBlock.toolInput': ['input_json_delta'],
      'inBlock.thinking': ['thinking_delta', 'signature_delta'],
      'inBlock.compaction': ['compaction_delta'],
    });
    expect(deltaTable.has('inBlock.wholeBlock')).toBe(false);
  });
});
