import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLine, preview } from '../../src/cli/json.js';

/** What a preview must be: the JSON itself when it fits, else a prefix of it cut to `max` characters with …. */
function isPreviewOf(shown: string, value: unknown, max: number): boolean {
  const full = JSON.stringify(value);
  if (full.length <= max) return shown === full;
  return shown.length === max && shown.endsWith('…') && full.startsWith(shown.slice(0, -1));
}

const property = (impl: (value: unknown, max: number) => string) =>
  fc.property(fc.jsonValue(), fc.integer({ min: 2, max: 120 }), (value, max) => isPreviewOf(impl(value, max), value, max));

describe('preview', () => {
  it('is the JSON when it fits, else a clipped prefix of it (property)', () => {
    fc.assert(property(preview), { numRuns: 2000 });
  });

  it('the property catches a broken preview (one that clips one character late)', () => {
    const late = (value: unknown, max: number) => preview(value, max + 1);
    expect(() => fc.assert(property(late), { numRuns: 2000 })).toThrow();
  });

  it('walks a 1,000,000-deep value without recursing, in bounded time', () => {
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(preview(deep, 20)).toBe(`${'['.repeat(19)}…`);
    const wide = Array.from({ length: 1_000_000 }, (_, i) => i);
    expect(preview(wide, 12)).toBe('[0,1,2,3,4,…');
  });
});

describe('jsonLine', () => {
  it('writes what serialises, nulls what does not and names it in a typed error that keeps the one it replaces', () => {
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const line = jsonLine({ file: 'a.sse', ok: true, message: deep, error: { code: 'stream_error', message: 'was here' } }, (kept) => {
      kept['ok'] = false;
    });
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      file: 'a.sse',
      ok: false,
      message: null,
      error: {
        code: 'output_unserializable',
        message: expect.stringMatching(/^cannot write message as JSON: Maximum call stack size exceeded/),
        eventIndex: null,
        byteOffset: null,
        fields: ['message'],
        cause: { code: 'stream_error', message: 'was here' },
      },
    });
    expect(jsonLine({ a: [1, { b: 'c' }] })).toBe('{"a":[1,{"b":"c"}]}\n');
  });
});
