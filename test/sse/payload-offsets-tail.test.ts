/**
 * A `data:` field that a chunk boundary splits is found from the last few characters of the chunk (its
 * "tail"), and the tail's byte position is counted back from the chunk's end. Counted from the front, as
 * before, a tail that starts between the two halves of a surrogate pair had each half measured as a lone
 * surrogate (3 bytes each, 6 for a 4-byte character): every offset found from that tail was 2 bytes late.
 * Expected offsets are counted by hand from the literal streams.
 */
import { describe, expect, it } from 'vitest';
import { TurnParser } from '../../src/index.js';
import { SseFramer } from '../../src/sse/framer.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

// A comment line ":x😀", then a ping whose `data:` the cut splits after "da". The first chunk's last four
// characters (the tail) are 😀's low half, "\n", "d", "a". Bytes: ":x" 2 + 😀 4 + "\n" 1 = 7 before "data: ",
// so the payload starts at 7 + 6 = 13.
const FIRST = ':x😀\nda';
const SECOND = 'ta: {"type":"ping"}\n\n';
const PAYLOAD = 13;

function offsets(push: (framer: SseFramer, text: string) => void): (number | null)[] {
  const seen: (number | null)[] = [];
  const framer: SseFramer = new SseFramer(() => seen.push(framer.eventOffset()));
  push(framer, FIRST);
  push(framer, SECOND);
  framer.end();
  return seen;
}

describe('payload offsets found from a chunk’s tail', () => {
  it('are exact when the tail starts inside a surrogate pair (bytes in)', () => {
    expect(Buffer.byteLength(':x😀\ndata: ')).toBe(PAYLOAD);
    expect(offsets((framer, text) => framer.pushBytes(enc(text)))).toEqual([PAYLOAD]);
  });

  it('are exact when the tail starts inside a surrogate pair (text in)', () => {
    expect(offsets((framer, text) => framer.pushText(text))).toEqual([PAYLOAD]);
  });

  it('a broken event after such a tail is reported at its own payload', () => {
    const turn = new TurnParser();
    turn.write(enc(FIRST));
    expect(() => turn.write(enc('ta: {nope}\n\n'))).toThrow();
    expect(turn.end().error).toMatchObject({ code: 'invalid_json', eventIndex: 0, byteOffset: PAYLOAD });
  });

  it('stay exact for a non-ASCII chunk whose tail is whole characters', () => {
    // "é" 2 bytes: ":é\n" 4 bytes, then "data: " 6 → 10.
    const seen: (number | null)[] = [];
    const framer: SseFramer = new SseFramer(() => seen.push(framer.eventOffset()));
    framer.pushBytes(enc(':é\nda'));
    framer.pushBytes(enc('ta: {"type":"ping"}\n\n'));
    expect(seen).toEqual([10]);
  });
});
