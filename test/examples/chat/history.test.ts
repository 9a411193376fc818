import { describe, expect, it } from 'vitest';
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { NOT_RUN, sendable } from '../../../examples/chat/history.js';

const user = (text: string): BetaMessageParam => ({ role: 'user', content: [{ type: 'text', text }] });

describe('sendable: the transcript repaired after a stopped turn', () => {
  it('answers a tool call left without a result, before the next message, as an error saying it was not run', () => {
    const messages: BetaMessageParam[] = [
      user('save a note'),
      { role: 'assistant', content: [{ type: 'text', text: 'Sure.' }, { type: 'tool_use', id: 'toolu_1', name: 'save_note', input: { note: 'x' } }] },
      user('never mind'),
    ];
    expect(sendable(messages)).toEqual([
      messages[0],
      messages[1],
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: NOT_RUN, is_error: true }, { type: 'text', text: 'never mind' }] },
    ]);
  });

  it('keeps results that were given, and adds only the missing ones', () => {
    const messages: BetaMessageParam[] = [
      user('two notes'),
      { role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 't', input: {} }, { type: 'tool_use', id: 'b', name: 't', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: 'ok' }] },
    ];
    const out = sendable(messages);
    expect(out).toHaveLength(3);
    expect(out[2]!.content).toEqual([
      { type: 'tool_result', tool_use_id: 'b', content: NOT_RUN, is_error: true },
      { type: 'tool_result', tool_use_id: 'a', content: 'ok' },
    ]);
  });

  it('drops a server tool call whose result never came, and merges the two user messages a turn with no answer leaves', () => {
    const messages: BetaMessageParam[] = [
      user('search'),
      { role: 'assistant', content: [{ type: 'text', text: 'Searching.' }, { type: 'server_tool_use', id: 'srv_1', name: 'web_search', input: { query: 'k2' } }] },
      user('stop'),
      user('hello'),
    ];
    expect(sendable(messages)).toEqual([
      messages[0],
      { role: 'assistant', content: [{ type: 'text', text: 'Searching.' }] },
      { role: 'user', content: [{ type: 'text', text: 'stop' }, { type: 'text', text: 'hello' }] },
    ]);
  });

  it('leaves a well-formed transcript as it is and does not touch its input', () => {
    const messages: BetaMessageParam[] = [user('hi'), { role: 'assistant', content: [{ type: 'text', text: 'hello' }] }, user('bye')];
    const copy = structuredClone(messages);
    expect(sendable(messages)).toEqual(messages);
    expect(messages).toEqual(copy);
  });
});
