/**
 * diffState / applyDelta on hand-built states: what a journal record holds for each kind of step, and how a
 * record that does not fit the state is refused (the reader turns the message into checkpoint_invalid).
 */
import { describe, expect, it } from 'vitest';
import { applyDelta, diffState } from '../../../src/controller/journal/delta.js';
import type { RunState } from '../../../src/controller/types.js';

const user = { role: 'user' as const, content: 'hi' };
const assistant = { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'hello' }] };

/** Only the fields a test touches; diffState compares whatever keys `next` has. */
const state = (fields: Record<string, unknown>): RunState => fields as unknown as RunState;

describe('diffState', () => {
  it('nothing changed: an empty delta', () => {
    const a = state({ phase: 'requesting', messages: [user] });
    expect(diffState(a, { ...a })).toEqual({});
  });

  it('a scalar or object field that changed is set whole; unchanged ones are left out', () => {
    const params = { model: 'm' };
    const a = state({ phase: 'requesting', continuations: 0, params });
    const b = state({ phase: 'running_tools', continuations: 1, params });
    expect(diffState(a, b)).toEqual({ set: { phase: 'running_tools', continuations: 1 } });
    const c = state({ phase: 'requesting', continuations: 0, params: { model: 'm' } });
    expect(diffState(a, c)).toEqual({ set: { params: { model: 'm' } } });
  });

  it('an appended array carries only the new suffix, from the first element that differs', () => {
    const a = state({ messages: [user] });
    expect(diffState(a, state({ messages: [user, assistant] }))).toEqual({ splice: { messages: [1, [assistant]] } });
    const merged = { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'hello again' }] };
    expect(diffState(state({ messages: [user, assistant] }), state({ messages: [user, merged] }))).toEqual({ splice: { messages: [1, [merged]] } });
  });

  it('a shorter array (a closed batch) is cut; a copy with the same elements is no change', () => {
    expect(diffState(state({ batch: ['a', 'b'] }), state({ batch: [] }))).toEqual({ splice: { batch: [0, []] } });
    expect(diffState(state({ batch: ['a', 'b'] }), state({ batch: ['a'] }))).toEqual({ splice: { batch: [1, []] } });
    const messages = [user, assistant];
    expect(diffState(state({ messages }), state({ messages: [...messages] }))).toEqual({});
  });

  it('every appended key is spliced, never set: messages, segments, retries, toolCalls, batch, dropped', () => {
    const keys = ['messages', 'segments', 'retries', 'toolCalls', 'batch', 'dropped'];
    const a = state(Object.fromEntries(keys.map((k) => [k, []])));
    const b = state(Object.fromEntries(keys.map((k) => [k, [k]])));
    expect(diffState(a, b)).toEqual({ splice: Object.fromEntries(keys.map((k) => [k, [0, [k]]])) });
  });

  it('an array field that is not an appended one (lastMessage content, say) is set whole', () => {
    expect(diffState(state({ lastMessage: null }), state({ lastMessage: assistant }))).toEqual({ set: { lastMessage: assistant } });
  });
});

describe('applyDelta', () => {
  it('sets fields and splices arrays in place; null means it fitted', () => {
    const target: Record<string, unknown> = { phase: 'requesting', messages: [user, assistant], batch: ['x'] };
    const merged = { role: 'assistant', content: 'merged' };
    expect(applyDelta(target, { set: { phase: 'done' }, splice: { messages: [1, [merged, user]], batch: [0, []] } })).toBeNull();
    expect(target).toEqual({ phase: 'done', messages: [user, merged, user], batch: [] });
  });

  it('a splice at the very end appends; an empty delta changes nothing', () => {
    const target: Record<string, unknown> = { messages: [user] };
    expect(applyDelta(target, { splice: { messages: [1, [assistant]] } })).toBeNull();
    expect(target).toEqual({ messages: [user, assistant] });
    expect(applyDelta(target, {})).toBeNull();
    expect(target).toEqual({ messages: [user, assistant] });
  });

  it('refuses a record that does not fit, saying why', () => {
    const fresh = (): Record<string, unknown> => ({ messages: [user, assistant], phase: 'requesting' });
    const cases: [unknown, string][] = [
      [{ set: { nonsense: 1 } }, 'set of unknown field "nonsense"'],
      ['{"set":{"__proto__":{"polluted":true}}}', 'set of unknown field "__proto__"'],
      [{ splice: { phase: [0, []] } }, 'splice of unknown field phase'],
      [{ splice: { toolCalls: [0, []] } }, 'splice of toolCalls, which is not an array'],
      [{ splice: { messages: [3, []] } }, 'splice of messages at 3 does not fit (length 2)'],
      [{ splice: { messages: [-1, []] } }, 'splice of messages at -1 does not fit (length 2)'],
      [{ splice: { messages: [0.5, []] } }, 'splice of messages at 0.5 does not fit (length 2)'],
      [{ splice: { messages: ['1', []] } }, 'splice of messages at 1 does not fit (length 2)'],
      [{ splice: { messages: [1, 'not items'] } }, 'splice of messages at 1 does not fit (length 2)'],
    ];
    for (const [delta, message] of cases) {
      const target = fresh();
      expect(applyDelta(target, JSON.parse(typeof delta === 'string' ? delta : JSON.stringify(delta)) as never)).toBe(message);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('each known field can be set', () => {
    const fields = ['runId', 'startedAt', 'params', 'maxTokens', 'messages', 'phase', 'nextRequest', 'continuations', 'toolCallCount', 'usage', 'segments', 'retries', 'toolCalls', 'batch', 'dropped', 'lastMessage', 'outcome', 'settings'];
    for (const field of fields) {
      const target: Record<string, unknown> = {};
      expect(applyDelta(target, { set: { [field]: 7 } as never })).toBeNull();
      expect(target).toEqual({ [field]: 7 });
    }
  });
});
