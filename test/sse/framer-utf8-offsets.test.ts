/**
 * Byte offsets and event indexes around multibyte characters that chunks split: the framer's other tests keep
 * their property to cuts that do not split a character, so these pin what happens when one does.
 * Expected offsets are counted by hand from the literal streams below.
 */
import { describe, expect, it } from 'vitest';
import { SseError, TurnParser } from '../../src/index.js';
import { SseFramer } from '../../src/sse/framer.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

// 12 ("event: ping\n") + 6 ("data: ") + 20 ('{"type":"ping","x":"') + 6 (日本, 3 bytes each) + 2 ('"}') + 2 = 48 bytes.
const PING = 'event: ping\ndata: {"type":"ping","x":"日本"}\n\n';
// The second event's payload starts at 48 + 21 ("event: message_start\n") + 6 ("data: ") = 75.
const BAD_JSON = 'event: message_start\ndata: {nope}\n\n';
// 9 ("event: a\n") + 6 ("data: ") + 6 ('{"t":"') = 21: the bad bytes start at 48 + 21 = 69.
const BEFORE_BAD_BYTES = 'event: a\ndata: {"t":"';

function feed(chunks: readonly Uint8Array[]) {
  const turn = new TurnParser();
  let thrown: unknown = null;
  try {
    for (const c of chunks) turn.write(c);
  } catch (error) {
    thrown = error;
  }
  return { result: turn.end(), thrown };
}

function cuts(bytes: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = [0, ...at, bytes.length];
  return points.slice(1).map((end, i) => bytes.slice(points[i], end));
}

describe('byte offsets after a multibyte character split across chunks', () => {
  it('a later error points at its payload (byte 75) wherever one cut falls, inside 日 or 本 included', () => {
    const bytes = enc(PING + BAD_JSON);
    expect(bytes.length).toBe(83);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { result } = feed(cuts(bytes, [cut]));
      expect({ cut, code: result.error?.code, eventIndex: result.error?.eventIndex, byteOffset: result.error?.byteOffset }).toEqual({ cut, code: 'invalid_json', eventIndex: 1, byteOffset: 75 });
    }
  });

  it('a 4-byte character cut into four one-byte chunks: the next event’s offset counts all four bytes', () => {
    // 18 + 20 ('{"type":"ping","e":"') + 4 (😀) + 2 ('"}') + 2 = 46; the payload after it: 46 + 21 + 6 = 73.
    const bytes = enc('event: ping\ndata: {"type":"ping","e":"😀"}\n\n' + BAD_JSON);
    const emoji = 18 + 20;
    const { result } = feed(cuts(bytes, [emoji, emoji + 1, emoji + 2, emoji + 3]));
    expect(result.error).toMatchObject({ code: 'invalid_json', eventIndex: 1, byteOffset: 73 });
  });

  it('the framer reports each payload’s offset exactly across split characters', () => {
    const bytes = enc(PING + 'event: b\ndata: {"y":"é"}\n\n');
    const seen: [string, number | null][] = [];
    const framer: SseFramer = new SseFramer((name, data) => seen.push([`${name} ${data}`, framer.eventOffset()]));
    for (const c of cuts(bytes, [39, 40, 41, 64 + 6])) framer.pushBytes(c);
    framer.end();
    // the second payload starts at 48 + 9 ("event: b\n") + 6 = 63
    expect(seen).toEqual([
      ['ping {"type":"ping","x":"日本"}', 18],
      ['b {"y":"é"}', 63],
    ]);
    expect(framer.bytesSeen).toBe(bytes.length);
  });
});

describe('invalid_utf8: where it happened', () => {
  const bytes = new Uint8Array([...enc(PING + BEFORE_BAD_BYTES), 0xe6, 0x41, ...enc('"}\n\n')]);

  for (const size of [1, 2, 3, 5, 7]) {
    it(`a 3-byte lead followed by ASCII, in ${size}-byte chunks: eventIndex 1, byteOffset 69 (the lead byte); the ping before it was kept`, () => {
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.slice(i * size, (i + 1) * size));
      const events: [unknown, number][] = [];
      const turn = new TurnParser();
      turn.on('event', (event, index) => events.push([event, index]));
      let thrown: unknown = null;
      try {
        for (const c of chunks) turn.write(c);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SseError);
      expect(thrown).toMatchObject({ code: 'invalid_utf8', eventIndex: 1, byteOffset: 69, message: 'input is not valid UTF-8' });
      expect(turn.end().error).toBe(thrown);
      expect(events).toEqual([[{ type: 'ping', x: '日本' }, 0]]);
    });
  }

  it('input that ends inside a character: eventIndex 1, byteOffset 69 (where the unfinished character starts)', () => {
    const framer = new SseFramer(() => {});
    framer.pushBytes(new Uint8Array([...enc(PING + BEFORE_BAD_BYTES), 0xe6, 0x97]));
    let thrown: unknown = null;
    try {
      framer.end();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'invalid_utf8', eventIndex: 1, byteOffset: 69, message: 'input ends inside a UTF-8 character' });
    // the framer stays failed: the same error again, not a second, different one
    expect(() => framer.pushBytes(enc('x'))).toThrow(thrown as Error);
  });
});

describe('invalid_utf8 in the same chunk as complete events (fixed: they were lost, and the error said event 0, byte 0)', () => {
  // Two whole events, then a third whose string holds a bad byte. PING is 48 bytes (above); the second event:
  // 9 ("event: b\n") + 6 ("data: ") + 10 ('{"y":"é"}', é 2 bytes) + 2 = 27 bytes, so the third starts at 75 and
  // its bad byte comes after 9 + 6 + 6 ('{"t":"') = 21 more: byte 96.
  const SECOND = 'event: b\ndata: {"y":"é"}\n\n';
  const events: [string | undefined, string][] = [
    ['ping', '{"type":"ping","x":"日本"}'],
    ['b', '{"y":"é"}'],
  ];

  function frameAll(chunks: readonly Uint8Array[]) {
    const seen: [string | undefined, string, number, number | null][] = [];
    const framer: SseFramer = new SseFramer((name, data, index) => seen.push([name, data, index, framer.eventOffset()]));
    let thrown: unknown = null;
    try {
      for (const c of chunks) framer.pushBytes(c);
      framer.end();
    } catch (error) {
      thrown = error;
    }
    return { seen, thrown, framer };
  }

  const bad = (...bytes: number[]) => new Uint8Array([...enc(PING + SECOND + BEFORE_BAD_BYTES), ...bytes, ...enc('"}\n\n')]);

  const cases: [string, Uint8Array][] = [
    ['a lone 0xFF', bad(0xff)],
    ['a 3-byte lead then ASCII', bad(0xe6, 0x41)],
    ['an overlong 2-byte form (0xC0 0xAF)', bad(0xc0, 0xaf)],
    ['a surrogate encoded in UTF-8 (0xED 0xA0 0x80)', bad(0xed, 0xa0, 0x80)],
    ['a stray continuation byte', bad(0x80)],
  ];
  for (const [what, bytes] of cases) {
    it(`${what}, all in one chunk: both events are delivered first, then eventIndex 2, byteOffset 96`, () => {
      const { seen, thrown, framer } = frameAll([bytes]);
      expect(seen).toEqual([
        [...events[0]!, 0, 18],
        [...events[1]!, 1, 63],
      ]);
      expect(thrown).toBeInstanceOf(SseError);
      expect(thrown).toMatchObject({ code: 'invalid_utf8', eventIndex: 2, byteOffset: 96, message: 'input is not valid UTF-8' });
      expect((thrown as SseError).cause).toBeInstanceOf(TypeError);
      // failed for good: the same error again
      expect(() => framer.pushBytes(enc('data: {}\n\n'))).toThrow(thrown as Error);
      expect(framer.eventCount).toBe(2);
    });
  }

  it('the bad byte at every position of the third event’s string, whole stream in one chunk, and cut at every byte before it', () => {
    const head = enc(PING + SECOND + BEFORE_BAD_BYTES);
    for (let extra = 0; extra < 4; extra++) {
      // `extra` good ASCII letters between the quote and the bad byte move it along
      const bytes = new Uint8Array([...head, ...enc('a'.repeat(extra)), 0xff, ...enc('"}\n\n')]);
      for (let cut = 0; cut <= head.length + extra; cut++) {
        const chunks = cut === 0 ? [bytes] : [bytes.slice(0, cut), bytes.slice(cut)];
        const { seen, thrown } = frameAll(chunks);
        expect({ extra, cut, seen: seen.map(([name]) => name), error: thrown }).toMatchObject({
          extra,
          cut,
          seen: ['ping', 'b'],
          error: { code: 'invalid_utf8', eventIndex: 2, byteOffset: 96 + extra },
        });
      }
    }
  });

  it('a character the previous chunk began, finished in the bad chunk, is kept: the event holding it is delivered', () => {
    // Cut inside 日 (its first byte ends chunk one); chunk two finishes it, ends the ping, the second event, then the bad byte.
    const bytes = bad(0xff);
    const inside = 18 + 20 + 1;
    // and with 日's bytes in three chunks, so the held-back bytes come from two earlier calls
    for (const chunks of [
      [bytes.slice(0, inside), bytes.slice(inside)],
      [bytes.slice(0, inside), bytes.slice(inside, inside + 1), bytes.slice(inside + 1)],
    ]) {
      const { seen, thrown } = frameAll(chunks);
      expect(seen).toEqual([
        [...events[0]!, 0, 18],
        [...events[1]!, 1, 63],
      ]);
      expect(thrown).toMatchObject({ code: 'invalid_utf8', eventIndex: 2, byteOffset: 96 });
    }
  });

  it('an unfinished character that the next chunk breaks: the offset is where that character starts', () => {
    // chunk one ends with the lead byte 0xE6; chunk two starts with ASCII, not a continuation
    const head = enc(PING + SECOND + BEFORE_BAD_BYTES);
    const { seen, thrown } = frameAll([new Uint8Array([...head, 0xe6]), new Uint8Array([0x41, ...enc('"}\n\n')])]);
    expect(seen.map(([name]) => name)).toEqual(['ping', 'b']);
    expect(thrown).toMatchObject({ code: 'invalid_utf8', eventIndex: 2, byteOffset: 96 });
  });

  it('through TurnParser: the events before the bad byte reach listeners, and the error is the result’s', () => {
    const stream =
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n' +
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"';
    const bytes = new Uint8Array([...enc(stream), 0xff, ...enc('"}}\n\n')]);
    const texts: string[] = [];
    const turn = new TurnParser().on('text', (text) => texts.push(text));
    expect(() => turn.write(bytes)).toThrow(SseError);
    const result = turn.end();
    expect(texts).toEqual(['hi']);
    expect(result.error).toMatchObject({ code: 'invalid_utf8', eventIndex: 3, byteOffset: enc(stream).length });
    expect(result.message?.content).toEqual([{ type: 'text', text: 'hi' }]);
  });
});

describe('each kind of UTF-8 character, cut into one-byte chunks', () => {
  // The first and the last lead byte of each length: C2 (©), DF (߿), E0 (क), EF (￼), F0 (😀), F4 (U+10FFFF).
  const chars = ['©', '\u07ff', 'क', '\ufffc', '😀', '\u{10ffff}'];
  for (const ch of chars) {
    const width = enc(ch).length;
    it(`${JSON.stringify(ch)} (${width} bytes, lead 0x${enc(ch)[0]!.toString(16)}): the next event’s offset counts exactly its bytes`, () => {
      // 12 ("event: ping\n") + 6 ("data: ") + 20 ('{"type":"ping","x":"') + width + 2 + 2, then 21 + 6 to the next payload.
      const bytes = enc(`event: ping\ndata: {"type":"ping","x":"${ch}"}\n\n` + BAD_JSON);
      const start = 38;
      const chunks = [bytes.slice(0, start), ...Array.from({ length: width }, (_, i) => bytes.slice(start + i, start + i + 1)), bytes.slice(start + width)];
      const seen: [string, number | null][] = [];
      const framer: SseFramer = new SseFramer((_, data) => seen.push([data, framer.eventOffset()]));
      for (const c of chunks) framer.pushBytes(c);
      framer.end();
      expect(seen).toEqual([
        [`{"type":"ping","x":"${ch}"}`, 18],
        ['{nope}', 38 + width + 4 + 27],
      ]);
      expect(framer.bytesSeen).toBe(bytes.length);
    });
  }
  for (const ch of chars) {
    const width = enc(ch).length;
    it(`${JSON.stringify(ch)} cut short after each of its first bytes, one per chunk: end() says where the character starts (byte 38)`, () => {
      const bytes = enc(`event: ping\ndata: {"type":"ping","x":"${ch}`);
      for (let have = 1; have < width; have++) {
        const framer = new SseFramer(() => {});
        framer.pushBytes(bytes.slice(0, 38));
        for (let i = 0; i < have; i++) framer.pushBytes(bytes.slice(38 + i, 39 + i));
        // the unfinished character is not counted as seen
        expect(framer.bytesSeen).toBe(38);
        expect(() => framer.end()).toThrow(expect.objectContaining({ code: 'invalid_utf8', eventIndex: 0, byteOffset: 38 }));
      }
    });
  }
});

describe('the byte order mark and text input', () => {
  const BOM = [0xef, 0xbb, 0xbf];

  it('a BOM is not text and counts 3 bytes: offsets and bytesSeen include it', () => {
    const bytes = new Uint8Array([...BOM, ...enc(PING)]);
    const seen: [string, number | null][] = [];
    const framer: SseFramer = new SseFramer((name, data) => seen.push([`${name} ${data}`, framer.eventOffset()]));
    framer.pushBytes(bytes);
    framer.end();
    expect(seen).toEqual([['ping {"type":"ping","x":"日本"}', 3 + 18]]);
    expect(framer.bytesSeen).toBe(3 + 48);
  });

  it('a BOM, then a bad byte in the same first chunk: the offset counts the BOM', () => {
    const bytes = new Uint8Array([...BOM, ...enc(PING + BEFORE_BAD_BYTES), 0xff]);
    const seen: string[] = [];
    const framer = new SseFramer((name) => seen.push(String(name)));
    expect(() => framer.pushBytes(bytes)).toThrow(expect.objectContaining({ code: 'invalid_utf8', eventIndex: 1, byteOffset: 3 + 69 }));
    expect(seen).toEqual(['ping']);
  });

  it('a U+FEFF later in the stream is text (a zero-width no-break space), also at the start of a chunk with a bad byte', () => {
    // the second chunk starts with EF BB BF: not a BOM there, so its 3 bytes count towards the bad byte's offset
    const first = enc('event: a\ndata: {"t":"');
    const second = new Uint8Array([...BOM, ...enc('"}\n\n'), ...enc(BEFORE_BAD_BYTES), 0xff]);
    const seen: string[] = [];
    const framer = new SseFramer((_, data) => seen.push(data));
    framer.pushBytes(first);
    // first: 21 bytes; second: 3 + 4 ('"}\n\n') = 28, then 21 to the bad byte
    expect(() => framer.pushBytes(second)).toThrow(expect.objectContaining({ code: 'invalid_utf8', eventIndex: 1, byteOffset: 28 + 21 }));
    expect(seen).toEqual(['{"t":"\ufeff"}']);
  });

  it('text input never meets the decoder: end() delivers the final event and does not fail', () => {
    const seen: string[] = [];
    const framer = new SseFramer((_, data) => seen.push(data));
    framer.pushText('data: {"a":1}');
    expect(() => framer.end()).not.toThrow();
    expect(seen).toEqual(['{"a":1}']);
    expect(framer.endedInsideEvent).toBe(true);
    // and with no input at all
    const empty = new SseFramer(() => {});
    expect(() => empty.end()).not.toThrow();
    expect(empty.endedInsideEvent).toBe(false);
  });
});
