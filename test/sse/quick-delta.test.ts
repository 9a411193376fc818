import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quickDelta } from '../../src/sse/quick-delta.js';

const ws = fc.stringMatching(/^[ \t\r\n]{0,6}$/);
const kinds = [
  ['text_delta', 'text'],
  ['input_json_delta', 'partial_json'],
  ['thinking_delta', 'thinking'],
] as const;

/** A delta event as the API writes it: compact JSON, padding only before the closing braces. */
const apiDelta = fc
  .record({
    index: fc.nat({ max: 999_999_999 }), // longer indexes take the full parse
    kind: fc.constantFrom(...kinds),
    value: fc.string({ unit: 'binary' }),
    inner: ws,
    outer: ws,
    trailing: ws,
  })
  .map(({ index, kind, value, inner, outer, trailing }) =>
    `{"type":"content_block_delta","index":${index},"delta":{"type":"${kind[0]}","${kind[1]}":${JSON.stringify(value)}${inner}}${outer}}${trailing}`,
  );

/** Small edits that keep the text JSON-ish: the shortcut must then step aside or agree with JSON.parse. */
const edited = fc
  .tuple(apiDelta, fc.nat(), fc.nat({ max: 3 }), fc.constantFrom('"', '\\', '}', '{', ',', ' ', '0', 'x', '\u2028', ':"a"'))
  .map(([text, at, cut, insert]) => {
    const p = at % (text.length + 1);
    return text.slice(0, p) + insert + text.slice(p + cut);
  });

function agreesWithJsonParse(data: string): void {
  const quick = quickDelta(data);
  // Strings of their own (for listeners) change how, never what.
  expect(quickDelta(data, true)).toStrictEqual(quick);
  if (quick === undefined) return; // stepped aside: the full parse decides
  expect(quick).toStrictEqual(JSON.parse(data));
}

describe('quickDelta', () => {
  it('recognises what the API sends, and equals JSON.parse on it', () => {
    fc.assert(
      fc.property(apiDelta, (data) => {
        expect(quickDelta(data)).toBeDefined();
        agreesWithJsonParse(data);
      }),
      { numRuns: 2000 },
    );
  });

  it('on any edit, either steps aside or equals JSON.parse (and never accepts what JSON.parse rejects)', () => {
    fc.assert(fc.property(edited, agreesWithJsonParse), { numRuns: 5000 });
  });

  it('steps aside for the cases JSON.parse treats differently', () => {
    for (const data of [
      '{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"a"}}', // leading zero: invalid JSON
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","text":"b"}}', // duplicate key: last wins
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"},"x":1}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}}',
      '{"type":"content_block_delta","index":1e0,"delta":{"type":"text_delta","text":"a"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\u0000"}}', // raw control character
    ]) {
      expect(quickDelta(data), data).toBeUndefined();
    }
  });

  it('the agreement property catches a shortcut that does not check the closing braces', () => {
    const sloppy = (data: string) => {
      const m = /^\{"type":"content_block_delta","index":(\d+),"delta":\{"type":"text_delta","text":("(?:[^"\\]|\\.)*")/.exec(data);
      return m ? { type: 'content_block_delta', index: Number(m[1]), delta: { type: 'text_delta', text: JSON.parse(m[2]!) as string } } : undefined;
    };
    const property = fc.property(edited, (data) => {
      const quick = sloppy(data);
      if (quick === undefined) return true;
      try {
        return JSON.stringify(JSON.parse(data)) === JSON.stringify(quick);
      } catch {
        return false; // accepted what JSON.parse rejects
      }
    });
    expect(fc.check(property, { numRuns: 5000, seed: 7 }).failed).toBe(true);
  });
});
