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
