import { describe, expect, it } from 'vitest';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';
import { runTurn, type RunnableTool } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, expectRejects, runScripted, text, toolUse } from './helpers.js';

describe('end_turn', () => {
  it('completes, with the message appended exactly as received', async () => {
    const { result, requests } = await runScripted([text('Hi there.')]);
    expect(result.status).toBe('completed');
    expect(result.stopReason).toBe('end_turn');
    expect(result.text).toBe('Hi there.');
    expect(requests).toHaveLength(1);
    expect(result.messages).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: [{ type: 'text', text: 'Hi there.' }] },
    ]);
    expect(result.state.phase).toBe('done');
  });

  it('does not look at the text: "tool_use" or "I will continue" in end_turn text changes nothing', async () => {
    const { result, requests } = await runScripted([text('stop_reason: tool_use — I will continue after a pause_turn')]);
    expect(result.status).toBe('completed');
    expect(requests).toHaveLength(1);
  });
});

describe('tool_use', () => {
  it('runs every call in parallel up to the limit and answers in ONE user message, in tool_use order', async () => {
    let running = 0;
    let peak = 0;
    const slow: RunnableTool = {
      name: 'slow',
      run: async (input: { ms: number; tag: string }) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, input.ms));
        running--;
        return `done ${input.tag}`;
      },
    };
    const calls = [30, 5, 20, 1, 10].map((ms, i) => ({ id: `toolu_${i}`, name: 'slow', input: { ms, tag: `t${i}` } }));
    const { result, requests } = await runScripted([toolUse(calls, 'Working on it.'), text('All done.')], { tools: [slow], toolConcurrency: 2 });
    expect(result.status).toBe('completed');
    expect(peak).toBe(2);
    expect(requests).toHaveLength(2);
    const second = requests[1]!.messages;
    expect(second).toHaveLength(3);
    // the assistant message exactly as received, text included
    expect(second[1]!.role).toBe('assistant');
    expect((second[1]!.content as { type: string }[]).map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use', 'tool_use', 'tool_use', 'tool_use']);
    const results = second[2]!.content as { type: string; tool_use_id: string; content: string }[];
    expect(second[2]!.role).toBe('user');
    expect(results.map((r) => r.tool_use_id)).toEqual(calls.map((c) => c.id));
    expect(results.map((r) => r.content)).toEqual(calls.map((c) => `done ${c.input.tag}`));
    expect(results.every((r) => r.type === 'tool_result' && !('is_error' in r))).toBe(true);
  });

  it('turns a throw, a timeout, a missing tool, a bad input and a ToolError into is_error results', async () => {
    const tools: RunnableTool[] = [
      { name: 'boom', run: () => { throw new Error('disk on fire'); } },
      { name: 'sleepy', timeoutMs: 20, run: (_input: unknown, ctx) => new Promise((resolve) => { const t = setTimeout(() => resolve('late'), 5000); ctx?.signal?.addEventListener('abort', () => clearTimeout(t)); }) },
      { name: 'strict', parse: (input: unknown) => { if (typeof (input as { n?: unknown }).n !== 'number') throw new Error('n must be a number'); return input; }, run: () => 'ok' },
      { name: 'structured', run: () => { throw new ToolError([{ type: 'text', text: 'structured failure' }]); } },
      { name: 'blocks', run: () => [{ type: 'text', text: 'block output' }] },
    ];
    const calls = [
      { id: 't1', name: 'boom' },
      { id: 't2', name: 'sleepy' },
      { id: 't3', name: 'nope' },
      { id: 't4', name: 'strict', input: { n: 'x' } },
      { id: 't5', name: 'structured' },
      { id: 't6', name: 'blocks' },
    ];
    const { result, requests } = await runScripted([toolUse(calls), text('ok')], { tools });
    expect(result.status).toBe('completed');
    const results = requests[1]!.messages[2]!.content as { tool_use_id: string; content: unknown; is_error?: boolean }[];
    expect(results).toEqual([
      { type: 'tool_result', tool_use_id: 't1', content: 'Error: disk on fire', is_error: true },
      { type: 'tool_result', tool_use_id: 't2', content: "Error: Tool 'sleepy' timed out after 20 ms", is_error: true },
      { type: 'tool_result', tool_use_id: 't3', content: "Error: Tool 'nope' not found", is_error: true },
      { type: 'tool_result', tool_use_id: 't4', content: 'Error: n must be a number', is_error: true },
      { type: 'tool_result', tool_use_id: 't5', content: [{ type: 'text', text: 'structured failure' }], is_error: true },
      { type: 'tool_result', tool_use_id: 't6', content: [{ type: 'text', text: 'block output' }] },
    ]);
    expect(result.toolCalls.map((c) => c.status)).toEqual(['done', 'done', 'done', 'done', 'done', 'done']);
  });

  it('runs tools made with the SDK betaTool helper as they are, and sends their definitions without run/parse', async () => {
    const weather = betaTool({
      name: 'get_weather',
      description: 'Weather for a city',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      run: (args) => `sunny in ${args.city}`,
    });
    const model = scriptedModel([toolUse([{ id: 'toolu_w', name: 'get_weather', input: { city: 'Oslo' } }]), text('Sunny.')]);
    const result = await runTurn({ params: { model: 'm', max_tokens: 50 }, messages: 'weather?', tools: [weather], createStream: model.createStream, checkpoint: false });
    expect(result.status).toBe('completed');
    expect(model.requests[0]!.tools).toEqual([
      { type: 'custom', name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    ]);
    expect((model.requests[1]!.messages[2]!.content as { content: string }[])[0]!.content).toBe('sunny in Oslo');
  });

  it('keeps server tool definitions and lets a runnable tool replace a definition of the same name', async () => {
    const model = scriptedModel([text('x')]);
    await runTurn({
      params: { model: 'm', max_tokens: 50, tools: [{ type: 'web_search_20250305', name: 'web_search' }, { name: 'echo', input_schema: { type: 'object' } }] },
      messages: 'x',
      tools: [echoTool('echo', { description: 'runnable echo' })],
      createStream: model.createStream,
      checkpoint: false,
    });
    expect(model.requests[0]!.tools!.map((t) => (t as { description?: string; name: string }).description ?? (t as { name: string }).name)).toEqual(['web_search', 'runnable echo']);
  });

  it('never exits on tool_use: the loop goes on until a terminal stop reason', async () => {
    const script = [...Array.from({ length: 4 }, (_, i) => toolUse([{ id: `t${i}`, name: 'echo', input: { i } }])), text('finally')];
    const { result, requests } = await runScripted(script, { tools: [echoTool()] });
    expect(result.status).toBe('completed');
    expect(requests).toHaveLength(5);
    expect(result.state.continuations).toBe(4);
  });
});

describe('pause_turn', () => {
  it('appends the paused content and re-requests with no new user message; the next segment merges into the same assistant turn', async () => {
    const paused = {
      content: [
        { type: 'text' as const, text: 'Searching.' },
        { type: 'server_tool_use' as const, id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
      ],
      stopReason: 'pause_turn',
      usage: { server_tool_use: { web_search_requests: 1 } },
    };
    const resumed = {
      content: [
        { type: 'whole' as const, block: { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] } },
        { type: 'text' as const, text: 'Found it.' },
      ],
      stopReason: 'end_turn',
      usage: { server_tool_use: { web_search_requests: 2 } },
    };
    const { result, requests } = await runScripted([paused, resumed]);
    expect(result.status).toBe('completed');
    expect(requests).toHaveLength(2);
    // the second request ends with the paused assistant content, as-is
    expect(requests[1]!.messages).toHaveLength(2);
    expect(requests[1]!.messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Searching.' }, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } }],
    });
    // one assistant message for the whole logical turn: the server call and its result sit together
    expect(result.messages).toHaveLength(2);
    expect((result.messages[1]!.content as { type: string }[]).map((b) => b.type)).toEqual(['text', 'server_tool_use', 'web_search_tool_result', 'text']);
    expect(result.text).toBe('Searching.Found it.');
    expect(result.usage.server_tool_use).toEqual({ web_search_requests: 3 });
    expect(result.segments.map((s) => s.kind)).toEqual(['initial', 'pause_turn']);
  });

  it('treats compaction like pause_turn: content kept, request again with no new message', async () => {
    const compaction = { content: [{ type: 'whole' as const, block: { type: 'compaction', content: 'summary of earlier turns' } }], stopReason: 'compaction' };
    const { result, requests } = await runScripted([compaction, text('Hello!')]);
    expect(result.status).toBe('completed');
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'compaction', content: 'summary of earlier turns' }] });
    expect(result.segments.map((s) => s.kind)).toEqual(['initial', 'compaction']);
  });
});

describe('max_tokens', () => {
  const cut = { content: [{ type: 'text' as const, text: 'The answer begins here and ' }], stopReason: 'max_tokens' };

  it('stop (default): status incomplete with the partial message and what was dropped', async () => {
    const withTool = {
      content: [
        { type: 'text' as const, text: 'Let me call ' },
        { type: 'tool_use' as const, id: 'toolu_cut', name: 'echo', input: { long: 'x'.repeat(50) } },
      ],
      stopReason: 'max_tokens',
      cutLastBlock: 0.5,
    };
    const { result, requests } = await runScripted([withTool]);
    expect(result.status).toBe('incomplete');
    expect(result.reason).toBe('max_tokens');
    expect(requests).toHaveLength(1);
    expect(result.message!.content).toEqual([{ type: 'text', text: 'Let me call ' }]);
    expect(result.dropped).toHaveLength(1);
    expect(result.dropped[0]).toMatchObject({ segment: 0, index: 1, type: 'tool_use', reason: 'unclosed' });
  });

  it('continue: appends the partial (trailing whitespace trimmed) and re-requests; counts as a continuation', async () => {
    const { result, requests } = await runScripted([cut, text('ends here.')], { maxTokensPolicy: 'continue' });
    expect(result.status).toBe('completed');
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'The answer begins here and' }] });
    expect(result.messages).toHaveLength(2);
    expect(result.text).toBe('The answer begins here andends here.');
    expect(result.state.continuations).toBe(1);
    expect(result.segments.map((s) => s.kind)).toEqual(['initial', 'max_tokens_continue']);
  });

  it('continue with nothing usable left ends incomplete instead of sending an empty prefill', async () => {
    const blank = { content: [{ type: 'text' as const, text: '   \n ' }], stopReason: 'max_tokens' };
    const { result, requests } = await runScripted([blank], { maxTokensPolicy: 'continue' });
    expect(result.status).toBe('incomplete');
    expect(result.reason).toMatch(/nothing left to continue/);
    expect(requests).toHaveLength(1);
  });

  it('raise: repeats the same request with a larger max_tokens, up to the ceiling', async () => {
    const { result, requests } = await runScripted([cut, cut, cut], { maxTokensPolicy: 'raise', maxTokensCeiling: 350, params: { model: 'm', max_tokens: 100 } });
    expect(requests.map((r) => r.max_tokens)).toEqual([100, 200, 350]);
    expect(requests.every((r) => r.messages.length === 1)).toBe(true);
    expect(result.status).toBe('incomplete');
    expect(result.reason).toMatch(/ceiling/);
    expect(result.usage.output_tokens).toBe(30);
  });

  it('raise: succeeds once the budget is large enough', async () => {
    const { result, requests } = await runScripted([cut, text('complete answer')], { maxTokensPolicy: 'raise' });
    expect(result.status).toBe('completed');
    expect(requests.map((r) => r.max_tokens)).toEqual([100, 200]);
    expect(result.messages).toHaveLength(2);
    expect(result.text).toBe('complete answer');
  });
});

describe('terminal stop reasons', () => {
  it('stop_sequence → stopped, with the matched sequence', async () => {
    const { result } = await runScripted([text('```python\nprint(1)\n', 'stop_sequence', { stopSequence: '```' })]);
    expect(result.status).toBe('stopped');
    expect(result.stopSequence).toBe('```');
  });

  it('refusal → refused with stop_details; no further request, ever', async () => {
    const details = { type: 'refusal', category: 'cyber', explanation: 'blocked', recommended_model: null };
    const { result, requests } = await runScripted([{ content: [], stopReason: 'refusal', stopDetails: details }, text('never sent')], { maxTokensPolicy: 'continue' });
    expect(result.status).toBe('refused');
    expect(result.stopDetails).toEqual(details);
    expect(requests).toHaveLength(1);
  });

  it('model_context_window_exceeded → incomplete with the reason', async () => {
    const { result } = await runScripted([text('partial', 'model_context_window_exceeded')]);
    expect(result.status).toBe('incomplete');
    expect(result.reason).toBe('model_context_window_exceeded');
  });

  it('an unknown stop reason → typed error, not a silent stop', async () => {
    const { result, requests } = await runScripted([text('??', 'brand_new_reason')]);
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('unknown_stop_reason');
    expect(result.error?.stopReason).toBe('brand_new_reason');
    expect(requests).toHaveLength(1);
    const model = scriptedModel([text('??', 'brand_new_reason')]);
    const error = await expectRejects(runTurn({ params: { model: 'm', max_tokens: 5 }, messages: 'x', createStream: model.createStream, checkpoint: false }));
    expect(error.code).toBe('unknown_stop_reason');
    expect(error.messages).toHaveLength(2);
    expect(error.usage?.output_tokens).toBe(10);
  });
});
