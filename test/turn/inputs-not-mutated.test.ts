/**
 * Issue 6 C15: events handed in already parsed are never changed. The same
 * event objects fed twice (a replayed fixture) or to two parsers give two
 * independent, correct messages that share no object or array with each
 * other or with the input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTurnSync, TurnParser, TurnstateError, type TurnResult } from '../../src/index.js';
import { copyJson } from '../../src/sse/own-event.js';
import { repoRoot } from '../support/corpus.js';

type Obj = Record<string, unknown>;

/** The events of an SSE body, parsed here with JSON.parse (not by turnstate). */
function eventsOf(text: string): Obj[] {
  return text
    .split(/\n\n/)
    .map((block) => block.split('\n').find((line) => line.startsWith('data:')))
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line.slice(5)) as Obj);
}

function feed(turn: TurnParser, events: readonly unknown[]): TurnResult {
  try {
    for (const e of events) turn.writeEvent(e);
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  return turn.end();
}

/** Every object and array reachable from a value (iteratively). */
function objectsIn(value: unknown): Set<object> {
  const found = new Set<object>();
  const work: unknown[] = [value];
  while (work.length > 0) {
    const v = work.pop();
    if (typeof v !== 'object' || v === null || found.has(v)) continue;
    found.add(v);
    for (const key of Object.keys(v)) work.push((v as Obj)[key]);
  }
  return found;
}

const dir = join(repoRoot, 'recordings');
const verdicts = JSON.parse(readFileSync(join(dir, 'verdicts.json'), 'utf8')) as Record<string, { ok: boolean }>;
const valid = readdirSync(dir).filter((name) => name.endsWith('.sse') && verdicts[name]?.ok === true);

describe('C15: already-parsed events are never mutated', () => {
  it.each(valid)('%s: fed twice and to two parsers, the same objects give two independent correct messages', (name) => {
    const text = readFileSync(join(dir, name), 'utf8');
    const expected = parseTurnSync(text); // from bytes: objects turnstate parsed itself
    expect(expected.ok).toBe(true);
    const events = eventsOf(text);
    const pristine = structuredClone(events);

    const p1 = feed(new TurnParser(), events);
    expect(events).toEqual(pristine);
    const p2 = feed(new TurnParser(), events);
    expect(events).toEqual(pristine);
    for (const result of [p1, p2]) {
      expect(result.ok, String(result.error)).toBe(true);
      expect(result.message).toEqual(expected.message);
      expect(result.stopReason).toBe(expected.stopReason);
    }
    expect(p1.message).not.toBe(p2.message);
    const inFirst = objectsIn(p1.message);
    const inInput = objectsIn(events);
    for (const object of objectsIn(p2.message)) {
      expect(inFirst.has(object), 'an object shared by the two messages').toBe(false);
      expect(inInput.has(object), 'an object shared with the input').toBe(false);
    }
  });

  it('interleaved fan-out: each event to two parsers in turn', () => {
    const events = eventsOf(readFileSync(join(dir, 'end-turn-text.sse'), 'utf8'));
    const a = new TurnParser();
    const b = new TurnParser();
    for (const e of events) {
      a.writeEvent(e);
      b.writeEvent(e);
    }
    const [ra, rb] = [a.end(), b.end()];
    expect(ra.ok && rb.ok).toBe(true);
    const textOf = (r: TurnResult): string => (r.message?.content[0] as { text: string }).text;
    expect(textOf(ra)).toBe(textOf(rb));
    expect(textOf(ra)).toBe(textOf(parseTurnSync(readFileSync(join(dir, 'end-turn-text.sse')))));
  });

  it('citations_delta objects are copied too (the message keeps them)', () => {
    const events = eventsOf(readFileSync(join(dir, 'citations-document.sse'), 'utf8'));
    const p1 = feed(new TurnParser(), events);
    const p2 = feed(new TurnParser(), events);
    const citations = (r: TurnResult): unknown[] => (r.message!.content as { citations?: unknown[] }[]).flatMap((b) => b.citations ?? []);
    expect(citations(p1).length).toBeGreaterThan(0);
    citations(p2).forEach((c, i) => expect(c).not.toBe(citations(p1)[i]));
  });
});

describe('copyJson', () => {
  it('copies deep input without recursion, keeps cycles and shared references, and own "__proto__" keys', () => {
    let deep: Obj = {};
    const root = deep;
    for (let i = 0; i < 100_000; i++) deep = (deep['a'] = {}) as Obj;
    const copy = copyJson(root);
    expect(copy !== root).toBe(true);
    let depth = 0;
    for (let at: Obj | undefined = copy; at !== undefined; at = at['a'] as Obj | undefined) depth++;
    expect(depth).toBe(100_001);

    const shared = { s: 1 };
    const cyclic: Obj = { list: [shared, shared] };
    cyclic['self'] = cyclic;
    const c = copyJson(cyclic);
    expect(c['self']).toBe(c);
    const list = c['list'] as object[];
    expect(list[0]).toBe(list[1]);
    expect(list[0]).not.toBe(shared);

    const proto = copyJson(JSON.parse('{"__proto__":{"x":1}}') as Obj);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
  });
});
