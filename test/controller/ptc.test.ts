/**
 * Issue 7 A1, the controller's side: a programmatic-tool-calling response (the
 * finished message in message_start, then message_stop) is a tool_use turn like
 * any other — the tool runs, its tool_result goes back with the call's id — and
 * the container it ran in goes on to the next request as the `container` param
 * (the API refuses the follow-up without it). Real SDK client, real socket.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { sdkCreateStream, startRun } from '../../src/controller/index.js';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';

const recording = readFileSync(fileURLToPath(new URL('../../recordings/ptc-prepopulated-tool-use.sse', import.meta.url)), 'utf8');
const started = (JSON.parse(/^data: (.*)$/m.exec(recording)![1]!) as { message: { content: Array<Record<string, unknown>>; container: { id: string } } }).message;
const call = started.content.find((b) => b['type'] === 'tool_use')!;

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

describe('a programmatic tool call through the controller', () => {
  it('runs the tool, answers with the call’s id, keeps the caller in history and carries the container on', async () => {
    api = await startFakeMessagesApi({
      replies: [recording, sseFromMessage({ content: [{ type: 'text', text: 'West leads.' }], stopReason: 'end_turn' })],
    });
    const seen: unknown[] = [];
    const result = await startRun({
      params: { model: 'claude-sonnet-4-6', max_tokens: 1024 },
      messages: 'Which region had the highest revenue?',
      tools: [{ name: 'query_database', run: (input: unknown) => (seen.push(input), '[{"region":"West","sum":1200}]') }],
      createStream: sdkCreateStream(new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 })),
      checkpoint: false,
    }).settled;

    expect(result.status).toBe('completed');
    expect(seen).toEqual([call['input']]);
    expect(api.requests).toHaveLength(2);
    expect(api.requests[0]!.body['container']).toBeUndefined();
    const next = api.requests[1]!.body as { container?: unknown; messages: Array<{ role: string; content: unknown }> };
    expect(next.container).toBe(started.container.id);
    expect(next.messages[1]).toEqual({ role: 'assistant', content: started.content });
    expect(next.messages[2]).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: call['id'], content: '[{"region":"West","sum":1200}]' }],
    });
  });
});
