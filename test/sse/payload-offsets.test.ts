/**
 * Byte offsets of `data` payloads (src/sse/payload-offsets.ts, through SseFramer) in the shapes the framer's
 * properties do not generate: empty chunks anywhere, offsets read after a chunk was fed rather than inside the
 * sink (the deferred search replayed, then the live state put back), line endings that change from event to
 * event, `data:` inside a payload, and non-ASCII text before a payload in the same chunk.
 * Expected offsets come from the literal streams: where each `data:` line's value starts, counted in UTF-8 bytes.
 */
import { describe, expect, it } from 'vitest';
import { SseFramer } from '../../src/sse/framer.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Where each event's payload starts, in bytes: after `data:` and its optional space, at the start of a line. */
function payloadOffsets(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/(?<=^|[\r\n])data:( ?)/g)) out.push(enc(text.slice(0, m.index + m[0].length)).length);
  return out;
}

function cutAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [0, ...cuts, bytes.length];
  return points.slice(1).map((end, i) => bytes.slice(points[i], end));
}

/** Offsets read in the sink, for the event in hand. */
function inSink(chunks: readonly Uint8Array[]): (number | null)[] {
  const out: (number | null)[] = [];
  const framer: SseFramer = new SseFramer(() => out.push(framer.eventOffset()));
  for (const c of chunks) framer.pushBytes(c);
  framer.end();
  return out;
}

/** Offsets read after each chunk was fed (the latest event's), with the number of events ended by then. */
function afterEachChunk(chunks: readonly Uint8Array[], alsoInSink: boolean): { afterChunk: [number, number | null][]; sink: (number | null)[] } {
  const afterChunk: [number, number | null][] = [];
  const sink: (number | null)[] = [];
  const framer: SseFramer = new SseFramer(() => {
    if (alsoInSink) sink.push(framer.eventOffset());
  });
  for (const c of chunks) {
    framer.pushBytes(c);
    if (framer.eventCount > 0) afterChunk.push([framer.eventCount, framer.eventOffset()]);
  }
  framer.end();
  return { afterChunk, sink };
}

const STREAMS: Record<string, string> = {
  'LF, two pings': 'event: ping\ndata: {"type":"ping"}\n\nevent: ping\ndata: {"type":"ping"}\n\n',
  'CRLF, no space after data:': 'event: a\r\ndata:{"t":1}\r\n\r\nevent: b\r\ndata:{"t":2}\r\n\r\n',
  'CR only': 'event: a\rdata: {"t":1}\r\revent: b\rdata: {"t":2}\r\r',
  'LF then CRLF then CR': 'event: a\ndata: {"t":1}\n\nevent: b\r\ndata: {"t":2}\r\n\r\nevent: c\rdata: {"t":3}\r\r',
  'non-ASCII before and inside payloads': 'event: a\ndata: {"t":"日本"}\n\nevent: b\ndata: {"t":"😀é"}\n\nevent: c\ndata: {}\n\n',
  '`data:` inside a payload': 'event: a\ndata: {"t":"data: x\\ndata:y"}\n\nevent: b\ndata: {"t":"data:"}\n\nevent: c\ndata: {}\n\n',
  'short events, no event lines': 'data: 1\n\ndata:2\n\ndata: {}\n\n',
  // A chunk cut inside `data:` carries the characters before it over, here non-ASCII ones.
  'non-ASCII event names': 'event: é\ndata: {}\n\nevent: 日本\ndata: {"t":1}\n\nevent: ü\rdata: 2\r\r',
};

describe.each(Object.entries(STREAMS))('payload offsets: %s', (_, text) => {
  const bytes = enc(text);
  const expected = payloadOffsets(text);
  const singleCuts = Array.from({ length: bytes.length - 1 }, (__, i) => [i + 1]);

  it('the oracle itself: one offset per event, each pointing at its payload', () => {
    expect(expected.length).toBe(text.split(/\r\n\r\n|\n\n|\r\r/).length - 1);
    for (const at of expected) expect(String.fromCharCode(bytes[at]!)).toMatch(/[{0-9]/);
  });

  it('in the sink, for one cut anywhere, an empty chunk at that cut, and one-byte chunks', () => {
    expect(inSink([bytes])).toEqual(expected);
    for (const cuts of singleCuts) {
      const [a, b] = cutAt(bytes, cuts);
      expect(inSink([a!, b!]), `cut at ${cuts[0]}`).toEqual(expected);
      expect(inSink([a!, new Uint8Array(0), b!]), `empty chunk at ${cuts[0]}`).toEqual(expected);
      expect(inSink([new Uint8Array(0), a!, new Uint8Array(0), new Uint8Array(0), b!, new Uint8Array(0)]), `empty chunks around ${cuts[0]}`).toEqual(expected);
    }
    expect(inSink(Array.from(bytes, (x) => Uint8Array.of(x)))).toEqual(expected);
  });

  it('read after each chunk was fed: the latest event’s offset, and later offsets stay exact', () => {
    const chunkings = [[bytes], ...singleCuts.map((cuts) => cutAt(bytes, cuts)), Array.from(bytes, (x) => Uint8Array.of(x))];
    // Two cuts: the second chunk often ends no event, so the replay is for an earlier chunk and must leave the live state alone.
    for (let i = 1; i < bytes.length; i += 3) for (let j = i + 1; j < bytes.length; j += 4) chunkings.push(cutAt(bytes, [i, j]));
    for (const chunks of chunkings) {
      const label = chunks.map((c) => c.length).join('+');
      for (const alsoInSink of [false, true]) {
        const { afterChunk, sink } = afterEachChunk(chunks, alsoInSink);
        for (const [count, offset] of afterChunk) expect(offset, `${label}: after ${count} events`).toBe(expected[count - 1]);
        if (alsoInSink) expect(sink, label).toEqual(expected);
      }
    }
  });
});

describe('payload offsets: an empty chunk right after `data:`', () => {
  it('cut inside, right after and one past `data:`: the space that follows in a later chunk is still skipped', () => {
    const text = 'event: a\ndata: {"t":1}\n\nevent: b\ndata: {"t":2}\n\n';
    const bytes = enc(text);
    const expected = payloadOffsets(text);
    for (const at of [12, 14, 15, 36, 38, 39]) {
      const [a, b] = cutAt(bytes, [at]);
      for (const empties of [1, 2]) {
        const chunks = [a!, ...Array.from({ length: empties }, () => new Uint8Array(0)), b!];
        expect(inSink(chunks), `cut at ${at}, ${empties} empty`).toEqual(expected);
      }
    }
  });
});

describe('payload offsets: an event whose data has no `data:` to point at', () => {
  // `data` with no colon is a data field with an empty value (the SSE spec's field without a value); there is no
  // payload to point at, so the offset is null — not a position borrowed from another event.
  it.each([
    ['LF', 'data:{}\n\ndata\n\n'],
    ['CR', 'data:{}\r\rdata\r\r'],
    ['CRLF', 'data: {}\r\n\r\ndata\r\n\r\n'],
  ])('%s: the last event’s offset is null, whole, at any cut and in one-byte chunks', (_, text) => {
    const bytes = enc(text);
    const expected = [payloadOffsets(text)[0]!, null];
    expect(inSink([bytes])).toEqual(expected);
    for (let at = 1; at < bytes.length; at++) expect(inSink(cutAt(bytes, [at])), `cut at ${at}`).toEqual(expected);
    expect(inSink(Array.from(bytes, (x) => Uint8Array.of(x)))).toEqual(expected);
  });
});

describe('payload offsets: before the first event', () => {
  it('null before any input, after empty input, and while the first event is still arriving', () => {
    const framer = new SseFramer(() => {});
    expect(framer.eventOffset()).toBeNull();
    framer.pushBytes(new Uint8Array(0));
    expect(framer.eventOffset()).toBeNull();
    framer.pushBytes(enc('event: a\ndata: {"t":'));
    expect(framer.eventOffset()).toBeNull();
    framer.pushText('1}\r\n');
    expect(framer.eventOffset()).toBeNull();
    framer.pushText('\r\n');
    expect(framer.eventOffset()).toBe(15);
  });
});
