import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OtherAnthropic, { APIConnectionError as OtherAPIConnectionError } from 'anthropic-sdk-other-copy';
import { betaTool as otherBetaTool } from 'anthropic-sdk-other-copy/helpers/beta/json-schema';
import { ToolError as OtherToolError } from 'anthropic-sdk-other-copy/lib/tools/ToolError';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTurn } from '../../src/turn/parse.js';
import { runTurn, sdkCreateStream } from '../../src/controller/index.js';
import { loadRecording, sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { StreamError } from '../../machines/stream.errors.js';

// A user's project has its own @anthropic-ai/sdk, of its own version. With a
// peer dependency npm installs one copy, but a second one still happens
// (pnpm, aliases, a bundled dependency): `anthropic-sdk-other-copy` is the
// newest SDK installed under another name, a real second copy whose classes
// are not turnstate's. This file also compiles only if the structural types
// accept its client (npm test type-checks it first).
const versionOf = (dir: string) => JSON.parse(readFileSync(new URL(`../../node_modules/${dir}/package.json`, import.meta.url), 'utf8')).version as string;
const ours = versionOf('@anthropic-ai/sdk');
const theirs = versionOf('anthropic-sdk-other-copy');

let api: FakeMessagesApi;
let other: OtherAnthropic;
beforeAll(async () => {
  api = await startFakeMessagesApi();
  other = new OtherAnthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
});
afterAll(() => api.close());

const params = { model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }], stream: true as const };

describe('a client from another copy of the SDK', () => {
  it('is really another copy, of another version', () => {
    expect(OtherAnthropic).not.toBe(Anthropic);
    expect(theirs).not.toBe(ours);
  });

  it("an overloaded_error event through its iterator is api_error with the API's error type (messages and beta.messages)", async () => {
    for (const create of [() => other.messages.create(params), () => other.beta.messages.create(params)]) {
      api.enqueue(loadRecording('error-event-overloaded'));
      const result = await parseTurn(await create());
      expect(result.ok).toBe(false);
      expect(result.error).toBeInstanceOf(StreamError);
      expect(result.error).toMatchObject({ code: 'api_error', apiErrorType: 'overloaded_error', requestId: expect.stringMatching(/^req_/) });
      expect(result.message?.content[0]).toMatchObject({ type: 'text' });
    }
  });

  it('its status-less errors that are not an error event (a dropped connection) stay source_failed', async () => {
    api.enqueue(sseFromMessage({ content: [{ type: 'text', text: 'partial' }], stopReason: 'end_turn' }));
    const stream = await other.messages.create(params);
    async function* dropped() {
      for await (const event of stream) {
        yield event;
        if (event.type === 'content_block_start') throw new OtherAPIConnectionError({ message: 'socket hang up' });
      }
    }
    const result = await parseTurn(dropped());
    expect(result.error).toMatchObject({ code: 'source_failed' });
    expect(result.error?.message).toContain('socket hang up');
  });

  it('drives the controller: sdkCreateStream(client), its betaTool, and its ToolError content as an error result', async () => {
    api.enqueue(sseFromMessage({ content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }], stopReason: 'tool_use' }));
    api.enqueue(sseFromMessage({ content: [{ type: 'text', text: 'Take a coat.' }], stopReason: 'end_turn' }));
    const weather = otherBetaTool({
      name: 'get_weather',
      description: 'Current weather for a city',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      run: async ({ city }) => {
        throw new OtherToolError([{ type: 'text', text: `no station in ${city}` }]);
      },
    });
    const before = api.requests.length;
    const result = await runTurn({ params: { model: 'claude-sonnet-4-6', max_tokens: 100 }, messages: 'Oslo?', tools: [weather], createStream: sdkCreateStream(other), checkpoint: false });
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Take a coat.');
    expect(api.requests[before + 1]!.body.messages.at(-1)).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'no station in Oslo' }], is_error: true }],
    });
    // the `client` option takes it too
    api.enqueue(sseFromMessage({ content: [{ type: 'text', text: 'hi' }], stopReason: 'end_turn' }));
    expect((await runTurn({ params: { model: 'claude-sonnet-4-6', max_tokens: 100 }, messages: 'hi', client: other, checkpoint: false })).status).toBe('completed');
  });
});
