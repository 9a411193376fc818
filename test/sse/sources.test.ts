import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTurn, SseError, StreamError } from '../../src/index.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { repoRoot } from '../support/corpus.js';

const recording = (name: string) => readFileSync(join(repoRoot, 'recordings', name));
const bytes = recording('tool-use-parallel-3.sse');
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const expected = plain((await parseTurn(bytes)).message);

function* chunks(of: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < of.length; i += size) yield of.subarray(i, i + size);
}

describe('every accepted kind of source gives the same message', () => {
  const sources: [string, () => unknown][] = [
    ['a whole Buffer', () => bytes],
    ['a whole string', () => bytes.toString('utf8')],
    ['an ArrayBuffer', () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)],
    ['a fetch Response', () => new Response(bytes)],
    ['a web ReadableStream', () => new Response(bytes).body],
    ['a Node Readable of 7-byte chunks', () => Readable.from([...chunks(bytes, 7)].map((c) => Buffer.from(c)))],
    ['an async iterable of strings', () => (async function* () { yield* bytes.toString('utf8').match(/[\s\S]{1,13}/g)!; })()],
    ['a sync iterable of 1-byte chunks', () => chunks(bytes, 1)],
  ];
  for (const [name, make] of sources) {
    it(name, async () => {
      const result = await parseTurn(make() as never);
      expect(result.error).toBeNull();
      expect(plain(result.message)).toEqual(expected);
    });
  }

  it('anything else is a typed unsupported_source error', async () => {
    const result = await parseTurn(42 as never);
    expect(result.ok).toBe(false);
    expect(result.error).toBeInstanceOf(SseError);
    expect(result.error?.code).toBe('unsupported_source');
  });

  it('a source that throws midway fails with source_failed and keeps the partial message', async () => {
    const half = bytes.subarray(0, Math.floor(bytes.length / 2));
    const result = await parseTurn((async function* () {
      yield half;
      throw new Error('socket hang up');
    })());
    expect(result.error).toMatchObject({ code: 'source_failed' });
    expect(result.message?.content.length).toBeGreaterThan(0);
  });

  it('an AbortSignal stops a stuck source at once with `aborted`, keeping what arrived', async () => {
    const controller = new AbortController();
    const stuck = (async function* () {
      yield bytes.subarray(0, bytes.indexOf('event: content_block_start'));
      await new Promise(() => {});
    })();
    setTimeout(() => controller.abort(), 20);
    const result = await parseTurn(stuck, { signal: controller.signal });
    expect(result.error).toMatchObject({ code: 'aborted' });
    expect(result.message).not.toBeNull();
  });
});

describe('through the real SDK client over a loopback socket', () => {
  let api: FakeMessagesApi;
  let client: Anthropic;
  beforeAll(async () => {
    api = await startFakeMessagesApi();
    client = new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
  });
  afterAll(() => api.close());

  it('parses the raw bytes of `messages.create({ stream: true }).asResponse()`, chunked on the wire', async () => {
    api.enqueue({ body: bytes, chunkSize: 5 });
    const response = await client.beta.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true }).asResponse();
    const result = await parseTurn(response);
    expect(plain(result.message)).toEqual(expected);
  });

  it("accepts the SDK's own event iterator (already-parsed events)", async () => {
    api.enqueue(bytes);
    const stream = await client.beta.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const result = await parseTurn(stream);
    expect(result.ok).toBe(true);
    expect(result.eventCount).toBeLessThan((await parseTurn(bytes)).eventCount); // the SDK swallows pings
    expect(plain(result.message)).toEqual(expected);
  });

  it("an `event: error` seen by the SDK's iterator still becomes a typed api_error with the partial message", async () => {
    api.enqueue(recording('error-event-overloaded.sse'));
    const stream = await client.beta.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const result = await parseTurn(stream);
    expect(result.error).toBeInstanceOf(StreamError);
    expect(result.error).toMatchObject({ code: 'api_error', apiErrorType: 'overloaded_error' });
    expect(result.message?.content[0]).toMatchObject({ type: 'text' });
  });

  it('a connection dropped mid-stream is source_failed or incomplete_stream, never a crash, and keeps the partial', async () => {
    api.enqueue({ body: bytes, dropAfterBytes: Math.floor(bytes.length / 2) });
    const response = await client.beta.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true }).asResponse();
    const result = await parseTurn(response);
    expect(['source_failed', 'incomplete_stream']).toContain(result.error?.code);
    expect(result.message?.content.length).toBeGreaterThan(0);
  });
});
