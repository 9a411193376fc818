// The SDK baseline for a whole `turnstate replay --json` process: read the file
// (64 KiB reads, as replay does: both read the same way), run it through the SDK's MessageStream (the
// client's `messages.stream(…).finalMessage()`, with a fetch that answers with
// the file as a text/event-stream body), print the final message as one JSON
// line — what replay --json's "message" field holds.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/cli-sdk.mjs FILE.sse');
const client = new Anthropic({
  apiKey: 'bench',
  baseURL: 'http://bench.invalid',
  maxRetries: 0,
  logLevel: 'off',
  fetch: async () => new Response(Readable.toWeb(createReadStream(file, { highWaterMark: 1 << 16 })), { status: 200, headers: { 'content-type': 'text/event-stream' } }),
});
const message = await client.messages.stream({ model: 'claude-opus-4-7', max_tokens: 64000, messages: [{ role: 'user', content: 'bench' }] }).finalMessage();
process.stdout.write(`${JSON.stringify({ file, message })}\n`);
