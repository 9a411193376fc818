/**
 * SseFramer: events, names and payloads are exact whatever the line endings,
 * BOM and chunking; byte offsets of `data` payloads are exact (checked against
 * offsets computed while writing the bytes, test/support/arbitraries.ts
 * `serialize`); `line_too_long` and `invalid_utf8` are raised as typed errors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SseFramer } from '../../src/sse/framer.js';
import { SseError, StreamError, TurnParser, TurnstateError } from '../../src/index.js';
import {
  chunk,
  chunkingArb,
  mutatedStreamArb,
  serialize,
  sseFormatArb,
  validStreamArb,
  type Chunking,
  type Obj,
  type Serialized,
  type SseFormat,
} from '../support/arbitraries.js';
import { framerProperty, type Framed } from '../props/properties.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

/** turnstate's framer, as the property's Framer: the offset is read inside the sink, for the event in hand. */
function frame(chunks: readonly Uint8Array[], options: { maxEventSize?: number } = {}): Framed[] {
  const out: Framed[] = [];
  const framer: SseFramer = new SseFramer((name, data) => out.push({ name, data, offset: framer.eventOffset() }), options);
  for (const c of chunks) framer.pushBytes(c);
  framer.end();
  return out;
}

function cutAt(bytes: Uint8Array, ...at: number[]): Uint8Array[] {
  return chunk(bytes, { kind: 'cuts', cuts: at });
}

const oneByteChunks = (bytes: Uint8Array): Uint8Array[] => Array.from(bytes, (b) => Uint8Array.of(b));

/**
 * Cut positions where the framer's offsets once went wrong (see the
 * regression tests below): inside a `data:` field name or between it and its
 * space, inside (or right before) a BOM, inside a multibyte character.
 */
function unsafeCuts(serialized: Serialized, format: SseFormat): Set<number> {
  const bad = new Set<number>();
  const fieldLength = format.dataSpace ? 6 : 5;
  for (const offset of serialized.dataOffsets) for (let p = offset - fieldLength + 1; p < offset; p++) bad.add(p);
  if (format.bom) for (let p = 0; p < 3; p++) bad.add(p);
  serialized.bytes.forEach((b, i) => {
    if ((b & 0xc0) === 0x80) bad.add(i);
  });
  return bad;
}

/** The chunking's cut points, minus the unsafe ones. */
function safeChunks(serialized: Serialized, format: SseFormat, chunking: Chunking): Uint8Array[] {
  const bad = unsafeCuts(serialized, format);
  const cuts: number[] = [];
  let at = 0;
  for (const c of chunk(serialized.bytes, chunking)) {
    at += c.length;
    cuts.push(at);
  }
  cuts.pop();
  return cutAt(serialized.bytes, ...cuts.filter((p) => !bad.has(p)));
}

describe('SseFramer: events', () => {
  it('property: names and payloads are exact for any format (LF / CRLF / CR, BOM, padding, missing final blank line) and any chunking', () => {
    fc.assert(
      fc.property(validStreamArb(), sseFormatArb, chunkingArb, (stream, format, chunking) => {
        const serialized = serialize(stream.events, format);
        const framed = frame(chunk(serialized.bytes, chunking));
        expect(framed.map((f) => f.data)).toEqual(serialized.payloads);
        expect(framed.map((f) => f.name)).toEqual(stream.events.map((e) => e['type']));
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('%s line endings, one byte at a time, final event without its blank line', (_name, eol) => {
    const text = ['event: a', 'data: {"x":1}', '', ': comment', 'event: b', 'data: {"y":"日本"}', '', 'event: c', 'data: {"z":3}'].join(eol);
    const framed = frame(oneByteChunks(enc(text)));
    expect(framed.map((f) => [f.name, f.data])).toEqual([
      ['a', '{"x":1}'],
      ['b', '{"y":"日本"}'],
      ['c', '{"z":3}'],
    ]);
  });

  it('a final event that ends with only its line end, or with nothing, is delivered at end()', () => {
    for (const tail of ['', '\n', '\r\n', '\r']) {
      expect(frame([enc(`event: a\ndata: {"x":1}\n\nevent: b\ndata: {"y":2}${tail}`)]).map((f) => f.data)).toEqual(['{"x":1}', '{"y":2}']);
    }
  });

  it('a BOM is not part of the first event, in bytes and in text', () => {
    expect(frame([enc('\ufeffevent: a\ndata: {}\n\n')]).map((f) => f.name)).toEqual(['a']);
    const names: (string | undefined)[] = [];
    const framer = new SseFramer((name) => names.push(name));
    framer.pushText('\ufeffevent: a\ndata: {}\n\n');
    framer.end();
    expect(names).toEqual(['a']);
  });

  it('multibyte characters split across chunks come out whole', () => {
    const text = 'event: a\ndata: {"t":"日本語 👨‍👩‍👧 é"}\n\n';
    expect(frame(oneByteChunks(enc(text)))[0]?.data).toBe('{"t":"日本語 👨‍👩‍👧 é"}');
  });
});

describe('SseFramer: byte offsets', () => {
  it('property: exact offsets for any format, fed whole', () => {
    fc.assert(
      fc.property(validStreamArb(), sseFormatArb, (stream, format) => {
        const serialized = serialize(stream.events, format);
        expect(frame([serialized.bytes]).map((f) => f.offset)).toEqual(serialized.dataOffsets);
      }),
      { numRuns: 200 },
    );
  });

  it('property: exact offsets for any format and chunking that avoids the known-bad cut positions', () => {
    fc.assert(
      fc.property(validStreamArb(), sseFormatArb, chunkingArb, (stream, format, chunking) => {
        const serialized = serialize(stream.events, format);
        expect(frame(safeChunks(serialized, format, chunking)).map((f) => f.offset)).toEqual(serialized.dataOffsets);
      }),
      { numRuns: 300 },
    );
  });

  // Regression: offsets once went wrong for some chunkings; each cause has its own test below.
  it('property: exact offsets for ANY chunking', () => {
    fc.assert(framerProperty(frame), { numRuns: 200, seed: 4242 });
  });

  // Offsets are located lazily: a chunk where nobody asks takes the deferred path (one data length per
  // event, the search replayed on demand). Asking only now and then, inside the sink or after a write,
  // must give the same exact offsets as asking for every event.
  it('property: exact offsets when asked for only now and then, for ANY chunking', () => {
    fc.assert(
      fc.property(validStreamArb(), sseFormatArb, chunkingArb, fc.integer({ min: 2, max: 9 }), fc.nat(8), (stream, format, chunking, every, phase) => {
        const serialized = serialize(stream.events, format);
        const asked = new Map<number, number | null>();
        let latest = -1;
        const framer: SseFramer = new SseFramer((_name, _data, index) => {
          latest = index;
          if ((index + phase) % every === 0) asked.set(index, framer.eventOffset());
        });
        for (const piece of chunk(serialized.bytes, chunking)) {
          framer.pushBytes(piece);
          // After the write, the latest event's offset (resolved from the chunk it ended in).
          if (latest >= 0 && (latest + phase) % every === 1) asked.set(latest, framer.eventOffset());
        }
        framer.end();
        for (const [index, offset] of asked) expect(offset, `event ${index}`).toBe(serialized.dataOffsets[index]);
      }),
      { numRuns: 300 },
    );
  });

  const two = 'event: ping\ndata: {"type":"ping"}\n\nevent: ping\ndata: {"type":"ping"}\n\n';
  const twoOffsets = [18, 53];

  it('offsets are exact with CRLF / CR and with no space after `data:`', () => {
    expect(frame([enc(two.replace(/\n/g, '\r\n'))]).map((f) => f.offset)).toEqual([19, 57]);
    expect(frame([enc(two.replace(/\n/g, '\r'))]).map((f) => f.offset)).toEqual(twoOffsets);
    expect(frame([enc(two.replace(/data: /g, 'data:'))]).map((f) => f.offset)).toEqual([17, 51]);
    expect(frame([enc(two)]).map((f) => f.offset)).toEqual(twoOffsets);
    expect(frame(cutAt(enc(two), 18, 30, 47)).map((f) => f.offset)).toEqual(twoOffsets);
  });

  it('a BOM counts 3 bytes (whole first chunk)', () => {
    expect(frame([enc(`\ufeff${two}`)]).map((f) => f.offset)).toEqual([21, 56]);
  });

  it('multibyte characters count in bytes', () => {
    const text = 'event: a\ndata: {"t":"日本"}\n\nevent: b\ndata: {"t":"😀"}\n\nevent: c\ndata: {}\n\n';
    const expected = [15, 15 + enc('{"t":"日本"}\n\nevent: b\ndata: ').length];
    expected.push(expected[1]! + enc('{"t":"😀"}\n\nevent: c\ndata: ').length);
    expect(frame([enc(text)]).map((f) => f.offset)).toEqual(expected);
  });

  // --- Known bugs in src/sse/framer.ts (lazy offsets, `#feed` / `#onEvent` / `pushBytes`) ---

  it('fixed: a chunk boundary inside the `data:` field name loses the offset (null) or reports the NEXT event’s offset', () => {
    // Cut after "event: ping\ndata" (byte 16): chunk 2 starts with ": {...}", so `#onEvent`
    // searches chunk 2 for "data:" and finds the second event's field → offset 53 for event 0.
    expect(frame(cutAt(enc(two), 16)).map((f) => f.offset)).toEqual(twoOffsets);
  });

  it('fixed: one-byte chunks give no offsets at all', () => {
    expect(frame(oneByteChunks(enc(two))).map((f) => f.offset)).toEqual(twoOffsets);
  });

  it('fixed: a chunk boundary between `data:` and its space makes the offset point at the space (off by one)', () => {
    // `#feed` sees "data:" at the end of chunk 1 with no character after it, so it assumes no space.
    expect(frame(cutAt(enc(two), 17)).map((f) => f.offset)).toEqual(twoOffsets);
  });

  it('fixed: a BOM split across chunks (or after an empty first chunk) is not counted', () => {
    // `pushBytes` only skips the BOM when the first chunk holds all three bytes; TextDecoder then swallows it uncounted.
    const bytes = enc(`\ufeff${two}`);
    expect(frame(cutAt(bytes, 1)).map((f) => f.offset)).toEqual([21, 56]);
  });

  it('fixed: an empty first chunk before a BOM: the BOM is not counted', () => {
    expect(frame([new Uint8Array(0), enc(`\ufeff${two}`)]).map((f) => f.offset)).toEqual([21, 56]);
  });

  it('fixed: a chunk that completes a split character and has as many bytes as UTF-16 units is taken for ASCII', () => {
    // "日" is 3 bytes / 1 unit. Chunk 2 = its last byte + ASCII: byte length === text length, so `#feed`
    // uses the chunk's byte length (losing the 2 bytes of "日" that chunk 1 held) and marks it ASCII.
    const text = 'event: a\ndata: {"t":"日"}\n\nevent: b\ndata: {}\n\n';
    const bytes = enc(text);
    const ri = bytes.indexOf(0xe6);
    expect(frame(cutAt(bytes, ri + 2)).map((f) => f.offset)).toEqual([15, bytes.length - 4]);
  });
});

describe('SseFramer: errors', () => {
  const longLine = enc(`event: a\ndata: {"t":"${'x日'.repeat(100)}"}\n\n`);
  const smallChunks = (bytes: Uint8Array): Uint8Array[] => cutAt(bytes, ...Array.from({ length: Math.floor(bytes.length / 10) }, (_, i) => (i + 1) * 10));

  it('line_too_long: a line longer than maxEventSize arriving in chunks, as SseError, raised again on later pushes', () => {
    const framer = new SseFramer(() => {}, { maxEventSize: 32 });
    let first: unknown = null;
    try {
      for (const c of smallChunks(longLine)) framer.pushBytes(c);
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(SseError);
    expect((first as SseError).code).toBe('line_too_long');
    expect(() => framer.pushBytes(enc('event: b\n'))).toThrow(first as Error);
  });

  it('line_too_long through TurnParser({ maxEventSize })', () => {
    const turn = new TurnParser({ maxEventSize: 32 });
    expect(() => {
      for (const c of smallChunks(longLine)) turn.write(c);
    }).toThrow(SseError);
    const result = turn.end();
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('line_too_long');
    expect(result.error).toBeInstanceOf(TurnstateError);
  });

  // Regression: eventsource-parser's maxBufferSize only measures a line still incomplete at the end
  // of a chunk; the framer also measures each event's data, so the verdict cannot depend on chunking.
  it('fixed: line_too_long does not depend on chunking (a long line fed in one chunk)', () => {
    const turn = new TurnParser({ maxEventSize: 32 });
    try {
      turn.write(longLine);
    } catch {
      // expected: line_too_long
    }
    expect(turn.end().error?.code).toBe('line_too_long');
  });

  it('maxEventSize does not reject events at or under the limit', () => {
    const data = `{"t":"${'x'.repeat(20)}"}`;
    expect(frame([enc(`event: a\ndata: ${data}\n\n`)], { maxEventSize: data.length + 8 }).map((f) => f.data)).toEqual([data]);
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['0xFF', [0xff]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a 3-byte lead followed by ASCII', [0xe6, 0x41]],
  ])('invalid_utf8: %s inside a payload', (_name, bad) => {
    const bytes = new Uint8Array([...enc('event: a\ndata: {"t":"'), ...bad, ...enc('"}\n\n')]);
    for (const chunks of [[bytes], oneByteChunks(bytes)]) {
      const turn = new TurnParser();
      let thrown: unknown = null;
      try {
        for (const c of chunks) turn.write(c);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SseError);
      expect((thrown as SseError).code).toBe('invalid_utf8');
      expect(turn.end().error).toBe(thrown);
    }
  });

  it('input that ends inside a multibyte character: invalid_utf8 from the framer; the turn calls it incomplete_stream (issue 6 C13)', () => {
    const framer = new SseFramer(() => {});
    framer.pushBytes(new Uint8Array([...enc('event: a\ndata: {"t":"'), 0xe6, 0x97]));
    expect(() => framer.end()).toThrow(SseError);
    expect(framer.endedInsideEvent).toBe(true);
    // The stream was cut inside an event, not sent broken: retried like any early end.
    const turn = new TurnParser();
    turn.write(new Uint8Array([...enc('event: a\ndata: {"t":"'), 0xf0, 0x9f, 0x98]));
    const result = turn.end();
    expect(result.error).toBeInstanceOf(StreamError);
    expect(result.error?.code).toBe('incomplete_stream');
    expect(result.error?.eventIndex).toBe(0);
  });
});

describe('TurnParser: errors carry the byte offset of the offending event’s payload', () => {
  it('property: for mutated streams (safe chunking), a StreamError’s byteOffset is its event’s data offset; incomplete_stream’s is the input length', () => {
    fc.assert(
      fc.property(mutatedStreamArb(), sseFormatArb, chunkingArb, ({ events }, format, chunking) => {
        const serialized = serialize(events as Obj[], format);
        const turn = new TurnParser();
        try {
          for (const c of safeChunks(serialized, format, chunking)) turn.write(c);
        } catch (error) {
          if (!(error instanceof TurnstateError)) throw error;
        }
        const result = turn.end();
        if (result.ok) return;
        const error = result.error;
        expect(error).toBeInstanceOf(StreamError);
        if (error.code === 'incomplete_stream') expect(error.byteOffset).toBe(serialized.bytes.length || null);
        else expect(error.byteOffset).toBe(serialized.dataOffsets[error.eventIndex ?? -1]);
      }),
      { numRuns: 300 },
    );
  });

  it('SseErrors raised while decoding an event (invalid_json, malformed_event, event_name_mismatch) point at its payload', () => {
    const ping = 'event: ping\ndata: {"type": "ping"}\n\n';
    for (const [bad, code] of [
      ['event: message_start\ndata: {not json}\n\n', 'invalid_json'],
      ['event: message_start\ndata: {"type":"message_start"}\n\n', 'malformed_event'],
      ['event: message_stop\ndata: {"type":"ping"}\n\n', 'event_name_mismatch'],
    ] as const) {
      const text = `\ufeff${ping}${ping}${bad}`;
      const turn = new TurnParser();
      expect(() => turn.write(enc(text))).toThrow(SseError);
      const error = turn.end().error;
      expect(error?.code).toBe(code);
      expect(error?.eventIndex).toBe(2);
      expect(error?.byteOffset).toBe(enc(text.slice(0, text.lastIndexOf('data: ') + 6)).length);
    }
  });
});
