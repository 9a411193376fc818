/**
 * Break: each chaos option on a replayed recording, through the real SDK
 * client and turnstate, gives the typed error (or retry) the stream layer and
 * the controller promise.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTurn } from '../../src/turn/parse.js';
import { TurnParser } from '../../src/turn/turn-parser.js';
import { runTurn, sdkCreateStream, startRun } from '../../src/controller/index.js';
import { eventEnds, loadCassetteDir, type Cassette } from '../../src/testing/cassette.js';
import { startCassetteServer, type CassetteServer, type CassetteServerOptions } from '../../src/testing/serve.js';
import { planResponse, validateChaos } from '../../src/testing/chaos.js';
import { add, recordRun, toolTurn } from './cassette-support.js';

let server: CassetteServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

let cassettes: Cassette[];
let dir: string;
beforeAll(async () => {
  ({ dir } = await recordRun());
  cassettes = await loadCassetteDir(dir);
});

const body = Buffer.from(toolTurn);
const ends = () => eventEnds(new Uint8Array(body));

async function serve(options: Partial<CassetteServerOptions>, sdk: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}) {
  server = await startCassetteServer({ cassettes, lockdown: true, ...options });
  return new Anthropic({ apiKey: 'k', baseURL: server.url, maxRetries: 0, ...sdk });
}
const firstRequest = () => cassettes[0]!.meta.request.params as Anthropic.Beta.MessageCreateParamsStreaming;
const run = (client: Anthropic) =>
  startRun({ params: { model: 'claude-sonnet-4-6', max_tokens: 64 }, messages: 'What is 2 + 3?', tools: [add], createStream: sdkCreateStream(client), checkpoint: false, retry: { baseDelayMs: 1, maxDelayMs: 2 } }).settled;

describe('chaos on replay', () => {
  it('cut after event N: the client gets exactly N events and source_failed; the controller retries and completes', async () => {
    const client = await serve({ chaos: { request: 1, cutAfterEvent: 5 } });
    const turn = await parseTurn(await client.beta.messages.create(firstRequest()).asResponse());
    expect(turn.ok).toBe(false);
    expect(turn.error?.code).toBe('source_failed');
    expect(turn.eventCount).toBe(5);
    await server!.close();
    const again = await serve({ chaos: { request: 1, cutAfterEvent: 5 } });
    const result = await run(again);
    expect(result.status).toBe('completed');
    expect(result.retries).toEqual([expect.objectContaining({ code: 'source_failed' })]);
  });

  it('cut after byte B: exactly B bytes arrive, then the connection breaks', async () => {
    const client = await serve({ chaos: { cutAfterByte: 333 } });
    const response = await client.beta.messages.create(firstRequest()).asResponse();
    const got: Buffer[] = [];
    let failure: unknown = null;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) got.push(Buffer.from(chunk));
    } catch (error) {
      failure = error;
    }
    expect(Buffer.concat(got).equals(body.subarray(0, 333))).toBe(true);
    expect(failure).not.toBeNull();
  });

  it('event: error at event N: StreamError api_error with the type, the partial message kept; the controller retries', async () => {
    for (const errorType of ['overloaded_error', 'api_error']) {
      const client = await serve({ chaos: { request: 1, errorAtEvent: 4, errorType } });
      const turn = await parseTurn(await client.beta.messages.create(firstRequest()).asResponse());
      expect(turn.error).toMatchObject({ code: 'api_error', apiErrorType: errorType, eventIndex: 4 });
      expect(turn.message?.content[0]).toMatchObject({ type: 'text' });
      await server!.close();
      const result = await run(await serve({ chaos: { request: 1, errorAtEvent: 4, errorType } }));
      expect(result.status).toBe('completed');
      expect(result.retries).toEqual([expect.objectContaining({ code: 'api_error' })]);
      await server!.close();
      server = null;
    }
  });

  it('HTTP 429 / 529 with retry-after: the SDK waits that long and retries; with no retries left, its typed error', async () => {
    const limited = await serve({ chaos: { request: 1, status: 429, retryAfter: 1 } }, { maxRetries: 0 });
    const error = await limited.beta.messages.create(firstRequest()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('1');
    await server!.close();
    const overloaded = await serve({ chaos: { request: 1, status: 529, retryAfter: 1 } }, { maxRetries: 1 });
    const t0 = performance.now();
    const turn = await parseTurn(await overloaded.beta.messages.create(firstRequest()).asResponse());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(turn.ok && turn.stopReason).toBe('tool_use');
    expect(server!.served.map((s) => s.chaos?.status ?? null)).toEqual([529, null]);
    await server!.close();
    // The controller does not retry HTTP errors again: request_failed, after the SDK's own retries.
    const result = await run(await serve({ chaos: { status: 529 } }, { maxRetries: 0 }));
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'request_failed' });
  });

  it('stall at event N: nothing arrives for T ms after event N, then the rest', async () => {
    const client = await serve({ chaos: { stallAtEvent: 3, stallMs: 400 } });
    const t0 = performance.now();
    const response = await client.beta.messages.create(firstRequest()).asResponse();
    const at: number[] = [];
    const turn = new TurnParser().on('event', () => void at.push(performance.now()));
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) turn.write(chunk);
    expect(turn.end().ok).toBe(true);
    // Nothing else waits (no pace asked for), so event 4 cannot arrive before the stall is over; a load spike can only make it later.
    expect(at[3]! - t0).toBeGreaterThanOrEqual(400);
  });

  it('slow drip: BYTES every MS, and the same message at the end', async () => {
    const client = await serve({ chaos: { drip: { bytes: 64, intervalMs: 10 } } });
    const t0 = performance.now();
    const response = await client.beta.messages.create(firstRequest()).asResponse();
    const sizes: number[] = [];
    const turn = new TurnParser();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      sizes.push(chunk.length);
      turn.write(chunk);
    }
    const result = turn.end();
    expect(result.ok && result.stopReason).toBe('tool_use');
    // 64-byte pieces 10 ms apart: the body cannot arrive sooner (the reader may join pieces, so their sizes are not checked).
    expect(performance.now() - t0).toBeGreaterThanOrEqual((Math.ceil(body.length / 64) - 1) * 10 * 0.9);
    expect(planResponse(cassettes[0]!, { drip: { bytes: 64, intervalMs: 10 } }, 0).pieces.every((p) => p.bytes.length <= 64)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(body.length);
    const plain = await parseTurn(toolTurn);
    expect(result.message).toEqual(plain.message);
  });

  it('plans cut points at event boundaries, and rejects malformed rules and events past the end', () => {
    const plan = planResponse(cassettes[0]!, { cutAfterEvent: 2 }, 0);
    expect(Buffer.concat(plan.pieces.map((p) => p.bytes)).equals(body.subarray(0, ends()[1]))).toBe(true);
    expect(plan.finish).toBe('destroy');
    expect(() => planResponse(cassettes[0]!, { errorAtEvent: 999 }, 0)).toThrow(/has only \d+ events/);
    expect(() => validateChaos([{ stallAtEvent: 1 }])).toThrow(/stallAtEvent and stallMs go together/);
    expect(() => validateChaos([{ status: 200 }])).toThrow(/HTTP error status/);
    expect(() => validateChaos([{ cutAfterEvent: -1 }])).toThrow(/whole number/);
  });

  it('runTurn over a whole broken run: every first attempt fails differently, and the transcript is still the recorded one', async () => {
    const client = await serve({ chaos: [{ request: 1, cutAfterEvent: 3 }, { request: 3, errorAtEvent: 2 }] });
    const result = await runTurn({ params: { model: 'claude-sonnet-4-6', max_tokens: 64 }, messages: 'What is 2 + 3?', tools: [add], createStream: sdkCreateStream(client), checkpoint: false, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    expect(result.status).toBe('completed');
    expect(result.retries.map((r) => r.code)).toEqual(['source_failed', 'api_error']);
    expect(dir).toBeTruthy();
  });
});
