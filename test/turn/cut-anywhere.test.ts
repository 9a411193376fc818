/**
 * Issue 6 C13: a stream that ends at ANY byte offset is `incomplete_stream`
 * (eventIndex = the events received whole), never `invalid_json` /
 * `invalid_utf8`; a final event without its blank line whose data is complete
 * JSON still counts. The expected event count comes from where each event's
 * data ends in the file, found by scanning its lines here — not from the parser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createParser } from 'eventsource-parser';
import { parseTurnSync, SseError, StreamError, TurnParser, TurnstateError } from '../../src/index.js';
import { corpusFiles, describeCorpus, repoRoot } from '../support/corpus.js';
import { chunk, chunkingArb, serialize, sseFormatArb, validStreamArb, type Chunking } from '../support/arbitraries.js';

interface Verdict {
  readonly ok: boolean;
  readonly code: string | null;
  readonly eventIndex: number | null;
}

/** A parser of a cut stream, in chunks. */
type CutParser = (chunks: readonly Uint8Array[]) => Verdict;

const turnstate: CutParser = (chunks) => {
  const turn = new TurnParser();
  try {
    for (const c of chunks) turn.write(c);
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  const result = turn.end();
  if (result.ok) return { ok: true, code: null, eventIndex: null };
  // The partial is kept on the error, and equals the result's message.
  expect((result.error as StreamError).partial ?? null).toBe(result.message);
  return { ok: false, code: result.error.code, eventIndex: result.error.eventIndex };
};

/**
 * Byte offset just past each event's data in an LF-framed file (one `data:`
 * line per event, as the API writes): a cut at or after it has that event whole.
 */
function dataEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  let lineStart = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    const line = Buffer.from(bytes.subarray(lineStart, i)).toString('latin1');
    if (line.startsWith('data:')) ends.push(i);
    lineStart = i + 1;
  }
  return ends;
}

/**
 * What a cut at `at` must give: whole once message_stop's data is in (event
 * `stopAt`; a cut ping after it loses nothing), else incomplete after the
 * events whose data is in.
 */
function expectedAt(ends: readonly number[], at: number, stopAt = ends.length - 1): Verdict {
  const received = ends.filter((end) => end <= at).length;
  return received > stopAt ? { ok: true, code: null, eventIndex: null } : { ok: false, code: 'incomplete_stream', eventIndex: received };
}

/** The chunkings tried at every offset: the prefix whole, and the prefix with its last line fed apart. */
function chunkings(prefix: Uint8Array): Uint8Array[][] {
  const lastLine = prefix.lastIndexOf(0x0a) + 1;
  return [[prefix], [prefix.subarray(0, lastLine), prefix.subarray(lastLine)]];
}

/** Every offset of the file. */
const everyOffset = (bytes: Uint8Array): number[] => Array.from({ length: bytes.length + 1 }, (_, i) => i);

/**
 * For a big file (each cut costs a parse of its prefix): every offset of the
 * first `head` bytes, then, within a budget of prefix bytes, cut points drawn
 * with a fixed seed plus each drawn point's event's data end and the byte before it.
 */
function sampledOffsets(bytes: Uint8Array, head = 1000, budget = 600_000): number[] {
  if (bytes.length <= head) return everyOffset(bytes);
  const ends = dataEnds(bytes);
  const cuts = new Set(Array.from({ length: head }, (_, i) => i));
  let spent = (head * head) / 2;
  let seed = 0x2545f491;
  while (spent < budget) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const at = head + (seed % (bytes.length - head + 1));
    const end = ends.find((e) => e >= at) ?? bytes.length;
    for (const p of [at, end - 1, end]) cuts.add(p);
    spent += 3 * at;
  }
  cuts.add(bytes.length);
  return [...cuts].sort((a, b) => a - b);
}

/** Checks the cuts of one file (every offset unless told), each in two chunkings. */
function checkEveryCut(parse: CutParser, bytes: Uint8Array, offsets: readonly number[] = everyOffset(bytes)): void {
  const ends = dataEnds(bytes);
  for (const at of offsets) {
    const expected = expectedAt(ends, at);
    for (const chunks of chunkings(bytes.subarray(0, at))) {
      const got = parse(chunks);
      if (got.ok !== expected.ok || got.code !== expected.code || got.eventIndex !== expected.eventIndex) {
        throw new Error(`cut at byte ${at} (chunks ${chunks.map((c) => c.length).join('+')}): expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
      }
    }
  }
}

const dir = join(repoRoot, 'recordings');
const verdicts = JSON.parse(readFileSync(join(dir, 'verdicts.json'), 'utf8')) as Record<string, { ok: boolean }>;
const validRecordings = readdirSync(dir).filter((name) => name.endsWith('.sse') && verdicts[name]?.ok === true);

describe('C13: a stream cut at any byte offset is incomplete_stream', () => {
  it.each(validRecordings)('recordings/%s, every offset of the first 3 KB (the whole of most), two chunkings', (name) => {
    const bytes = readFileSync(join(dir, name));
    checkEveryCut(turnstate, bytes, sampledOffsets(bytes, 3000, 1_500_000));
  });

  it('property: generated streams, any format (LF/CRLF/CR, BOM, no final blank line), any cut, any chunking', () => {
    fc.assert(
      fc.property(validStreamArb(), sseFormatArb, fc.integer({ min: 0, max: 2 ** 30 }), chunkingArb, (stream, format, where, chunking) => {
        const serialized = serialize(stream.events, format);
        const at = where % (serialized.bytes.length + 1);
        // Where each data payload ends, computed while the bytes were written.
        const ends = serialized.dataOffsets.map((offset, i) => offset + Buffer.byteLength(serialized.payloads[i] as string));
        const stopAt = stream.events.findIndex((e) => e['type'] === 'message_stop');
        expect(turnstate(chunk(serialized.bytes.subarray(0, at), chunking))).toEqual(expectedAt(ends, at, stopAt));
      }),
      { numRuns: 300 },
    );
  });

  it('a final event without its blank line whose data is complete JSON counts (LF, CRLF, nothing after it)', () => {
    const body = readFileSync(join(dir, 'end-turn-text.sse'), 'utf8').trimEnd();
    for (const text of [body, `${body}\n`, `${body.replace(/\n/g, '\r\n')}\r\n`]) {
      expect(parseTurnSync(text).ok).toBe(true);
    }
  });

  it('a cut inside a multibyte character is incomplete_stream, not invalid_utf8', () => {
    const bytes = readFileSync(join(dir, 'multibyte-utf8.sse'));
    const ends = dataEnds(bytes);
    let cuts = 0;
    for (let at = 1; at < bytes.length; at++) {
      if (((bytes[at] as number) & 0xc0) !== 0x80) continue;
      cuts++;
      expect(turnstate([bytes.subarray(0, at)])).toEqual(expectedAt(ends, at));
    }
    expect(cuts).toBeGreaterThan(10);
  });

  it('a cut ping after message_stop leaves the message whole, with a diagnostic', () => {
    const body = readFileSync(join(dir, 'end-turn-text.sse'), 'utf8');
    const result = parseTurnSync(`${body}event: ping\ndata: {"type": "pi`);
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => d.code)).toContain('cut_after_message_stop');
  });

  it('a genuinely broken event that did end (blank line seen) is still invalid_json', () => {
    const result = parseTurnSync('event: message_start\ndata: {"type":"message_start",\n\n');
    expect(result.error).toBeInstanceOf(SseError);
    expect(result.error?.code).toBe('invalid_json');
  });
});

describeCorpus('C13: the shared corpus cut at every byte offset', () => {
  // Every offset costs a parse of the prefix (quadratic): files past 1 KB are cut everywhere in
  // their first 1 KB and at sampled points (with the data ends around them) after that.
  const files = corpusFiles().filter((file) => parseTurnSync(file.bytes).ok);
  it.each(files.map((file) => [file.name, file] as const))('%s', (_name, file) => {
    checkEveryCut(turnstate, file.bytes, sampledOffsets(file.bytes));
  });
});

describe('C13: the checks catch a broken parser', () => {
  /** Broken as main was: frames with eventsource-parser, flushes the last event and JSON.parses it. */
  const flushesAndParses: CutParser = (chunks) => {
    const turn = new TurnParser();
    let failure: Verdict | null = null;
    const parser = createParser({
      onEvent: (message) => {
        if (failure !== null) return;
        try {
          turn.writeEvent(JSON.parse(message.data));
        } catch (error) {
          failure = { ok: false, code: error instanceof SyntaxError ? 'invalid_json' : (error as TurnstateError).code, eventIndex: turn.result.eventCount };
        }
      },
    });
    const decoder = new TextDecoder();
    for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }));
    parser.feed(`${decoder.decode()}\n\n`);
    if (failure !== null) return failure;
    const result = turn.end();
    return result.ok ? { ok: true, code: null, eventIndex: null } : { ok: false, code: result.error.code, eventIndex: result.error.eventIndex };
  };

  /** Broken: right codes, but counts the cut event as received. */
  const countsTheCutEvent: CutParser = (chunks) => {
    const verdict = turnstate(chunks);
    const text = Buffer.concat(chunks).toString('utf8');
    const cutInData = !text.endsWith('\n') && /data:[^\n]*$/.test(text);
    return cutInData && verdict.code === 'incomplete_stream' ? { ...verdict, eventIndex: (verdict.eventIndex ?? 0) + 1 } : verdict;
  };

  const bytes = readFileSync(join(dir, 'tool-use-single.sse'));
  it.each([
    ['flushes the cut event and calls it invalid_json', flushesAndParses],
    ['counts the cut event', countsTheCutEvent],
  ] as const)('every-offset check fails for a parser that %s', (_name, broken) => {
    expect(() => checkEveryCut(broken, bytes)).toThrow(/cut at byte/);
  });

  it('the property fails for a broken parser', () => {
    const property = fc.property(validStreamArb(), fc.integer({ min: 0, max: 2 ** 30 }), (stream, where) => {
      const serialized = serialize(stream.events);
      const at = where % (serialized.bytes.length + 1);
      const ends = serialized.dataOffsets.map((offset, i) => offset + Buffer.byteLength(serialized.payloads[i] as string));
      expect(flushesAndParses([serialized.bytes.subarray(0, at)])).toEqual(expectedAt(ends, at, stream.events.findIndex((e) => e['type'] === 'message_stop')));
    });
    expect(fc.check(property, { numRuns: 200 }).failed).toBe(true);
  });
});

export type { Chunking };
