/**
 * The drop-in test: one SDK-style consumer, run against the real SDK's
 * `client.messages.stream()` / `client.beta.messages.stream()` and against
 * turnstate's `streamMessage(client, …)` / `streamMessage(client.beta, …)`,
 * the same real SDK client over a loopback socket (the fake Messages API),
 * on the same recordings. Every valid stream must give identical observations.
 */
import { readdirSync, readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { MessageStream } from '@anthropic-ai/sdk/lib/MessageStream';
import { BetaMessageStream } from '@anthropic-ai/sdk/lib/BetaMessageStream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StopReasonError, TurnStream, TurnstateError, parseTurnSync, streamMessage } from '../../src/index.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { corpusFiles } from '../support/corpus.js';

type Obs = unknown[];
/** Messages of every error/abort seen, printed when a comparison fails. */
const errorsSeen: string[] = [];
/** What both kinds of stream offer the consumer (the SDK's surface). */
interface Consumable {
  on(event: string, listener: (...args: any[]) => void): unknown;
  done(): Promise<void>;
  finalMessage(): Promise<unknown>;
  finalText(): Promise<string>;
  abort(): void;
  toReadableStream(): ReadableStream;
  [Symbol.asyncIterator](): AsyncIterator<{ type: string }>;
}

const STOP_FIELDS = ['stop_reason', 'stop_sequence', 'stop_details'];
/**
 * A deep copy taken when observed (both libraries build the message in place).
 * Stop fields that are null are left out: before message_delta the SDK has
 * them null and turnstate hides them (the stop-reason guard, checked apart).
 */
function copy(value: unknown): unknown {
  if (value === undefined) return '<undefined>';
  return JSON.parse(JSON.stringify(value), function (key, v) {
    if (STOP_FIELDS.includes(key) && v === null && 'content' in this) return undefined;
    return v;
  });
}

/**
 * The snapshot, but for an input_json_delta the open tool block's `input`
 * is left out: the SDK's is a lazy partial parse, turnstate's stays as
 * content_block_start gave it until content_block_stop (jsonSnapshot, in
 * inputJson, is where turnstate gives the partial value; checked below).
 */
function snapshotCopy(event: { type: string; delta?: { type: string } }, snapshot: unknown): unknown {
  const copied = copy(snapshot) as { content: Record<string, unknown>[] };
  if (event.type === 'content_block_delta' && event.delta?.type === 'input_json_delta') delete copied.content.at(-1)!['input'];
  return copied;
}

const BETA_ONLY_FIELDS = /"(iterations|fallback_credit|context_management|input_transformations)"/;

const LISTENERS = ['connect', 'streamEvent', 'text', 'citation', 'inputJson', 'thinking', 'signature', 'contentBlock', 'message', 'finalMessage', 'error', 'abort', 'end'];

/** Records every listener call, the iteration, and the promises, in order. */
async function consume(stream: Consumable, opts: { abortAfter?: number } = {}): Promise<Obs> {
  const obs: Obs = [];
  let calls = 0;
  let aborted = false;
  let lastJson: unknown = null;
  for (const name of LISTENERS) {
    stream.on(name, (...args: unknown[]) => {
      if (name === 'error' || name === 'abort') {
        // The kind only: the error classes differ by design. The message goes to a side list, for a failing test's report.
        errorsSeen.push(String((args[0] as Error)?.message));
        return void obs.push([name]);
      }
      if (aborted && name !== 'end') return; // after abort() the two may differ in what was already buffered
      if (name === 'inputJson') {
        // jsonSnapshot differs by design mid-string (see below): compared once the block's JSON is whole.
        obs.push([name, args[0]]);
        lastJson = copy(args[1]);
      } else if (name === 'contentBlock' && lastJson !== null) {
        obs.push(['last jsonSnapshot', lastJson]);
        lastJson = null;
      }
      if (name === 'streamEvent') obs.push([name, copy(args[0]), snapshotCopy(args[0] as { type: string; delta?: { type: string } }, args[1])]);
      else if (name !== 'inputJson') obs.push([name, ...args.map(copy)]);
      if (opts.abortAfter !== undefined && ++calls === opts.abortAfter) {
        aborted = true;
        obs.push(['abort() called']);
        stream.abort();
      }
    });
  }
  const iterated: string[] = [];
  const iteration = (async () => {
    try {
      for await (const event of stream) iterated.push(event.type);
    } catch {
      iterated.push('<rejected>');
    }
  })();
  const settle = async (what: string, p: Promise<unknown>) => {
    try {
      obs.push([what, copy(await p)]);
    } catch {
      obs.push([what, '<rejected>']);
    }
  };
  await settle('done()', stream.done());
  await settle('finalMessage()', stream.finalMessage());
  await settle('finalText()', stream.finalText());
  await iteration;
  if (!aborted) obs.push(['iterated', iterated]);
  return obs;
}

interface Recording {
  name: string;
  bytes: Uint8Array;
}
const recordings: Recording[] = readdirSync(new URL('../../recordings/', import.meta.url))
  .filter((n) => n.endsWith('.sse'))
  .map((name) => ({ name: `recordings/${name}`, bytes: new Uint8Array(readFileSync(new URL(`../../recordings/${name}`, import.meta.url))) }));
const corpus = corpusFiles().map((f) => ({ name: `corpus/${f.name}`, bytes: new Uint8Array(f.bytes) }));

let api: FakeMessagesApi;
let body: Uint8Array = new Uint8Array();
let client: Anthropic;
beforeAll(async () => {
  api = await startFakeMessagesApi({ replies: () => ({ body, chunkSize: 89, headers: { 'request-id': 'req_dropin' } }) });
  client = new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
});
afterAll(() => api.close());

const params = { model: 'claude-opus-4-7', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'hi' }] };
type Shape = 'messages' | 'beta';
const sdkStream = (shape: Shape): Consumable => (shape === 'beta' ? client.beta.messages.stream(params) : client.messages.stream(params)) as unknown as Consumable;
const ourStream = (shape: Shape): Consumable => streamMessage(shape === 'beta' ? client.beta : client, params) as unknown as Consumable;

/** The verdict turnstate gives the bytes: which streams are valid, and what max_tokens dropped. */
const verdictOf = (bytes: Uint8Array) => parseTurnSync(bytes);

async function observeBoth(rec: Recording, shape: Shape, run: (make: () => Consumable) => Promise<Obs>): Promise<{ sdk: Obs; ours: Obs }> {
  body = rec.bytes;
  const sdk = await run(() => sdkStream(shape));
  const ours = await run(() => ourStream(shape));
  return { sdk, ours };
}

function dropInSuite(label: string, files: () => Recording[]) {
  describe(`drop-in: the same consumer, the SDK vs turnstate — ${label}`, () => {
    it('identical observations on every valid stream (listeners, promises, iteration), both client shapes', async () => {
      let compared = 0;
      for (const rec of files()) {
        const verdict = verdictOf(rec.bytes);
        if (!verdict.ok || verdict.dropped.length > 0 || verdict.invalidToolInputs.length > 0) continue;
        for (const shape of ['messages', 'beta'] as const) {
          // Beta-only blocks: the non-beta accumulator ignores compaction deltas and mcp_tool_use input; turnstate assembles them as the beta one does.
          // So are the beta-only fields message_delta can carry (usage.iterations, context_management, …).
          if (shape === 'messages' && (verdict.message.content.some((b) => b.type === 'compaction' || b.type.startsWith('mcp_')) || BETA_ONLY_FIELDS.test(new TextDecoder().decode(rec.bytes)))) continue;
          const { sdk, ours } = await observeBoth(rec, shape, (make) => consume(make()));
          expect(ours, `${rec.name} (${shape}); errors: ${errorsSeen.slice(-3).join(' | ')}`).toEqual(sdk);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(0);
    }, 240_000);

    it('toReadableStream() → fromReadableStream(): identical observations on the far side', async () => {
      for (const rec of files()) {
        const verdict = verdictOf(rec.bytes);
        if (!verdict.ok || verdict.dropped.length > 0 || verdict.invalidToolInputs.length > 0) continue;
        body = rec.bytes;
        const sdkFar = consume(BetaMessageStream.fromReadableStream(sdkStream('beta').toReadableStream()) as unknown as Consumable);
        const sdk = await sdkFar;
        const ours = await consume(TurnStream.fromReadableStream(ourStream('beta').toReadableStream()) as unknown as Consumable);
        expect(ours, `${rec.name}; errors: ${errorsSeen.slice(-3).join(' | ')}`).toEqual(sdk);
        // And across: the SDK's reader reads turnstate's wire format.
        const mixed = await consume(MessageStream.fromReadableStream(ourStream('messages').toReadableStream()) as unknown as Consumable);
        expect(mixed, `${rec.name} (SDK reading turnstate's stream)`).toEqual(await consume(MessageStream.fromReadableStream(sdkStream('messages').toReadableStream()) as unknown as Consumable));
      }
    }, 240_000);

    it('abort() mid-stream: the same observations up to the abort, then abort and end; every promise rejects', async () => {
      for (const rec of files()) {
        const verdict = verdictOf(rec.bytes);
        if (!verdict.ok || verdict.dropped.length > 0 || verdict.invalidToolInputs.length > 0 || verdict.eventCount < 6) continue;
        const { sdk, ours } = await observeBoth(rec, 'beta', (make) => consume(make(), { abortAfter: 4 }));
        expect(ours, rec.name).toEqual(sdk);
        expect(ours).toContainEqual(['abort']);
        expect(ours).toContainEqual(['done()', '<rejected>']);
      }
    }, 240_000);
  });
}

dropInSuite('recordings/', () => recordings);
if (corpus.length > 0) dropInSuite('the shared corpus', () => corpus);

describe('drop-in: where turnstate is deliberately not the SDK', () => {
  it('jsonSnapshot mid-string: turnstate has the string so far, the SDK leaves the unfinished token out', async () => {
    body = recordings.find((r) => r.name.endsWith('tool-use-single.sse'))!.bytes;
    const record = (stream: Consumable) => {
      const snaps: unknown[] = [];
      stream.on('inputJson', (_partial: string, snapshot: unknown) => snaps.push(copy(snapshot)));
      return stream.done().then(() => snaps);
    };
    const sdk = await record(sdkStream('beta'));
    const ours = await record(ourStream('beta'));
    expect(ours.length).toBe(sdk.length);
    expect(ours.at(-1)).toEqual(sdk.at(-1));
    // Wherever they differ, turnstate's value has a key the SDK's lacks (a string being typed), never the reverse.
    const differ = ours.map((o, i) => [o, sdk[i]] as const).filter(([o, k]) => JSON.stringify(o) !== JSON.stringify(k));
    expect(differ.length).toBeGreaterThan(0);
    for (const [o, k] of differ) for (const key of Object.keys(k as object)) expect(o).toHaveProperty(key);
  });

  it('the stop-reason guard: a streamEvent snapshot before message_delta has no stop_reason (reading it throws); the SDK has null', async () => {
    body = recordings.find((r) => r.name.endsWith('end-turn-text.sse'))!.bytes;
    const seen: unknown[] = [];
    const stream = streamMessage(client, params).on('streamEvent', (event, snapshot) => {
      if (event.type !== 'message_start') return;
      try {
        seen.push((snapshot as unknown as { stop_reason: unknown }).stop_reason);
      } catch (error) {
        seen.push(error);
      }
    });
    const message = await stream.finalMessage();
    expect(seen[0]).toBeInstanceOf(StopReasonError);
    expect(message.stop_reason).toBe('end_turn');
    expect(stream.request_id).toBe('req_dropin');
    const { response, request_id } = await stream.withResponse();
    expect(response.status).toBe(200);
    expect(request_id).toBe('req_dropin');
  });

  it('max_tokens mid tool_use: the unclosed block is dropped (and reported), where the SDK keeps it', async () => {
    body = recordings.find((r) => r.name.endsWith('max-tokens-mid-tool-use.sse'))!.bytes;
    const sdk = (await client.beta.messages.stream(params).finalMessage()).content.map((b) => b.type);
    const stream = streamMessage(client.beta, params);
    const ours = (await stream.finalMessage()).content.map((b) => b.type);
    expect(sdk).toContain('tool_use');
    expect(ours).toEqual(sdk.filter((t) => t !== 'tool_use'));
    expect(stream.result?.dropped.map((d) => d.reason)).toEqual(['unclosed']);
  });

  it('fine-grained tool streaming with input that is not JSON: turnstate assembles and reports it, the SDK fails the stream', async () => {
    const cases = recordings.filter((r) => verdictOf(r.bytes).invalidToolInputs.length > 0);
    expect(cases.length).toBeGreaterThan(0);
    for (const rec of cases) {
      body = rec.bytes;
      const sdk = await client.beta.messages.stream(params).finalMessage().then(() => 'resolved', () => 'rejected');
      const stream = streamMessage(client.beta, params);
      const message = await stream.finalMessage();
      expect(sdk, rec.name).toBe('rejected');
      expect(message.stop_reason).toBe('tool_use');
      expect(stream.result?.invalidToolInputs.length).toBeGreaterThan(0);
    }
  });

  it('invalid streams: turnstate rejects every promise with its typed error and the partial, whatever the SDK does', async () => {
    for (const rec of [...recordings, ...corpus]) {
      if (verdictOf(rec.bytes).ok) continue;
      body = rec.bytes;
      const stream = streamMessage(client.beta, params);
      const errors: unknown[] = [];
      stream.on('error', (e) => errors.push(e));
      const rejected = await stream.finalMessage().then(
        () => null,
        (e: unknown) => e,
      );
      expect(rejected, rec.name).toBeInstanceOf(TurnstateError);
      expect(errors).toEqual([rejected]);
      expect(stream.errored).toBe(true);
    }
  });

  it('a listener that throws is reported as listener_failed and changes nothing', async () => {
    body = recordings.find((r) => r.name.endsWith('tool-use-single.sse'))!.bytes;
    const reference = await streamMessage(client, params).finalMessage();
    const stream = streamMessage(client, params)
      .on('text', () => {
        throw new Error('socket gone');
      })
      .on('contentBlock', () => {
        throw new Error('again');
      });
    const seen: string[] = [];
    stream.on('text', (delta) => seen.push(delta));
    expect(await stream.finalMessage()).toEqual(reference);
    expect(seen.join('')).toBe((reference.content.find((b) => b.type === 'text') as { text: string }).text);
    const failed = stream.diagnostics.filter((d) => d.code === 'listener_failed');
    expect(failed.length).toBeGreaterThan(1);
  });
});
