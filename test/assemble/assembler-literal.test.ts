/**
 * `MessageAssembler.literal`: deltas given as their string literal's body on the wire (escapes still in),
 * unescaped a batch at a time when the block is next read. A block may get both kinds — values through
 * `delta()` while a listener listens, bodies while none does — in any order, read at any point: the
 * text (or tool input) must always be the values in the order they came.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageAssembler } from '../../src/assemble/assembler.js';
import type { BetaRawContentBlockStartEvent, BetaRawMessageStartEvent } from '@anthropic-ai/sdk/resources/beta/messages/messages';

type Kind = 'text' | 'thinking' | 'tool_use';
type Step = { how: 'value' | 'body' | 'read'; piece: string };
const DELTA = { text: 'text_delta', thinking: 'thinking_delta', tool_use: 'input_json_delta' } as const;
const FIELD = { text_delta: 'text', thinking_delta: 'thinking', input_json_delta: 'partial_json' } as const;

/** What the test drives: the real assembler, or a broken stand-in to show the property catches it. */
interface Subject {
  value(piece: string): void;
  body(body: string, escaped: boolean): void;
  read(): string;
}

function real(kind: Kind): Subject {
  const assembler = new MessageAssembler(() => 0);
  assembler.start({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } } as unknown as BetaRawMessageStartEvent);
  const block = kind === 'text' ? { type: 'text', text: '' } : kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'tool_use', id: 'toolu_1', name: 't', input: {} };
  assembler.open({ type: 'content_block_start', index: 0, content_block: block } as unknown as BetaRawContentBlockStartEvent);
  const type = DELTA[kind];
  return {
    value: (piece) => assembler.delta({ type: 'content_block_delta', index: 0, delta: { type, [FIELD[type]]: piece } } as never),
    body: (body, escaped) => assembler.literal(type, body, escaped),
    read: () => (kind === 'tool_use' ? assembler.openJson() : ((assembler.current()?.content[0] as unknown as Record<string, string>)[kind] as string)),
  };
}

/** Unescapes at read time everything that came since the last read, values included: what the batch kinds prevent. */
function mixesKinds(): Subject {
  let done = '';
  let parts: string[] = [];
  let raw = false;
  return {
    value: (piece) => void parts.push(piece),
    body: (body, escaped) => {
      parts.push(body);
      raw ||= escaped;
    },
    read: () => {
      const joined = parts.join('');
      done += raw ? (JSON.parse(`"${joined}"`) as string) : joined;
      parts = [];
      raw = false;
      return done;
    },
  };
}

const piece = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('"', '\\', '\n', 'a"b', '\\u00e9', '{"k": 1}'));
const steps = fc.array(fc.record({ how: fc.constantFrom<Step['how']>('value', 'body', 'body', 'read'), piece }), { maxLength: 40 });

function keepsOrder(subject: Subject, script: readonly Step[]): boolean {
  let expected = '';
  for (const { how, piece } of script) {
    if (how === 'read') {
      if (subject.read() !== expected) return false;
      continue;
    }
    expected += piece;
    if (how === 'value') subject.value(piece);
    else {
      const body = JSON.stringify(piece).slice(1, -1);
      subject.body(body, body !== piece);
    }
  }
  return subject.read() === expected;
}

describe('MessageAssembler.literal', () => {
  for (const kind of ['text', 'thinking', 'tool_use'] as const) {
    it(`${kind}: values and wire bodies in any mix and order, read at any point, join in order`, () => {
      fc.assert(fc.property(steps, (script) => keepsOrder(real(kind), script)), { numRuns: 600 });
    });
  }

  it('more than one batch (256 deltas) of bodies, escaped and not', () => {
    const subject = real('text');
    const pieces = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? `"${i}"\n` : `${i} `));
    for (const p of pieces) {
      const body = JSON.stringify(p).slice(1, -1);
      subject.body(body, body !== p);
    }
    expect(subject.read()).toBe(pieces.join(''));
  });

  it('a tool block fed bodies closes with the input they spell', () => {
    const assembler = new MessageAssembler(() => 0);
    assembler.start({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } } as unknown as BetaRawMessageStartEvent);
    assembler.open({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 't', input: {} } } as unknown as BetaRawContentBlockStartEvent);
    for (const body of ['{\\"path\\": \\"a', '.ts\\", \\"n\\": [1, ', '2]}']) assembler.literal('input_json_delta', body, true);
    expect(assembler.close(0, 5)).toMatchObject({ input: { path: 'a.ts', n: [1, 2] } });
  });

  it('the property catches an assembler that unescapes values along with the bodies of their batch', () => {
    expect(fc.check(fc.property(steps, (script) => keepsOrder(mixesKinds(), script)), { numRuns: 600, seed: 11 }).failed).toBe(true);
  });
});
