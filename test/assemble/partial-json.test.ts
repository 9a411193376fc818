import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IncrementalJsonParser, PartialJsonError } from '../../src/assemble/partial-json.js';

interface Parser {
  write(chunk: string): void;
  end(): unknown;
  readonly value: unknown;
}

/** Split `text` at the given cut positions (taken modulo length + 1; empty chunks allowed). */
function split(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(text.slice(prev, p));
    prev = p;
  }
  out.push(text.slice(prev));
  return out;
}

function feed(chunks: readonly string[], opts?: { requireObject?: boolean }): IncrementalJsonParser {
  const p = new IncrementalJsonParser(opts);
  for (const c of chunks) p.write(c);
  return p;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/**
 * A snapshot is consistent with the final value if every scalar in it equals the final one,
 * every string is a prefix of the final string, and containers have the right kind and no
 * keys/elements the final value lacks.
 */
function consistent(partial: unknown, final: unknown): boolean {
  if (typeof partial === 'string') return typeof final === 'string' && final.startsWith(partial);
  if (Array.isArray(partial)) {
    return Array.isArray(final) && partial.length <= final.length && partial.every((v, i) => consistent(v, final[i]));
  }
  if (partial !== null && typeof partial === 'object') {
    if (final === null || typeof final !== 'object' || Array.isArray(final)) return false;
    const f = final as Record<string, unknown>;
    const p = partial as Record<string, unknown>;
    return Object.keys(p).every((k) => Object.hasOwn(f, k) && consistent(p[k], f[k]));
  }
  return Object.is(partial, final);
}

function checkRoundTrip(make: () => Parser, text: string, cuts: readonly number[]): void {
  const expected: unknown = JSON.parse(text);
  const p = make();
  let root: unknown;
  for (const chunk of split(text, cuts)) {
    p.write(chunk);
    const v = p.value;
    if (v !== undefined && !consistent(v, expected)) {
      throw new Error(`inconsistent snapshot after ${JSON.stringify(chunk)}: ${JSON.stringify(v)}`);
    }
    if (typeof root === 'object' && root !== null && v !== root) throw new Error('root identity changed');
    root = v;
  }
  const result = p.end();
  expect(result).toStrictEqual(expected);
  expect(JSON.stringify(result)).toBe(JSON.stringify(expected)); // also pins key order
}

// --- generators -------------------------------------------------------------------------

const WS = [' ', '\t', '\n', '\r'] as const;
const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Serialise with whitespace between tokens and optional escapes, both driven by `choices`. */
function serialize(value: unknown, choices: readonly number[]): string {
  let k = 0;
  const next = (): number => (choices.length === 0 ? 0 : (choices[k++ % choices.length] as number));
  const ws = (): string => {
    const r = next();
    return r % 3 === 0 ? (WS[(r >> 2) % 4] as string).repeat(1 + ((r >> 4) % 2)) : '';
  };
  const str = (s: string): string => {
    let out = '"';
    for (let i = 0; i < s.length; i++) {
      const ch = s[i] as string;
      const r = next();
      const short = SHORT[ch];
      const mustEscape = ch < ' ' || ch === '"' || ch === '\\';
      if (!mustEscape && r % 4 !== 0) out += ch;
      else if (short !== undefined && (r >> 3) % 2 === 0) out += short;
      else {
        const hex = ch.charCodeAt(0).toString(16).padStart(4, '0');
        out += '\\u' + ((r >> 4) % 2 === 0 ? hex : hex.toUpperCase());
      }
    }
    return out + '"';
  };
  const go = (v: unknown): string => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return '[' + ws() + v.map((e) => ws() + go(e) + ws()).join(',') + ']';
    if (v !== null && typeof v === 'object') {
      const members = Object.entries(v).map(([key, e]) => ws() + str(key) + ws() + ':' + ws() + go(e) + ws());
      return '{' + ws() + members.join(',') + '}';
    }
    return JSON.stringify(v);
  };
  return ws() + go(value) + ws();
}

// Code points incl. astral ones, lone surrogates, and the characters JSON must escape.
const unicodeUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('"', '\\', '/', '\n', '\u0000', '\u001f', '\u2028', '\u{1F600}'),
);

const jsonValueArb = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: unicodeUnit }));

const jsonTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.json(),
  fc.tuple(jsonValueArb, fc.constantFrom<number | string | undefined>(undefined, 0, 2, '\t'), fc.constantFrom('', ' ', '\n\t ', '\r\n'))
    .map(([v, indent, pad]) => pad + JSON.stringify(v, null, indent) + pad),
  fc.tuple(jsonValueArb, fc.array(fc.nat(), { minLength: 1, maxLength: 64 })).map(([v, choices]) => serialize(v, choices)),
);

const cutsArb = fc.array(fc.nat(), { maxLength: 24 });

const roundTripProperty = (make: () => Parser) =>
  fc.property(jsonTextArb, cutsArb, (text, cuts) => checkRoundTrip(make, text, cuts));

// Bits of JSON that, shuffled together, hit the interesting accept/reject boundaries.
const TOKENS = [
  '{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '9', '-', '+', '.', 'e', 'E', 't', 'r', 'f', 'a', 'l',
  's', 'n', ' ', '\n', '\t', '\r', '\u00a0', '\ufeff', 'x', '/', 'b', 'A', 'd', '8', '\u0000', '\u001f', '\u00e9',
  '\ud83d', '\ude00', '\u2028', 'true', 'false', 'null', '"a"', '\\u00e9', '\\uD83D', '0.5', '1e5', '-0', '00', '"k":',
];

const junkArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: unicodeUnit }),
  fc.string({ unit: fc.constantFrom(...TOKENS), maxLength: 30 }),
  // A small alphabet of whole tokens often forms valid prefixes, reaching deep grammar states.
  fc.string({ unit: fc.constantFrom('{', '}', '[', ']', ',', ':', '"a"', '1', '-0.5e1', 'null', ' '), maxLength: 12 }),
  fc.tuple(jsonTextArb, fc.nat(), fc.nat(2), fc.oneof(fc.constantFrom(',', ':', ']', '}', '"', ' '), fc.constantFrom(...TOKENS))).map(([t, at, op, tok]) => {
    const i = at % (t.length + 1);
    if (op === 0) return t.slice(0, i) + t.slice(i + 1);
    if (op === 1) return t.slice(0, i) + tok + t.slice(i);
    return t.slice(0, i) + tok + t.slice(i + 1);
  }),
);

// --- tests --------------------------------------------------------------------------------

describe('IncrementalJsonParser: properties', () => {
  it('final value equals JSON.parse, and every intermediate value is consistent', () => {
    fc.assert(roundTripProperty(() => new IncrementalJsonParser()), { numRuns: 500 });
  });

  it('accepts/rejects exactly like JSON.parse, throwing only PartialJsonError at a chunking-independent offset', () => {
    fc.assert(
      fc.property(junkArb, cutsArb, (text, cuts) => {
        let expected: unknown;
        let ok = true;
        try {
          expected = JSON.parse(text);
        } catch {
          ok = false;
        }
        const p = new IncrementalJsonParser();
        let got: unknown;
        const err = thrown(() => {
          for (const c of split(text, cuts)) p.write(c);
          got = p.end();
        });
        if (err !== undefined && !(err instanceof PartialJsonError)) throw err;
        expect(err === undefined).toBe(ok);
        if (ok) {
          expect(got).toStrictEqual(expected);
          return;
        }
        const e = err as PartialJsonError;
        expect(e.code).toBe('invalid_json');
        // Everything before the offset is a viable prefix; the character at it (or the end) is not.
        const q = feed([text.slice(0, e.offset)]);
        const again = e.offset < text.length ? thrown(() => q.write(text.slice(e.offset))) : thrown(() => q.end());
        expect(again).toBeInstanceOf(PartialJsonError);
        expect((again as PartialJsonError).offset).toBe(e.offset);
        // Sticky: later calls rethrow the same error.
        expect(thrown(() => p.write('1'))).toBe(e);
        expect(thrown(() => p.end())).toBe(e);
      }),
      { numRuns: 2000 },
    );
  });

  it('catches a parser that drops a character when a chunk boundary falls inside an escape', () => {
    /** Wraps the real parser, but mimics a bug: forgets a split escape's next character. */
    class DropsCharInSplitEscape implements Parser {
      private readonly inner = new IncrementalJsonParser();
      private inString = false;
      private escape = 0; // -1: just saw '\', n > 0: hex digits still due
      get value(): unknown {
        return this.inner.value;
      }
      write(chunk: string): void {
        const splitEscape = this.escape !== 0 && chunk.length > 0;
        for (const ch of chunk) {
          if (this.escape === -1) this.escape = ch === 'u' ? 4 : 0;
          else if (this.escape > 0) this.escape--;
          else if (this.inString && ch === '\\') this.escape = -1;
          else if (ch === '"') this.inString = !this.inString;
        }
        this.inner.write(splitEscape ? chunk.slice(1) : chunk);
      }
      end(): unknown {
        return this.inner.end();
      }
    }
    const run = fc.check(roundTripProperty(() => new DropsCharInSplitEscape()), { numRuns: 500, seed: 42 });
    expect(run.failed).toBe(true);
    const sane = fc.check(roundTripProperty(() => new IncrementalJsonParser()), { numRuns: 500, seed: 42 });
    expect(sane.failed).toBe(false);
  });
});

describe('IncrementalJsonParser: splits inside tokens', () => {
  const everySplit = (text: string, expected: unknown): void => {
    for (let a = 0; a <= text.length; a++) {
      for (let b = a; b <= text.length; b++) {
        expect(feed([text.slice(0, a), text.slice(a, b), text.slice(b)]).end()).toStrictEqual(expected);
      }
    }
  };

  it('handles \\u escapes, surrogate pairs and lone backslashes split anywhere', () => {
    expect(feed(['"\\u00', 'e9"']).end()).toBe('é');
    expect(feed(['"a\\', 'nb"']).end()).toBe('a\nb');
    everySplit('{"k\\u00e9y":"\\ud83D\\uDE00 \\" \\\\ \\/ \\b\\f\\n\\r\\t\\uDC00"}', JSON.parse('{"k\\u00e9y":"\\ud83D\\uDE00 \\" \\\\ \\/ \\b\\f\\n\\r\\t\\uDC00"}'));
    everySplit('"\u{1F600}x"', '\u{1F600}x'); // raw pair split between its code units
  });

  it('handles numbers and literals split anywhere', () => {
    expect(feed(['12', '.5e', '-3']).end()).toBe(12.5e-3);
    everySplit('[-0.25E+2,0,1e400,true,false,null]', [-25, 0, Infinity, true, false, null]);
    expect(Object.is(feed(['-', '0']).end(), -0)).toBe(true);
  });
});

describe('IncrementalJsonParser: partial values', () => {
  it('exposes containers in place, strings in progress, and scalars only once complete', () => {
    const p = new IncrementalJsonParser();
    expect(p.value).toBeUndefined();
    p.write('  ');
    expect(p.value).toBeUndefined();
    p.write('{"a"');
    const root = p.value;
    expect(root).toEqual({});
    p.write(':');
    expect(p.value).toEqual({});
    p.write('"he');
    expect(p.value).toEqual({ a: 'he' });
    p.write('llo", "n": 1');
    expect(p.value).toEqual({ a: 'hello' });
    p.write('2, "l": [tr');
    expect(p.value).toEqual({ a: 'hello', n: 12, l: [] });
    p.write('ue, "x');
    expect(p.value).toEqual({ a: 'hello', n: 12, l: [true, 'x'] });
    expect(p.complete).toBe(false);
    p.write('"]}');
    expect(p.complete).toBe(true);
    expect(p.value).toBe(root);
    expect(p.end()).toBe(root);
  });

  it('completes a root number only at a delimiter or end()', () => {
    const p = feed(['4', '2']);
    expect([p.value, p.complete]).toEqual([undefined, false]);
    expect(p.end()).toBe(42);
    const q = feed(['42 ']);
    expect([q.value, q.complete]).toEqual([42, true]);
  });

  it('lets duplicate keys overwrite in place and keeps __proto__ as an own key, like JSON.parse', () => {
    const text = '{"a":1,"b":2,"a":{"c":3},"__proto__":{"x":1}}';
    const got = feed([text]).end();
    expect(got).toStrictEqual(JSON.parse(text));
    expect(Object.keys(got as object)).toEqual(['a', 'b', '__proto__']);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
  });

  it('survives deep nesting without recursion', () => {
    const depth = 100_000;
    const text = '['.repeat(depth) + ']'.repeat(depth);
    expect(feed([text]).complete).toBe(true);
  });
});

describe('IncrementalJsonParser: errors and requireObject', () => {
  it('rejects trailing content at its offset and stays failed', () => {
    const p = new IncrementalJsonParser();
    p.write('{} ');
    const e = thrown(() => p.write('x'));
    expect(e).toBeInstanceOf(PartialJsonError);
    expect(e).toMatchObject({ code: 'invalid_json', offset: 3, name: 'PartialJsonError' });
    expect(thrown(() => p.write(''))).toBe(e);
    expect(thrown(() => p.end())).toBe(e);
  });

  it('rejects near-misses in one chunk and in single-character chunks', () => {
    const bad = ['[1,]', '{"a":1,}', '{,}', '[,1]', '{"a"}', '{"a" 1}', '{1:2}', '[1 2]', '01', '-01', '1.', '.5', '+1',
      '1e', '1e+', '--1', '"\\x"', '"\\u12G4"', '"a\u0001"', 'tRue', 'nul', '{"a":1}}', '[]]', '[}', '{]', '1 2', '\ufeff1'];
    for (const text of bad) {
      expect(() => JSON.parse(text)).toThrow();
      for (const chunks of [[text], [...text]]) {
        expect(thrown(() => feed(chunks).end())).toBeInstanceOf(PartialJsonError);
      }
    }
  });

  it('rejects unterminated input at end()', () => {
    for (const text of ['', ' ', '{', '"abc', '[1', '-', '1.', 'tru', '{"a":1,']) {
      expect(thrown(() => feed([text]).end())).toMatchObject({ code: 'invalid_json', offset: text.length });
    }
  });

  it('requireObject: empty input is {}, a non-object root is not_an_object', () => {
    expect(feed([], { requireObject: true }).end()).toEqual({});
    expect(feed([' \n'], { requireObject: true }).end()).toEqual({});
    expect(feed(['{"a":[1]}'], { requireObject: true }).end()).toEqual({ a: [1] });
    for (const text of ['[1]', '"x"', '1', 'null']) {
      const p = new IncrementalJsonParser({ requireObject: true });
      expect(thrown(() => p.write(' ' + text))).toMatchObject({ code: 'not_an_object', offset: 1 });
    }
    expect(thrown(() => feed(['x'], { requireObject: true }))).toMatchObject({ code: 'invalid_json', offset: 0 });
  });
});

describe('IncrementalJsonParser: end() of an unfinished object, bad \\u escapes', () => {
  it('requireObject: an object cut off after a key, a colon or inside a nested value throws at end(), never yields {}', () => {
    // Only input with no value at all is {}; a tool input the stream cut short must not pass as an empty object.
    for (const text of ['{"a":', '{"a": ', '{"a":{"b":', '{"a":[', '{"a"', '{', '{"a":1,', '{"a":"x']) {
      for (const chunks of [[text], [...text]]) {
        const e = thrown(() => feed(chunks, { requireObject: true }).end());
        expect(e, text).toBeInstanceOf(PartialJsonError);
        expect(e, text).toMatchObject({ code: 'invalid_json', offset: text.length, message: 'Unexpected end of JSON input' });
      }
    }
  });

  it('a \\u escape takes exactly four hex digits: the characters next to 0-9, a-f and A-F are rejected at their offset', () => {
    // Each neighbour of a hex range in ASCII, at each of the four digit positions (e.g. "\u00!0").
    const notHex = ['!', '/', ':', '@', 'G', '`', 'g', ' ', 'x'];
    for (const bad of notHex) {
      for (let pos = 0; pos < 4; pos++) {
        const digits = '00e9'.split('');
        digits[pos] = bad;
        const text = `"\\u${digits.join('')}"`;
        expect(() => JSON.parse(text), text).toThrow();
        const at = 3 + pos; // after the quote, the backslash and the u
        for (const chunks of [[text], [...text]]) {
          expect(thrown(() => feed(chunks).end()), text).toMatchObject({ code: 'invalid_json', offset: at });
        }
      }
    }
    // The ends of each range are digits (hand-written code points).
    expect(feed(['"\\u0009\\u00aF\\u00Af\\u0fA0"']).end()).toBe('\t\u00af\u00af\u0fa0');
    expect(feed(['"\\u', '9', 'a', 'F', '0"']).end()).toBe('\u9af0');
  });

  it('whitespace-only input: {} with requireObject (as for empty input), an error without', () => {
    for (const text of ['', '  ', ' \n\t\r ']) {
      expect(feed([text], { requireObject: true }).end(), JSON.stringify(text)).toEqual({});
      expect(thrown(() => feed([text]).end()), JSON.stringify(text)).toMatchObject({ code: 'invalid_json', offset: text.length });
    }
  });
});

describe('IncrementalJsonParser: linear work', () => {
  // Counts parser work (loop steps + characters appended) instead of timing anything.
  it('one long string in 100k 16-char deltas, reading value after each write, does O(N) work', () => {
    const piece = 'abcdefghij\\n\\"kl'; // 16 chars incl. escapes
    const n = 100_000;
    const p = new IncrementalJsonParser({ requireObject: true });
    p.write('{"content":"');
    let root: unknown;
    let len = 0;
    for (let i = 0; i < n; i++) {
      p.write(piece);
      root ??= p.value;
      expect(p.value).toBe(root);
      len = (p.value as { content: string }).content.length;
    }
    p.write('"}');
    const total = 14 + 16 * n;
    expect(len).toBe(14 * n);
    expect((p.end() as { content: string }).content).toBe('abcdefghij\n"kl'.repeat(n));
    expect(p.workDone).toBeLessThanOrEqual(2 * total);
  });

  it('work grows linearly with input for mixed documents split into tiny chunks', () => {
    const workFor = (items: number): [number, number] => {
      const text = JSON.stringify({ items: Array.from({ length: items }, (_, i) => ({ id: i, x: -i / 7, s: 'é\n'.repeat(i % 5), ok: i % 2 === 0 })) });
      const p = new IncrementalJsonParser();
      for (let i = 0; i < text.length; i += 3) {
        p.write(text.slice(i, i + 3));
        void p.value;
      }
      p.end();
      return [p.workDone, text.length];
    };
    const [small, smallLen] = workFor(2_000);
    const [big, bigLen] = workFor(32_000);
    expect(small).toBeLessThanOrEqual(2 * smallLen);
    expect(big).toBeLessThanOrEqual(2 * bigLen);
    expect(big / bigLen).toBeLessThanOrEqual((small / smallLen) * 1.1);
  });
});

describe('IncrementalJsonParser: where a near-miss is rejected', () => {
  // The offset a user gets is the first character no valid JSON could have there (hand-counted below), or the
  // input's length when it ends too early — the same in one chunk and one character at a time.
  const cases: readonly [string, number][] = [
    ['[1,]', 3], ['{"a":1,}', 7], ['{,}', 1], ['[,1]', 1], ['{"a"}', 4], ['{"a" 1}', 5], ['{1:2}', 1], ['[1 2]', 3],
    ['01', 1], ['-01', 2], ['1.', 2], ['.5', 0], ['+1', 0], ['1e', 2], ['1e+', 3], ['--1', 1], ['"\\x"', 2],
    ['"\\u12G4"', 5], ['"a\u0001"', 2], ['tRue', 1], ['nul', 3], ['{"a":1}}', 7], ['[]]', 2], ['[}', 1], ['{]', 1],
    ['1 2', 2], ['\ufeff1', 0],
    // A character that cannot follow each state of the number grammar.
    ['-x', 1], ['0x', 1], ['01.5', 1], ['1x', 1], ['1.x', 2], ['1.5x', 3], ['1ex', 2], ['1e+x', 3], ['1e5x', 3],
    ['1e5.', 3], ['1e+-5', 3], ['-.5', 1], ['[-]', 2], ['[1.]', 3], ['[1e]', 3], ['{"a":1e+}', 8], ['0.e1', 2],
  ];
  it.each(cases)('%j at offset %i', (text, at) => {
    expect(() => JSON.parse(text)).toThrow();
    for (const chunks of [[text], [...text]]) {
      expect(thrown(() => feed(chunks).end()), chunks.length === 1 ? 'one chunk' : 'per character').toMatchObject({ code: 'invalid_json', offset: at });
    }
  });

  it('numbers in every accepting state parse as JSON.parse parses them, at the end and before a delimiter', () => {
    for (const text of ['0', '-0', '7', '-12', '0.5', '-0.25', '10.0', '1e5', '1E5', '1e+5', '1e-5', '-1.5E-3', '0e0', '2.5e10']) {
      for (const wrapped of [text, `[${text}]`, `{"n":${text}}`, `[${text},${text}]`, ` ${text} `]) {
        for (const chunks of [[wrapped], [...wrapped]]) expect(feed(chunks).end(), wrapped).toEqual(JSON.parse(wrapped));
      }
    }
  });
});
