/**
 * Coverage of the stream machine: a breadth-first walk of the machine itself
 * (over a fixed alphabet of wire events, in lenient and strict mode) finds,
 * for every transition of the definition, a shortest event sequence that takes
 * it; each sequence then goes through the real parser as bytes, where the
 * transition must be taken again, and its verdict must equal an independent
 * expectation (the reference grammar in test/props/reference.ts, written
 * without XState; hand-written for the prepopulated path it does not model).
 * A transition no sequence takes fails the test, and the coverage is printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createActor, type InspectionEvent } from 'xstate';
import { streamMachine, stateName } from '../../machines/stream.machine.js';
import { machineGraph, transitionIndexer, transitionLabel } from '../../src/diagram/index.js';
import { TurnParser } from '../../src/turn/turn-parser.js';
import { TurnstateError } from '../../src/errors.js';
import { referenceParse } from '../props/reference.js';
import type { Obj } from '../support/arbitraries.js';

const usage = { input_tokens: 1, output_tokens: 1 };
const message = (extra: Obj = {}): Obj => ({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, stop_sequence: null, usage, ...extra });
const start = (index: number, content_block: Obj): Obj => ({ type: 'content_block_start', index, content_block });
const delta = (index: number, d: Obj): Obj => ({ type: 'content_block_delta', index, delta: d });

/** The wire events the walk may send, by name. Indices 0 and 1 reach every index guard. */
const ALPHABET: Record<string, Obj> = {
  message_start: { type: 'message_start', message: message() },
  message_start_complete: {
    type: 'message_start',
    message: message({ content: [{ type: 'tool_use', id: 'toolu_1', name: 't', input: {} }], stop_reason: 'tool_use' }),
  },
  message_start_with_content: { type: 'message_start', message: message({ content: [{ type: 'text', text: 'x' }] }) },
  ...Object.fromEntries(
    [0, 1].flatMap((i) => [
      [`start_text_${i}`, start(i, { type: 'text', text: '' })],
      [`start_tool_${i}`, start(i, { type: 'tool_use', id: `toolu_${i}`, name: 't', input: {} })],
      [`start_thinking_${i}`, start(i, { type: 'thinking', thinking: '', signature: '' })],
      [`start_compaction_${i}`, start(i, { type: 'compaction', content: null })],
      [`start_result_${i}`, start(i, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] })],
      [`text_${i}`, delta(i, { type: 'text_delta', text: 'hi' })],
      [`json_${i}`, delta(i, { type: 'input_json_delta', partial_json: '' })],
      [`thinking_${i}`, delta(i, { type: 'thinking_delta', thinking: 'hm' })],
      [`signature_${i}`, delta(i, { type: 'signature_delta', signature: 'sig' })],
      [`compaction_${i}`, delta(i, { type: 'compaction_delta', content: 'c' })],
      [`unknown_delta_${i}`, delta(i, { type: 'future_delta', x: 1 })],
      [`stop_${i}`, { type: 'content_block_stop', index: i }],
    ]),
  ),
  delta_end_turn: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } },
  delta_max_tokens: { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 2 } },
  message_stop: { type: 'message_stop' },
  ping: { type: 'ping' },
  error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
  unknown_event: { type: 'future_event', x: 1 },
};

const graph = machineGraph(streamMachine);
const indexOf = transitionIndexer(streamMachine);
interface Found {
  readonly path: readonly string[];
  readonly strict: boolean;
}

/** Runs the bare machine over `path`; returns the transitions each event took and where it ended. */
function walk(path: readonly string[], strict: boolean) {
  const taken: number[][] = [];
  let current: number[] = [];
  const inspect = (event: InspectionEvent) => {
    if (event.type === '@xstate.microstep') current.push(...event._transitions.map(indexOf).filter((i): i is number => i !== null));
  };
  const actor = createActor(streamMachine, { input: { strict }, inspect }).start();
  for (const name of path) {
    current = [];
    const event = ALPHABET[name]!;
    // As the driver does: unknown wire types reach the machine in an envelope.
    actor.send((['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping', 'error'].includes(String(event['type']))
      ? event
      : { type: 'unknown_event', event }) as never);
    taken.push(current);
  }
  const snapshot = actor.getSnapshot();
  actor.stop();
  const { effects: _effects, ...context } = snapshot.context;
  return { taken, key: JSON.stringify([stateName(snapshot.value), context]), done: snapshot.status !== 'active' };
}

/** Breadth first over machine configurations; the first (shortest) path to take each transition. */
function explore(strict: boolean, found: Map<number, Found>, names: readonly string[] = Object.keys(ALPHABET)): void {
  const seen = new Set<string>();
  let frontier: string[][] = [[]];
  for (let depth = 0; depth < 8 && frontier.length > 0; depth++) {
    const next: string[][] = [];
    for (const path of frontier) {
      for (const name of names) {
        const candidate = [...path, name];
        const { taken, key, done } = walk(candidate, strict);
        for (const index of taken.at(-1)!) if (!found.has(index)) found.set(index, { path: candidate, strict });
        if (done || seen.has(key)) continue;
        seen.add(key);
        next.push(candidate);
      }
    }
    frontier = next;
  }
}

/** The path as SSE bytes, as the API frames events. */
const sse = (path: readonly string[]): string => path.map((name) => `event: ${String(ALPHABET[name]!['type'])}\ndata: ${JSON.stringify(ALPHABET[name])}\n\n`).join('');

/** The real parser over the bytes: its verdict, and every transition it took (every event an actor step). */
function parse(path: readonly string[], strict: boolean) {
  const taken = new Set<number>();
  const turn = new TurnParser({
    strict,
    actorSteps: 'every-event',
    inspect: (event) => {
      if (event.type === '@xstate.microstep') for (const t of event._transitions) if (indexOf(t) !== null) taken.add(indexOf(t)!);
    },
  });
  try {
    turn.write(sse(path));
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  return { result: turn.end(), taken };
}

/** What must come of a path, from a source that is not the machine. */
function expectation(path: readonly string[], strict: boolean): { ok: true } | { ok: false; code: string; eventIndex: number } {
  const events = path.map((name) => ALPHABET[name]!);
  // The reference grammar does not model programmatic tool calling's prepopulated start (issue 7 A1): by hand,
  // a start with content must carry a stop reason, and only pings (and skipped unknown events) may come before message_stop.
  if (path[0] === 'message_start_with_content') return { ok: false, code: 'unexpected_event', eventIndex: 0 };
  if (path[0] === 'message_start_complete') {
    for (let i = 1; i < path.length; i++) {
      const type = String(events[i]!['type']);
      if (type === 'ping' || (type === 'future_event' && !strict)) continue;
      if (type === 'future_event') return { ok: false, code: 'unknown_event_type', eventIndex: i };
      if (type === 'error') return { ok: false, code: 'api_error', eventIndex: i };
      if (type === 'message_stop') {
        // After message_stop: pings, and unknown events unless strict; anything else is too late.
        for (let j = i + 1; j < path.length; j++) {
          const later = String(events[j]!['type']);
          if (later === 'ping' || (later === 'future_event' && !strict)) continue;
          return { ok: false, code: 'event_after_message_stop', eventIndex: j };
        }
        return { ok: true };
      }
      return { ok: false, code: 'unexpected_event', eventIndex: i };
    }
    return { ok: false, code: 'incomplete_stream', eventIndex: path.length };
  }
  const ref = referenceParse(events, { strict });
  if (ref.ok) return ref.stopReason === null ? { ok: false, code: 'incomplete_stream', eventIndex: path.length } : { ok: true };
  return { ok: false, code: ref.code, eventIndex: ref.eventIndex };
}

describe('stream machine coverage', () => {
  const found = new Map<number, Found>();
  explore(false, found);
  explore(true, found);
  afterAll(() => {
    process.stdout.write(`stream machine: ${found.size}/${graph.transitions.length} transitions taken by generated paths\n`);
  });

  it('every transition of the definition is taken by some generated path', () => {
    const missing = graph.transitions.map((t, i) => [i, t] as const).filter(([i]) => !found.has(i)).map(([, t]) => `${t.source}: ${transitionLabel(t)}`);
    expect(missing).toEqual([]);
  });

  it('the check can fail: without a truncating message_delta in the alphabet, stopTruncates is never taken', () => {
    const partial = new Map<number, Found>();
    const names = Object.keys(ALPHABET).filter((name) => name !== 'delta_max_tokens');
    explore(false, partial, names);
    explore(true, partial, names);
    const missing = graph.transitions.filter((_, i) => !partial.has(i)).map((t) => t.guard);
    expect(missing).toEqual(['stopTruncates']);
  });

  for (const [index, { path, strict }] of [...found.entries()].sort((a, b) => a[0] - b[0])) {
    const transition = graph.transitions[index]!;
    it(`${transition.source.replace('stream.', '') || '(any)'}: ${transitionLabel(transition, { actions: false })}${strict ? ' (strict)' : ''}`, () => {
      const { result, taken } = parse(path, strict);
      // Through the real parser, bytes in, the same transition is taken …
      expect(taken.has(index), `path ${path.join(' ')}`).toBe(true);
      // … and the verdict is what an independent source says.
      const expected = expectation(path, strict);
      if (expected.ok) expect(result.ok, `${path.join(' ')}: ${String(result.error)}`).toBe(true);
      else expect({ code: result.error?.code, eventIndex: result.error?.eventIndex }, path.join(' ')).toEqual({ code: expected.code, eventIndex: expected.eventIndex });
    });
  }
});
