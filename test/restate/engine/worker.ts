/**
 * A worker process for the Restate tests: serves turnstate's virtual object
 * on 127.0.0.1:$PORT, the model being the fake Messages API at $FAKE_API_URL
 * (the real SDK client over loopback). Its tools each append one line to
 * $EFFECTS_FILE; a tool whose `$EFFECTS_FILE.hold-<name>` file exists stops
 * after its side effect and waits (the test kills the worker there: a tool
 * cut off mid-execution). Prints `ready` once listening.
 */
import { appendFileSync, existsSync } from 'node:fs';
import http2 from 'node:http2';
import Anthropic from '@anthropic-ai/sdk';
import * as restate from '@restatedev/restate-sdk';
import type { RunnableTool } from '../../../src/controller/index.js';
import { turnObject } from '../../../src/restate/index.js';

const effects = process.env.EFFECTS_FILE!;
const progress = `${effects}.progress`;

const sideEffectTool = (name: string, retrySafe: boolean): RunnableTool<{ tag?: string }> => ({
  name,
  description: `appends a line to the effects file${retrySafe ? ' (idempotent enough to retry)' : ''}`,
  input_schema: { type: 'object', properties: { tag: { type: 'string' } } },
  retrySafe,
  run: async (input) => {
    appendFileSync(effects, `${name} ${input.tag ?? ''}\n`);
    if (existsSync(`${effects}.hold-${name}`)) {
      appendFileSync(progress, `holding ${name}\n`);
      await new Promise(() => {});
    }
    return `${name} wrote ${input.tag ?? ''}`;
  },
});

const tools = [sideEffectTool('write_a', false), sideEffectTool('write_b', false), sideEffectTool('write_c', true)];
const client = new Anthropic({ apiKey: 'test-key', baseURL: process.env.FAKE_API_URL!, maxRetries: 0 });

const conversation = turnObject({
  name: 'conversation',
  params: { model: 'claude-test', max_tokens: 256 },
  tools,
  client,
  settings: { retry: { baseDelayMs: 20, maxDelayMs: 40 }, toolConcurrency: 4 },
});

const endpoint = restate.endpoint().bind(conversation);
const server = http2.createServer(endpoint.http2Handler());
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
