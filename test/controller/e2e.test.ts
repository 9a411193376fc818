/**
 * End to end: the real controller, the real Anthropic SDK client, a real
 * socket to the fake Messages API — one test per stop reason, plus the
 * failure paths that only exist over HTTP (mid-stream error events, dropped
 * connections, HTTP status errors the SDK retries itself, a deadline that
 * aborts a stream in flight). Recorded streams from the shared corpus are used
 * where one exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { sdkCreateStream, startRun, type RunOptions, type RunnableTool, type RunResult } from '../../src/controller/index.js';
import { errorAfterSse, sseFromMessage, startFakeMessagesApi, type FakeMessagesApi, type FakeReply } from '../../src/testing/index.js';

const corpus = fileURLToPath(new URL('../../../shared/real-streams/', import.meta.url));
const hasCorpus = existsSync(corpus);
const recording = (name: string) => readFileSync(`${corpus}${name}`, 'utf8');
const describeCorpus = hasCorpus ? describe : describe.skip;

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function runOverHttp(replies: FakeReply[], options: Partial<RunOptions> = {}, clientOptions: ConstructorParameters<typeof Anthropic>[0] = {}): Promise<RunResult> {
  api = await startFakeMessagesApi({ replies });
  const client = new Anthropic({ apiKey: 'test-key', baseURL: api.url, maxRetries: 0, ...clientOptions });
  return startRun({
    params: { model: 'claude-sonnet-4-6', max_tokens: 1024 },
    messages: 'hello',
    createStream: sdkCreateStream(client),
    checkpoint: false,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...options,
  }).settled;
}

const calculator: RunnableTool[] = [
  { name: 'add', run: (i: { a: number; b: number }) => String(i.a + i.b) },
  { name: 'multiply', run: (i: { a: number; b: number }) => String(i.a * i.b) },
];
const plain = (text: string, stopReason = 'end_turn', extra = {}) => sseFromMessage({ content: [{ type: 'text', text }], stopReason, ...extra });

describe('through the SDK client and a real socket', () => {
  it('end_turn, chunked into 7-byte pieces with delays; sends stream:true and reads the request id', async () => {
    const result = await runOverHttp([{ body: plain('Bonjour! Ça va? 👋'), chunkSize: 7, delayMs: 1 }]);
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Bonjour! Ça va? 👋');
    expect(result.segments[0]!.requestId).toBe('req_fake_0001');
    expect(api!.requests[0]!.body).toEqual({ model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user', content: 'hello' }], stream: true });
    const headers = api!.requests[0]!.headers;
    expect(headers['x-api-key'] ?? headers['authorization']).toMatch(/test-key/);
  });

  it('model_context_window_exceeded → incomplete; compaction → continued; unknown → typed error', async () => {
    const a = await runOverHttp([plain('cut short', 'model_context_window_exceeded')]);
    expect(a.status).toBe('incomplete');
    expect(a.reason).toBe('model_context_window_exceeded');
    await api!.close();
    const compaction = sseFromMessage({ content: [{ type: 'whole', block: { type: 'compaction', content: 'summary' } }], stopReason: 'compaction' });
    const b = await runOverHttp([compaction, plain('after compaction')]);
    expect(b.status).toBe('completed');
    expect(api!.requests[1]!.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'compaction', content: 'summary' }] });
    await api!.close();
    const c = await runOverHttp([plain('?', 'some_future_reason')]);
    expect(c.error?.code).toBe('unknown_stop_reason');
    expect(api!.requests).toHaveLength(1);
  });

  it('retries a mid-stream overloaded_error and a dropped connection; the same request is re-sent', async () => {
    const spec = { content: [{ type: 'text' as const, text: 'A fairly long answer that streams in many pieces.' }], stopReason: 'end_turn', chunkSize: 5 };
    const full = sseFromMessage(spec);
    const result = await runOverHttp([{ body: errorAfterSse(spec, 5, 'overloaded_error'), chunkSize: 50 }, { body: full, dropAfterBytes: 600, chunkSize: 100 }, full]);
    expect(result.status).toBe('completed');
    expect(result.text).toBe('A fairly long answer that streams in many pieces.');
    expect(result.retries.map((r) => [r.code, r.apiErrorType])).toEqual([
      ['api_error', 'overloaded_error'],
      [expect.stringMatching(/^(source_failed|incomplete_stream)$/), null],
    ]);
    expect(result.state.continuations).toBe(0);
    expect(api!.requests).toHaveLength(3);
    expect(api!.requests[1]!.raw).toBe(api!.requests[0]!.raw);
    expect(api!.requests[2]!.raw).toBe(api!.requests[0]!.raw);
  });

  it('leaves HTTP status errors to the SDK: its maxRetries retries a 529, the controller records no retry', async () => {
    const overloaded = { status: 529, headers: { 'retry-after-ms': '1' }, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } };
    const ok = await runOverHttp([overloaded, plain('after the SDK retried')], {}, { maxRetries: 1 });
    expect(ok.status).toBe('completed');
    expect(ok.retries).toEqual([]);
    expect(api!.requests).toHaveLength(2);
    await api!.close();
    const failed = await runOverHttp([overloaded, plain('never')], {}, { maxRetries: 0 });
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('request_failed');
    expect(api!.requests).toHaveLength(1);
  });

  it('a deadline aborts the stream in flight over the socket', async () => {
    const started = Date.now();
    const result = await runOverHttp([{ body: plain('slow '.repeat(200)), chunkSize: 20, delayMs: 30 }], { budgets: { deadlineMs: 150 } });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.budget).toBe('deadline');
    expect(result.segments).toHaveLength(0);
  });
});

describeCorpus('recorded streams (shared corpus) through the SDK client', () => {
  it('tool_use with two parallel calls (11), then end_turn', async () => {
    const result = await runOverHttp([recording('11-parallel-tool-use-text-plus-2-tools-sonnet4.sse'), recording('03-text-end-turn-sonnet46.sse')], { tools: calculator });
    expect(result.status).toBe('completed');
    const second = api!.requests[1]!.body;
    expect(second.messages[1].content.map((b: { type: string }) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    const uses = second.messages[1].content.filter((b: { type: string }) => b.type === 'tool_use');
    expect(second.messages[2].content.map((b: { tool_use_id: string }) => b.tool_use_id)).toEqual(uses.map((u: { id: string }) => u.id));
    expect(second.messages[2].content.map((b: { content: string }) => b.content)).toEqual(uses.map((u: { name: string; input: { a: number; b: number } }) => String(u.name === 'add' ? u.input.a + u.input.b : u.input.a * u.input.b)));
  });

  it('pause_turn (20) resumed by a stream that opens with the pending search result (21): one assistant turn, pairs intact', async () => {
    const result = await runOverHttp([recording('20-pause-turn-web-search-long.sse'), recording('21-pause-turn-resumed-starts-with-tool-result.sse')]);
    expect(result.status).toBe('completed');
    expect(result.segments.map((s) => s.stopReason)).toEqual(['pause_turn', 'end_turn']);
    // the continuation request: the paused content, as-is, as the final assistant turn, and no new user message
    const resumedRequest = api!.requests[1]!.body;
    expect(resumedRequest.messages).toHaveLength(2);
    const merged = JSON.parse(JSON.stringify(result.messages[1]!.content)) as unknown[];
    expect(merged.slice(0, resumedRequest.messages[1].content.length)).toEqual(resumedRequest.messages[1].content);
    const pausedLast = resumedRequest.messages[1].content.at(-1);
    expect(pausedLast.type).toBe('server_tool_use');
    // the transcript: one assistant message; every server_tool_use has its result in that same message
    expect(result.messages).toHaveLength(2);
    const blocks = result.messages[1]!.content as { type: string; id?: string; tool_use_id?: string }[];
    const calls = blocks.filter((b) => b.type === 'server_tool_use').map((b) => b.id);
    const answered = new Set(blocks.filter((b) => b.type.endsWith('_tool_result')).map((b) => b.tool_use_id));
    expect(calls.filter((id) => !answered.has(id))).toEqual([]);
    expect(answered.has(pausedLast.id)).toBe(true);
    expect(result.usage.server_tool_use['web_search_requests']).toBe(result.segments.reduce((n, s) => n + (s.usage.server_tool_use['web_search_requests'] ?? 0), 0));
  });

  it('max_tokens cut inside tool input (07): stop → incomplete with the dropped block; continue → trimmed prefill', async () => {
    const stop = await runOverHttp([recording('07-max-tokens-mid-tool-use-input.sse')]);
    expect(stop.status).toBe('incomplete');
    expect(stop.dropped.map((d) => [d.type, d.reason])).toEqual([['tool_use', 'unclosed']]);
    expect(stop.message!.content.map((b) => b.type)).toEqual(['text']);
    await api!.close();
    const cont = await runOverHttp([recording('07-max-tokens-mid-tool-use-input.sse'), recording('03-text-end-turn-sonnet46.sse')], { maxTokensPolicy: 'continue' });
    expect(cont.status).toBe('completed');
    const prefill = api!.requests[1]!.body.messages.at(-1);
    expect(prefill.role).toBe('assistant');
    expect(prefill.content.map((b: { type: string }) => b.type)).toEqual(['text']);
    expect(prefill.content[0].text).toBe(prefill.content[0].text.trimEnd());
  });

  it('stop_sequence (08) → stopped with the sequence; refusal (32) → refused, nothing sent after it', async () => {
    const stopped = await runOverHttp([recording('08-stop-sequence-prefill-haiku35.sse')]);
    expect(stopped.status).toBe('stopped');
    expect(stopped.stopSequence).toBe('```');
    await api!.close();
    const refused = await runOverHttp([recording('32-refusal-SEMISYNTHETIC.sse'), plain('never')]);
    expect(refused.status).toBe('refused');
    expect(refused.stopDetails).toMatchObject({ type: 'refusal', category: 'cyber' });
    expect(api!.requests).toHaveLength(1);
  });

  it('thinking then tool_use (15): the assistant message goes back exactly as received, signature included', async () => {
    const tools: RunnableTool[] = [{ name: 'weather', run: () => 'sunny' }, { name: 'get_weather', run: () => 'sunny' }];
    const result = await runOverHttp([recording('15-thinking-then-tool-use-sonnet4.sse'), plain('It is sunny.')], { tools });
    expect(result.status).toBe('completed');
    const sent = api!.requests[1]!.body.messages[1];
    expect(sent).toEqual(JSON.parse(JSON.stringify(result.messages[1])));
    expect(sent.content[0].type).toBe('thinking');
    expect(sent.content[0].signature.length).toBeGreaterThan(20);
  });
});
