import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkEvent } from '../../src/sse/events.js';
import { parseTurnSync } from '../../src/turn/parse.js';
import { eventsToSse, messageEvents } from '../../src/testing/index.js';
import { runScripted, text, toolUse, echoTool } from '../controller/helpers.js';

type Where = 'start' | 'delta';
const COUNTERS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'];
const GROUPED = ['server_tool_use.web_search_requests', 'server_tool_use.web_fetch_requests', 'cache_creation.ephemeral_5m_input_tokens', 'cache_creation.ephemeral_1h_input_tokens'];

/** An event carrying `value` at `path` of its usage. */
function eventWith(where: Where, path: string, value: unknown): Record<string, unknown> {
  const usage: Record<string, unknown> = { input_tokens: 10, output_tokens: 1 };
  const [head, tail] = path.split('.') as [string, string | undefined];
  if (tail === undefined) usage[head] = value;
  else usage[head] = { [tail]: value };
  if (where === 'start') return { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], usage } };
  return { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage };
}

/** The oracle: what a usage counter may be. Written out here, not taken from the code under test. */
const acceptable = (value: unknown): boolean => value === null || (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 53 - 1);

const values = fc.oneof(
  fc.nat(),
  fc.constantFrom(0, 2 ** 53 - 1, 2 ** 53, -1, -0.5, 0.5, 1e21, Infinity, -Infinity, NaN, null, '5', true, {}, []),
  fc.integer({ min: -1e9, max: -1 }),
  fc.double(),
);

function usageProperty(check: (event: unknown) => unknown) {
  return fc.property(fc.constantFrom<Where>('start', 'delta'), fc.constantFrom(...COUNTERS, ...GROUPED), values, (where, path, value) => {
    const event = eventWith(where, path, value);
    let error: unknown = null;
    try {
      check(event);
    } catch (e) {
      error = e;
    }
    if (acceptable(value)) expect(error).toBeNull();
    else expect(error).toMatchObject({ name: 'SseError', code: 'malformed_event', eventIndex: 3 });
  });
}

describe('usage counters', () => {
  it('are non-negative safe integers (or null), else malformed_event at that event (property)', () => {
    fc.assert(usageProperty((event) => checkEvent(event, 3)), { numRuns: 1000 });
  });

  it('the property catches main (usage only had to be an object) and a check that allows fractions or 2^53', () => {
    const mainCheck = (event: unknown) => event; // main's checkEvent accepted every counter value
    const finiteOnly = (event: unknown) => {
      const e = event as { usage?: Record<string, unknown>; message?: { usage: Record<string, unknown> } };
      for (const [, v] of Object.entries(e.usage ?? e.message!.usage)) {
        if (typeof v === 'number' && (!Number.isFinite(v) || v < 0)) throw Object.assign(new Error(), { name: 'SseError', code: 'malformed_event', eventIndex: 3 });
      }
    };
    expect(fc.check(usageProperty(mainCheck), { numRuns: 1000 }).failed).toBe(true);
    expect(fc.check(usageProperty(finiteOnly), { numRuns: 1000 }).failed).toBe(true);
  });

  it('through the parser: the error names the field, points at the event, and keeps the partial', () => {
    const events: Record<string, unknown>[] = messageEvents({ content: [{ type: 'text', text: 'hello' }], stopReason: 'end_turn' }) as never;
    const delta = events.findIndex((e) => e.type === 'message_delta');
    (events[delta]!['usage'] as Record<string, unknown>)['output_tokens'] = -5;
    const result = parseTurnSync(eventsToSse(events));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('malformed_event');
    expect(result.error.eventIndex).toBe(delta);
    expect(result.error.message).toContain('"usage.output_tokens" must be a non-negative safe integer, got -5');
    expect((result.error as { partial?: { content: unknown } }).partial?.content).toEqual([{ type: 'text', text: 'hello' }]);

    // 1e400 parses to Infinity: the count that made main's checkpoints unresumable
    const sse = eventsToSse(messageEvents({ content: [{ type: 'text', text: 'x' }], stopReason: 'end_turn' })).replace('"input_tokens":25', '"input_tokens":1e400');
    const big = parseTurnSync(sse);
    expect(big.ok ? null : [big.error.code, big.error.eventIndex]).toEqual(['malformed_event', 0]);
  });

  it('through a run with a token budget: negative counts stop the first request instead of letting eleven through', async () => {
    const negative = { input_tokens: -1000, output_tokens: 1 };
    const script = Array.from({ length: 11 }, (_, i) => ({ ...toolUse([{ id: `toolu_${i}`, name: 'echo', input: { i } }]), usage: negative }));
    const { result, requests } = await runScripted([...script, text('done')], { tools: [echoTool()], budgets: { maxTotalTokens: 1000 } });
    expect(requests).toHaveLength(1);
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('stream_failed');
    expect((result.error?.cause as { code?: string }).code).toBe('malformed_event');
    expect(result.usage.input_tokens).toBe(0);
  });

  it('valid counts still add up against the budget', async () => {
    const usage = { input_tokens: 400, output_tokens: 100, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: 2 } };
    const { result, requests } = await runScripted(
      [{ ...toolUse([{ id: 'a', name: 'echo', input: { n: 1 } }]), usage }, { ...toolUse([{ id: 'b', name: 'echo', input: { n: 2 } }]), usage }, text('never')],
      { tools: [echoTool()], budgets: { maxTotalTokens: 1000 } },
    );
    expect(requests).toHaveLength(2);
    expect(result.error?.budget).toBe('tokens');
    expect(result.usage.server_tool_use).toEqual({ web_search_requests: 4 });
  });
});
