/**
 * `deltaBody`: quickDelta's shortcut for a reader that keeps the string literal as it is on the wire and
 * unescapes many at once (the assembler, when no listener takes deltas). It must recognise exactly what
 * quickDelta recognises, and accept a literal exactly when JSON.parse does, so that the later JSON.parse of
 * the joined bodies cannot fail and equals the values joined.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deltaBody, quickDelta, type DeltaBody } from '../../src/sse/quick-delta.js';

const fields = { text_delta: 'text', input_json_delta: 'partial_json', thinking_delta: 'thinking' } as const;
const fresh = (): DeltaBody => ({ index: -1, type: 'text_delta', body: '', escaped: false });

/** The characters that decide a JSON string's validity, and a few that do not. */
const hazard = fc.constantFrom('"', '\\', 'u', 'n', 't', '/', '0', 'a', 'F', 'g', '\u0000', '\u001f', '\n', ' ', 'é', '\ud83d', '\ude00', '\u2028');
/** Whole escapes, valid ones and near misses. */
const escape = fc.constantFrom('\\n', '\\"', '\\\\', '\\/', '\\u00e9', '\\uD83D', '\\ude00', '\\u12', '\\x41', '\\U0041', '\\u12G4');
const plain = fc.constantFrom('a', 'é', ' ', '日本', '\ud83d\ude00');
const wireBody = fc.array(fc.oneof({ arbitrary: plain, weight: 4 }, { arbitrary: escape, weight: 3 }, { arbitrary: hazard, weight: 1 }), { maxLength: 10 }).map((units) => units.join(''));
/** A delta with any text between the literal's quotes. */
const rawDelta = fc
  .tuple(fc.nat({ max: 20 }), fc.constantFrom(...(Object.keys(fields) as (keyof typeof fields)[])), wireBody)
  .map(([index, type, body]) => `{"type":"content_block_delta","index":${index},"delta":{"type":"${type}","${fields[type]}":"${body}"}}`);
/** Deltas as the API writes them, then small edits of them (as in quick-delta.test.ts). */
const apiDelta = fc
  .tuple(fc.nat({ max: 999_999_999 }), fc.constantFrom(...(Object.keys(fields) as (keyof typeof fields)[])), fc.string({ unit: 'binary' }), fc.stringMatching(/^[ \t\r\n]{0,4}$/))
  .map(([index, type, value, pad]) => `{"type":"content_block_delta","index":${index},"delta":{"type":"${type}","${fields[type]}":${JSON.stringify(value)}}${pad}}`);
const edited = fc
  .tuple(apiDelta, fc.nat(), fc.nat({ max: 3 }), fc.constantFrom('"', '\\', '}', ' ', 'x', '\\u', '\u0001', ':"a"'))
  .map(([text, at, cut, insert]) => {
    const p = at % (text.length + 1);
    return text.slice(0, p) + insert + text.slice(p + cut);
  });

function parsed(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** deltaBody, judged against quickDelta and JSON.parse; `read` stands in for it so a broken one can be tried. */
function agrees(read: (data: string, out: DeltaBody) => boolean, data: string): boolean {
  const out = fresh();
  const took = read(data, out);
  const quick = quickDelta(data);
  if (took !== (quick !== undefined)) return false;
  if (!took) return out.index === -1; // nothing written
  const value = parsed(`"${out.body}"`);
  if (typeof value !== 'string' || out.escaped !== /["\\\u0000-\u001f]/.test(out.body)) return false;
  if (!out.escaped && value !== out.body) return false; // unescaped, the body is its own value
  const event = { type: 'content_block_delta', index: out.index, delta: { type: out.type, [fields[out.type]]: value } };
  return JSON.stringify(event) === JSON.stringify(quick) && JSON.stringify(event) === JSON.stringify(parsed(data));
}

describe('deltaBody', () => {
  it('takes what the API sends; its body unescaped is the delta JSON.parse reads', () => {
    fc.assert(fc.property(apiDelta, (data) => deltaBody(data, fresh()) && agrees(deltaBody, data)), { numRuns: 2000 });
  });

  it('on any literal or edit: takes it exactly when quickDelta does, and then agrees with JSON.parse', () => {
    fc.assert(fc.property(fc.oneof(rawDelta, edited), (data) => agrees(deltaBody, data)), { numRuns: 6000 });
  });

  it('the literals tried include valid and invalid escapes both', () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(fc.property(rawDelta, (data) => void (parsed(data) === undefined ? invalid++ : data.includes('\\') && valid++)), { numRuns: 2000, seed: 3 });
    expect(valid).toBeGreaterThan(100);
    expect(invalid).toBeGreaterThan(100);
  });

  it('bodies joined unescape, in one JSON.parse, to the values joined (what the assembler relies on)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 20 }), (values) => {
        const bodies = values.map((v) => JSON.stringify(v).slice(1, -1));
        expect(JSON.parse(`"${bodies.join('')}"`)).toBe(values.join(''));
      }),
      { numRuns: 1000 },
    );
  });

  it('the agreement property catches a body check that lets a bad escape or a raw control character through', () => {
    const sloppy = (data: string, out: DeltaBody): boolean => {
      const m = /^\{"type":"content_block_delta","index":(\d+),"delta":\{"type":"(text_delta|input_json_delta|thinking_delta)","\w+":"((?:[^"\\]|\\.)*)"\}\}$/.exec(data);
      if (!m) return false;
      Object.assign(out, { index: Number(m[1]), type: m[2], body: m[3], escaped: /["\\\u0000-\u001f]/.test(m[3]!) });
      return true;
    };
    expect(fc.check(fc.property(rawDelta, (data) => agrees(sloppy, data)), { numRuns: 2000, seed: 5 }).failed).toBe(true);
  });

  it('steps aside, writing nothing, where the body is not one JSON string', () => {
    for (const body of ['a\\', 'a","b":"c', '\\x', '\\u12', '\\u12G4', 'tab\there', '\u0000']) {
      const out = fresh();
      expect(deltaBody(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${body}"}}`, out), body).toBe(false);
      expect(out.index).toBe(-1);
    }
  });
});
