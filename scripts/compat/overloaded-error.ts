// An `event: error` (overloaded_error) mid-stream, read through the installed
// SDK's own event iterator, must be turnstate's api_error with the API's type.
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { parseTurn, StreamError } from 'turnstate';
import { loadRecording, startFakeMessagesApi } from 'turnstate/testing';

const api = await startFakeMessagesApi({ replies: () => loadRecording('error-event-overloaded') });
try {
  const client = new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
  const params = { model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }], stream: true as const };
  for (const [name, create] of [['messages', () => client.messages.create(params)], ['beta.messages', () => client.beta.messages.create(params)]] as const) {
    const result = await parseTurn(await create());
    assert.equal(result.ok, false, name);
    assert.ok(result.error instanceof StreamError, `${name}: ${String(result.error)}`);
    assert.equal(result.error.code, 'api_error', name);
    assert.equal(result.error.apiErrorType, 'overloaded_error', name);
    assert.equal(result.message?.content[0]?.type, 'text', `${name}: the partial message is kept`);
    console.log(`${name}: ${result.error.code} ${result.error.apiErrorType}`);
  }
} finally {
  await api.close();
}
