/**
 * The delta lane: with no listener for deltas, a delta in quickDelta's layout that the machine's own
 * `fitsOpenBlock` guard lets through is handed to the assembler as its literal's body on the wire, and the
 * escapes are undone a batch at a time. It must be indistinguishable from every other way in: stepping the
 * actor on every event, and the same parse with a listener attached (which takes each delta as a value) —
 * verdict, error and where it happened, message, dropped blocks, trace, diagnostics — and a listener
 * attached or removed mid-block must see the same snapshots as one attached from the start.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamError, TurnParser, TurnstateError, type TurnOptions, type TurnResult } from '../../src/index.js';
import { corpusDir, repoRoot } from '../support/corpus-location.js';
import { chunk, chunkingArb, mutatedStreamArb, serialize, sseFormatArb, validStreamArb, type Obj } from '../support/arbitraries.js';

function parse(chunks: readonly Uint8Array[], options: TurnOptions, setup?: (turn: TurnParser) => void): TurnResult {
  const turn = new TurnParser(options);
  setup?.(turn);
  try {
    for (const c of chunks) turn.write(c);
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  return turn.end();
}

function comparable(r: TurnResult): unknown {
  const error = r.error;
  return {
    ok: r.ok,
    code: error?.code ?? null,
    eventIndex: error?.eventIndex ?? null,
    byteOffset: error?.byteOffset ?? null,
    state: error instanceof StreamError ? error.state : null,
    message: r.message === null ? null : JSON.parse(JSON.stringify(r.message)),
    stopReason: r.stopReason,
    dropped: JSON.parse(JSON.stringify(r.dropped)),
    invalidToolInputs: r.invalidToolInputs,
    trace: r.trace,
    diagnostics: r.diagnostics.map((d) => d.code),
    eventCount: r.eventCount,
  };
}

/** Streams of every block kind, mutated ones among them, in every SSE format and chunking. */
const bytesArb = fc
  .tuple(fc.oneof(validStreamArb().map((s) => [...s.events]), mutatedStreamArb().map((m) => m.events)), sseFormatArb, chunkingArb)
  .map(([events, format, chunking]) => chunk(serialize(events as Obj[], format).bytes, chunking));

/** The repository's recordings, and the shared corpus of real ones when it is there. */
const RECORDINGS = [join(repoRoot, 'recordings'), ...(corpusDir === null ? [] : [corpusDir])].flatMap((dir) =>
  readdirSync(dir).filter((f) => f.endsWith('.sse')).map((f) => join(dir, f)),
);

describe('the delta lane (no delta listener)', () => {
  it('equals stepping the actor on every event, and a parse with a text listener, on random streams', () => {
    fc.assert(
      fc.property(bytesArb, fc.boolean(), (chunks, strict) => {
        const lane = comparable(parse(chunks, { strict }));
        expect(lane).toEqual(comparable(parse(chunks, { strict, actorSteps: 'every-event' })));
        expect(lane).toEqual(comparable(parse(chunks, { strict }, (turn) => turn.on('inputJson', () => {}).on('thinking', () => {}))));
      }),
      { numRuns: 300 },
    );
  });

  it('equals the listened-to parse on every recording, cut in 7-byte chunks and whole', () => {
    expect(RECORDINGS.length).toBeGreaterThan(20);
    for (const file of RECORDINGS) {
      const bytes = new Uint8Array(readFileSync(file));
      const sevens = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
      for (const chunks of [[bytes], sevens]) {
        const listened = comparable(parse(chunks, {}, (turn) => turn.on('text', () => {})));
        expect(comparable(parse(chunks, {})), file).toEqual(listened);
      }
    }
  });

  it('a listener attached, then removed, mid-block sees the snapshots one attached from the start sees', () => {
    const text = 'a "quoted" line\\n, é 😀 and a \\\\ backslash; ';
    const json = '{"path": "a\\"b.ts", "content": "x\\ny", "n": [1, 2.5e3, true, null]}';
    const events: Obj[] = [
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      ...Array.from({ length: 600 }, (_, i) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `${i}:${text}` } })),
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 't', input: {} } },
      ...Array.from({ length: Math.ceil(json.length / 3) }, (_, i) => ({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: json.slice(i * 3, i * 3 + 3) } })),
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ];
    const chunks = serialize(events).text.split(/(?<=\n\n)/).map((e) => new TextEncoder().encode(e));
    const always: string[] = [];
    const full = parse(chunks, {}, (turn) => turn.on('text', (_d, snapshot) => always.push(snapshot)).on('inputJson', (_d, value) => always.push(JSON.stringify(value))));
    fc.assert(
      fc.property(fc.nat(chunks.length), fc.nat(chunks.length), (a, b) => {
        const [on, off] = a <= b ? [a, b] : [b, a];
        const seen: string[] = [];
        const turn = new TurnParser();
        const onText = (_d: string, snapshot: string): void => void seen.push(snapshot);
        const onJson = (_d: string, value: unknown): void => void seen.push(JSON.stringify(value));
        let listened = 0;
        chunks.forEach((c, i) => {
          if (i === on) turn.on('text', onText).on('inputJson', onJson);
          if (i === off) turn.off('text', onText).off('inputJson', onJson);
          if (i >= on && i < off && /"content_block_delta"/.test(new TextDecoder().decode(c))) listened++;
          turn.write(c);
        });
        const result = turn.end();
        expect(comparable(result)).toEqual(comparable(full));
        // Each delta listened to saw what a listener from the start saw for that delta (event i ↔ chunk i).
        const deltaChunks = chunks.map((c, i) => [i, new TextDecoder().decode(c)] as const).filter(([, t]) => t.includes('"content_block_delta"'));
        const expected = deltaChunks.map(([i], k) => [i, always[k]] as const).filter(([i]) => i >= on && i < off).map(([, s]) => s);
        expect(seen.length).toBe(listened);
        expect(seen).toEqual(expected);
      }),
      { numRuns: 60 },
    );
    expect(full.ok).toBe(true);
    expect((full.message?.content[1] as { input: unknown }).input).toEqual(JSON.parse(json));
  });
});
