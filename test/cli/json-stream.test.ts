import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLinePieces, SLICE, type SliceOptions } from '../../src/cli/json-stream.js';

const joined = (record: Record<string, unknown>, options?: SliceOptions) => [...jsonLinePieces(record, undefined, options)].join('');

/** Strings rich in what JSON escapes or keeps: quotes, control characters, astral pairs, lone surrogates. */
const text = fc.array(fc.constantFrom('a', 'é', '"', '\\', '\n', '\u0000', '\u2028', '😀', '\ud83d', '\ude00', '𝑥', ' '), { maxLength: 40 }).map((xs) => xs.join(''));
const leaf = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constant(() => 1));
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(text, tie('any'), { maxKeys: 4 })),
})).any;
/** A record shaped like replay's line (message.content[] blocks with long strings), with noise everywhere. */
const block = fc.record({ type: fc.constantFrom('text', 'thinking', 'tool_use'), text, thinking: fc.option(text, { nil: undefined }), input: value, extra: value });
const record = fc.record({
  file: text,
  ok: fc.boolean(),
  message: fc.oneof(fc.constant(null), fc.record({ id: text, content: fc.array(fc.oneof(block, value), { maxLength: 4 }), usage: value, stop: leaf })),
  dropped: value,
  error: value,
});

const property = (options: SliceOptions) =>
  fc.property(record, fc.integer({ min: 1, max: 9 }), (r, slice) => joined(r, { ...options, slice }) === `${JSON.stringify(r)}\n`);

describe('jsonLinePieces', () => {
  it('joined, is exactly JSON.stringify of the record plus a newline, at any slice size (property)', () => {
    fc.assert(property({}), { numRuns: 3000 });
  });

  it('the property catches slices that split a surrogate pair (each half then reads back as an escape)', () => {
    expect(() => fc.assert(property({ boundary: (_text, end) => end }), { numRuns: 3000 })).toThrow();
  });

  it('writes a 20 MB text in slices: no piece is much longer than SLICE, and they read back as the message', () => {
    const long = 'x😀"\n'.repeat(4_000_000); // 20M UTF-16 units, with escapes and astral pairs
    const line = { file: 'big.sse', ok: true, message: { id: 'msg', content: [{ type: 'text', text: long }, { type: 'thinking', thinking: long, signature: 's' }] }, error: null };
    const pieces = [...jsonLinePieces(line)];
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(3 * SLICE);
    expect(pieces.length).toBeGreaterThan(100);
    expect(JSON.parse(pieces.join(''))).toEqual(line);
  });

  it('a record nested too deeply to serialise is jsonLine\'s fallback line, whole: the fields that do serialise, and a typed error', () => {
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const pieces = [...jsonLinePieces({ file: 'a.sse', ok: true, message: { content: [{ type: 'text', text: 'hi' }, deep] }, error: null }, (kept) => void (kept['ok'] = false))];
    expect(pieces).toHaveLength(1);
    expect(JSON.parse(pieces[0]!)).toMatchObject({ file: 'a.sse', ok: false, message: null, error: { code: 'output_unserializable', fields: ['message'] } });
  });

  it('honours toJSON, holes and dropped values as JSON.stringify does', () => {
    const content: unknown[] = [{ type: 'text', text: 'abcdef', toJSON: () => 'T' }, undefined, () => 1];
    content.length = 5;
    const r = { file: 'f', message: { content, at: new Date(0), skip: undefined }, error: { toJSON: () => ({ code: 'x' }) } };
    expect(joined(r, { slice: 2 })).toBe(`${JSON.stringify(r)}\n`);
  });
});
