/**
 * Issue 6 C12: a source that stops sending fails as SseError `stalled` after
 * `idleTimeoutMs`, keeping the partial; any chunk restarts the wait; the
 * stalled connection is closed; the timer never outlives the read; and the
 * controller retries a stall like a dropped connection. Over the real SDK
 * client and a real loopback socket (the fake API's `stallAfterBytes`).
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { iterateTurn, parseTurn, SseError } from '../../src/index.js';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../src/turn/parse.js';
import { startRun } from '../../src/controller/index.js';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi, type FakeReply } from '../../src/testing/index.js';

const body = sseFromMessage({ content: [{ type: 'text', text: 'Hello there, a fairly long reply.' }], stopReason: 'end_turn' });
const cutAt = body.indexOf('event: content_block_delta');
const midText = body.indexOf('event: content_block_stop');

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function sdkResponse(replies: FakeReply[]): Promise<{ client: Anthropic; response: () => Promise<Response> }> {
  api = await startFakeMessagesApi({ replies });
  const client = new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
  return {
    client,
    response: () => client.beta.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true }).asResponse(),
  };
}

const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('C12: idle timeout', () => {
  it('a body that stops mid-stream fails as stalled, keeping the partial, and its connection is closed', async () => {
    const { response } = await sdkResponse([{ body, stallAfterBytes: midText }]);
    const result = await parseTurn(await response(), { idleTimeoutMs: 300 });
    expect(result.ok).toBe(false);
    expect(result.error).toBeInstanceOf(SseError);
    expect(result.error?.code).toBe('stalled');
    const eventsBefore = body.slice(0, midText).split('\n\n').length - 1;
    expect(result.error?.eventIndex).toBe(eventsBefore);
    expect((result.error as SseError).partial).toBe(result.message);
    expect((result.message?.content[0] as { text: string }).text).toBe('Hello there, a fairly long reply.');
    // The client cancelled the body: the fake sees its response close.
    await expect.poll(() => api!.openResponses(), { timeout: 10_000 }).toBe(0);
  });

  it('a body that sends nothing after the headers fails as stalled (eventIndex 0)', async () => {
    const { response } = await sdkResponse([{ body: '', hang: true }]);
    const result = await parseTurn(await response(), { idleTimeoutMs: 300 });
    expect(result.error?.code).toBe('stalled');
    expect(result.error?.eventIndex).toBe(0);
    expect(result.message).toBeNull();
  });

  it('iterateTurn stalls too, and yields what arrived before it', async () => {
    const { response } = await sdkResponse([{ body, stallAfterBytes: midText }]);
    const it = iterateTurn(await response(), { idleTimeoutMs: 300 });
    const texts: string[] = [];
    let r = await it.next();
    for (; !r.done; r = await it.next()) if (r.value.type === 'text') texts.push(r.value.args[0] as string);
    expect(r.value.error?.code).toBe('stalled');
    expect(texts.join('')).toBe('Hello there, a fairly long reply.');
  });

  it('any chunk restarts the wait: pings (and single bytes) slower in total than the limit keep the stream alive', async () => {
    const bytes = new TextEncoder().encode(body);
    const ping = 'event: ping\ndata: {"type": "ping"}\n\n';
    // 30 pings, then the body one byte a time at the end; the whole read takes far longer than 1 s.
    const pieces: string[] = [...Array.from({ length: 30 }, () => ping)];
    async function* source(): AsyncGenerator<string | Uint8Array> {
      yield bytes.subarray(0, cutAt);
      for (const p of pieces) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        yield p;
      }
      yield bytes.subarray(cutAt);
    }
    const started = Date.now();
    const result = await parseTurn(source(), { idleTimeoutMs: 1000 });
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect(result.ok, String(result.error)).toBe(true);
  });

  it('time spent by the consumer between iterateTurn steps does not count', async () => {
    const it = iterateTurn((async function* () {
      yield body;
    })(), { idleTimeoutMs: 100 });
    let r = await it.next();
    for (; !r.done; r = await it.next()) await new Promise((resolve) => setTimeout(resolve, 150));
    expect(r.value.ok).toBe(true);
  });

  it('the timer does not outlive the read (no Timeout handle left), for a finished, a failed and a stalled read', async () => {
    const before = timeouts();
    const chunks = async function* () {
      yield body;
    };
    expect((await parseTurn(chunks(), { idleTimeoutMs: 600_000 })).ok).toBe(true);
    expect(timeouts()).toBe(before);
    const failing = async function* () {
      yield body.slice(0, 40);
      throw new Error('connection reset');
    };
    expect((await parseTurn(failing(), { idleTimeoutMs: 600_000 })).error?.code).toBe('source_failed');
    expect(timeouts()).toBe(before);
    const stuck = async function* () {
      yield body.slice(0, 40);
      await new Promise(() => {});
    };
    expect((await parseTurn(stuck(), { idleTimeoutMs: 50 })).error?.code).toBe('stalled');
    expect(timeouts()).toBe(before);
  });

  it('has a documented default, 0 / Infinity / past setTimeout’s range mean no limit, and a bad value is a RangeError', async () => {
    expect(DEFAULT_IDLE_TIMEOUT_MS).toBe(120_000);
    for (const idleTimeoutMs of [0, Infinity, 2 ** 40]) expect((await parseTurn(body, { idleTimeoutMs })).ok).toBe(true);
    for (const idleTimeoutMs of [-1, NaN]) await expect(parseTurn(body, { idleTimeoutMs })).rejects.toThrow(RangeError);
  });

  it('the controller retries a stall like a dropped connection, logged in result.retries', async () => {
    api = await startFakeMessagesApi({ replies: [{ body, stallAfterBytes: midText }, body] });
    const client = new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
    const result = await startRun({
      params: { model: 'claude-sonnet-4-6', max_tokens: 64 },
      messages: 'hi',
      client,
      checkpoint: false,
      idleTimeoutMs: 300,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    }).settled;
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Hello there, a fairly long reply.');
    expect(result.retries.map((r) => [r.segment, r.attempt, r.code])).toEqual([[0, 1, 'stalled']]);
    expect(api.requests).toHaveLength(2);
  });
});
