/**
 * Every chaos option, on a recording served back, through the real SDK
 * client and turnstate's two ways in — `streamMessage` (the drop-in for
 * `client.messages.stream`) and `startRun` (the controller) — gives exactly
 * the typed error or the retry they promise:
 *
 * | option                | streamMessage                                   | startRun                               |
 * |-----------------------|-------------------------------------------------|----------------------------------------|
 * | cut after event N     | SseError source_failed, eventIndex N, partial   | retried (source_failed), completed     |
 * | cut after byte B      | SseError source_failed, events before B         | retried (source_failed), completed     |
 * | stall T ms at event N | SseError stalled (idleTimeoutMs < T), or late   | retried (stalled), completed           |
 * | event: error at N     | StreamError api_error + apiErrorType, partial   | retried (api_error), completed         |
 * | HTTP 429/529          | the SDK's RateLimitError / 529 APIError; or the SDK retries after retry-after | request_failed; or the SDK's retry |
 * | slow drip             | the recorded message                            | completed, the recorded transcript     |
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StreamError } from '../../machines/stream.errors.js';
import { startRun, sdkCreateStream } from '../../src/controller/index.js';
import { SseError } from '../../src/sse/errors.js';
import { loadCassetteDir, type Cassette } from '../../src/testing/cassette.js';
import type { ChaosRule } from '../../src/testing/chaos.js';
import { startCassetteServer, type CassetteServer } from '../../src/testing/serve.js';
import { parseTurn } from '../../src/turn/parse.js';
import { streamMessage } from '../../src/turn/stream-message.js';
import type { TurnStreamOptions } from '../../src/turn/turn-stream.js';
import { add, recordRun, toolTurn } from './cassette-support.js';

let server: CassetteServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

let cassettes: Cassette[];
let recordedMessages: unknown[];
beforeAll(async () => {
  const recorded = await recordRun();
  recordedMessages = recorded.upstreamMessages;
  cassettes = await loadCassetteDir(recorded.dir);
});

const body = Buffer.from(toolTurn);
/** Event ends of the first recording, found without turnstate's scanner. */
const ends: number[] = [];
for (let at = body.indexOf('\n\n'); at !== -1; at = body.indexOf('\n\n', at + 2)) ends.push(at + 2);
const recorded = () => parseTurn(toolTurn).then((r) => r.message!);

async function client(chaos: ChaosRule | ChaosRule[], maxRetries = 0): Promise<Anthropic> {
  await server?.close();
  server = await startCassetteServer({ cassettes, lockdown: true, chaos });
  return new Anthropic({ apiKey: 'replay', baseURL: server.url, maxRetries });
}

/** The first recorded request through streamMessage; resolves with the final message or the error it failed with. */
async function viaStreamMessage(sdk: Anthropic, turnstate: TurnStreamOptions = {}) {
  const { stream: _stream, ...params } = cassettes[0]!.meta.request.params as Anthropic.Beta.MessageCreateParamsStreaming;
  const stream = streamMessage(sdk.beta, params, { turnstate });
  const errors: unknown[] = [];
  stream.on('error', (e) => void errors.push(e));
  const outcome = await stream.finalMessage().then((message) => ({ message, error: null }), (error: unknown) => ({ message: null, error }));
  // The error event and the rejection carry the same error.
  if (outcome.error !== null) expect(errors).toEqual([outcome.error]);
  return outcome;
}

/** The recorded run (tool_use, then end_turn) through the controller. */
const viaStartRun = (sdk: Anthropic, extra: { idleTimeoutMs?: number } = {}) =>
  startRun({
    params: { model: 'claude-sonnet-4-6', max_tokens: 64 },
    messages: 'What is 2 + 3?',
    tools: [add],
    createStream: sdkCreateStream(sdk),
    checkpoint: false,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...extra,
  }).settled;

describe('chaos through the real SDK client and turnstate', () => {
  it('cut after event N: SseError source_failed at event N with the partial message; the controller retries it', async () => {
    const { error } = await viaStreamMessage(await client({ cutAfterEvent: 4 }));
    expect(error).toBeInstanceOf(SseError);
    expect(error).toMatchObject({ code: 'source_failed', eventIndex: 4 });
    expect((error as SseError).partial?.content[0]).toMatchObject({ type: 'text' });
    const run = await viaStartRun(await client({ request: 1, cutAfterEvent: 4 }));
    expect(run.status).toBe('completed');
    expect(run.retries.map((r) => r.code)).toEqual(['source_failed']);
    expect(run.messages).toEqual(recordedMessages);
  });

  it('cut after byte B (between events, inside an event, inside a UTF-8 character): source_failed after the events before B', async () => {
    const inChar = body.indexOf('ü') + 1;
    for (const b of [ends[2]!, ends[2]! + 7, inChar]) {
      const { error } = await viaStreamMessage(await client({ cutAfterByte: b }));
      expect(error, `cut at byte ${b}`).toBeInstanceOf(SseError);
      expect(error, `cut at byte ${b}`).toMatchObject({ code: 'source_failed', eventIndex: ends.filter((e) => e <= b).length });
    }
    const run = await viaStartRun(await client({ request: 1, cutAfterByte: inChar }));
    expect(run.status).toBe('completed');
    expect(run.retries.map((r) => r.code)).toEqual(['source_failed']);
  });

  it('stall T ms at event N: longer than idleTimeoutMs is SseError stalled at event N, and the controller retries it; shorter only delays', async () => {
    const { error } = await viaStreamMessage(await client({ stallAtEvent: 3, stallMs: 6_000 }), { idleTimeoutMs: 1_000 });
    expect(error).toBeInstanceOf(SseError);
    expect(error).toMatchObject({ code: 'stalled', eventIndex: 3 });
    const run = await viaStartRun(await client({ request: 1, stallAtEvent: 3, stallMs: 6_000 }), { idleTimeoutMs: 1_000 });
    expect(run.status).toBe('completed');
    expect(run.retries.map((r) => r.code)).toEqual(['stalled']);
    const late = await viaStreamMessage(await client({ stallAtEvent: 3, stallMs: 200 }), { idleTimeoutMs: 30_000 });
    expect(late.error).toBeNull();
    expect(late.message).toMatchObject(await recorded());
  });

  it('event: error at event N (overloaded_error, api_error): StreamError api_error with the type and the partial; the controller retries both', async () => {
    for (const errorType of ['overloaded_error', 'api_error']) {
      const { error } = await viaStreamMessage(await client({ errorAtEvent: 3, errorType }));
      expect(error).toBeInstanceOf(StreamError);
      expect(error).toMatchObject({ code: 'api_error', apiErrorType: errorType, eventIndex: 3 });
      expect((error as StreamError).partial?.content).toHaveLength(1);
      const run = await viaStartRun(await client({ request: 1, errorAtEvent: 3, errorType }));
      expect(run.status).toBe('completed');
      expect(run.retries).toEqual([expect.objectContaining({ code: 'api_error' })]);
    }
  });

  it('HTTP 429 / 529: the SDK\'s own typed errors (HTTP is its job), and with retries left it waits retry-after and succeeds', async () => {
    const limited = await viaStreamMessage(await client({ status: 429, retryAfter: 1 }));
    expect(limited.error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited.error as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('1');
    const overloaded = await viaStreamMessage(await client({ status: 529 }));
    expect(overloaded.error).toBeInstanceOf(Anthropic.APIError);
    expect(overloaded.error).toMatchObject({ status: 529, error: { error: { type: 'overloaded_error' } } });
    const t0 = performance.now();
    const retried = await viaStreamMessage(await client({ request: 1, status: 429, retryAfter: 1 }, 1));
    // retry-after: 1 is a lower bound on the wait; a loaded machine only makes it longer.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(retried.message).toMatchObject(await recorded());
    expect(server!.served.map((s) => s.chaos?.status ?? null)).toEqual([429, null]);
    // The controller: no second layer of HTTP retries (request_failed), or the SDK's retry underneath and a completed run.
    const failed = await viaStartRun(await client({ status: 529 }));
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'request_failed' });
    const completed = await viaStartRun(await client({ request: 1, status: 429, retryAfter: 1 }, 1));
    expect(completed.status).toBe('completed');
    expect(completed.retries).toEqual([]);
    expect(server!.served.map((s) => s.chaos?.status ?? null)).toEqual([429, null, null]);
  });

  it('slow drip: BYTES every MS, and the recorded message / transcript at the end', async () => {
    const drip = { drip: { bytes: 48, intervalMs: 5 } };
    const texts: string[] = [];
    const sdk = await client(drip);
    const { stream: _stream, ...params } = cassettes[0]!.meta.request.params as Anthropic.Beta.MessageCreateParamsStreaming;
    const message = await streamMessage(sdk.beta, params).on('text', (delta) => void texts.push(delta)).finalMessage();
    expect(message).toMatchObject(await recorded());
    expect(texts.join('')).toBe('Let me add those: ünïcödé ✓');
    const run = await viaStartRun(await client(drip));
    expect(run.status).toBe('completed');
    expect(run.retries).toEqual([]);
    expect(run.messages).toEqual(recordedMessages);
  });
});
