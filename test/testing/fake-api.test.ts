import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTurn } from '../../src/turn/parse.js';
import { errorAfterSse, messageEvents, sseFromMessage, startFakeMessagesApi, truncatedSse, type FakeMessagesApi } from '../../src/testing/index.js';

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

const hello = sseFromMessage({ content: [{ type: 'text', text: 'héllo 👋 wörld' }], stopReason: 'end_turn' });
const post = (body: unknown, path = '/v1/messages?beta=true') => fetch(`${api!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('fake Messages API', () => {
  it('listens on loopback only, on an ephemeral port', async () => {
    api = await startFakeMessagesApi();
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(api.port).toBeGreaterThan(0);
  });

  it('answers each POST /v1/messages with the next reply and keeps every request body', async () => {
    api = await startFakeMessagesApi({ replies: [hello, { body: hello, chunkSize: 1 }] });
    const first = await post({ n: 1 });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(first.headers.get('request-id')).toBe('req_fake_0001');
    expect(await first.text()).toBe(hello);
    // one byte at a time: UTF-8 characters are split across chunks, and still arrive intact
    expect(await (await post({ n: 2 })).text()).toBe(hello);
    expect(api.requests.map((r) => [r.path, r.body])).toEqual([
      ['/v1/messages', { n: 1 }],
      ['/v1/messages', { n: 2 }],
    ]);
    const none = await post({ n: 3 });
    expect(none.status).toBe(500);
    expect(await none.json()).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringMatching(/no scripted reply left/) } });
    expect((await fetch(`${api.url}/v1/models`)).status).toBe(404);
  });

  it('sends status codes with error bodies, and takes a function as the script', async () => {
    api = await startFakeMessagesApi({
      replies: (request) => (request.body.fail ? { status: 529, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } } : hello),
    });
    const failed = await post({ fail: true });
    expect(failed.status).toBe(529);
    expect((await failed.json()).error.type).toBe('overloaded_error');
    expect(await (await post({})).text()).toBe(hello);
    expect(() => api!.enqueue(hello)).toThrow();
  });

  it('drives the real SDK client; its stream parses with turnstate', async () => {
    api = await startFakeMessagesApi({ replies: [{ body: hello, chunkSize: 16, delayMs: 1 }] });
    api.enqueue(truncatedSse({ content: [{ type: 'text', text: 'cut' }], stopReason: 'end_turn' }, 4));
    const client = new Anthropic({ apiKey: 'k', baseURL: api.url, maxRetries: 0 });
    const params = { model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }], stream: true as const };
    const ok = await parseTurn(await client.beta.messages.create(params).asResponse());
    expect(ok.ok && ok.message.content).toEqual([{ type: 'text', text: 'héllo 👋 wörld' }]);
    const cut = await parseTurn(await client.beta.messages.create(params).asResponse());
    expect(cut.ok).toBe(false);
    expect(cut.error?.code).toBe('incomplete_stream');
    expect(api.requests[0]!.body).toMatchObject({ model: 'claude-sonnet-4-6', stream: true });
  });

  it('can drop the connection mid-body, or hang until closed', async () => {
    api = await startFakeMessagesApi({ replies: [{ body: hello, dropAfterBytes: 100 }, { body: hello, chunkSize: 50, hang: true }] });
    const dropped = await parseTurn(await post({}));
    expect(dropped.ok).toBe(false);
    expect(['source_failed', 'incomplete_stream']).toContain(dropped.error?.code);
    const hanging = await post({});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const aborted = await parseTurn(hanging, { signal: controller.signal });
    expect(aborted.error?.code).toBe('aborted');
  });
});

describe('stream builders', () => {
  it('produce streams the strict parser accepts, with padding and the spaced ping', async () => {
    const sse = sseFromMessage({
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'c2ln' },
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: [1, 'x'] } },
      ],
      stopReason: 'tool_use',
      usage: { input_tokens: 10, output_tokens: 20, server_tool_use: { web_search_requests: 1 } },
    });
    expect(sse).toContain('data: {"type": "ping"}');
    expect(sse).toMatch(/} +}\n/);
    const result = await parseTurn(sse, { strict: true });
    expect(result.ok).toBe(true);
    expect(result.message!.content).toEqual([
      { type: 'thinking', thinking: 'hmm', signature: 'c2ln' },
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: [1, 'x'] }, caller: { type: 'direct' } },
    ]);
    expect(result.message!.usage.server_tool_use).toEqual({ web_search_requests: 1 });
    const failed = await parseTurn(errorAfterSse({ content: [{ type: 'text', text: 'abc' }], stopReason: 'end_turn' }, 3));
    expect(failed.error).toMatchObject({ code: 'api_error', apiErrorType: 'overloaded_error' });
    expect(messageEvents({ content: [], stopReason: 'refusal' }).map((e) => e.type)).toEqual(['message_start', 'ping', 'message_delta', 'message_stop']);
  });
});
