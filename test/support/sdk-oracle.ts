/**
 * Test oracle: what the official Anthropic TypeScript SDK assembles from a given
 * byte stream.
 *
 * The SDK is fed exactly the given bytes as the body of a `200 text/event-stream`
 * response through a custom `fetch`, and its stream helper's `finalMessage()` is
 * returned. Use the BETA accumulator ({@link sdkFinalMessage}) as the reference:
 * the stable one ({@link sdkStableFinalMessage}) ignores `compaction_delta`
 * (compaction content stays `null`) and does not accumulate `mcp_tool_use` input
 * (it stays `{}`), and it does not copy `usage.iterations` or
 * `context_management` from `message_delta`.
 *
 * The result is made comparable with an assembled API message:
 *
 * - it is a JSON round-trip of the SDK's object, so it is a plain,
 *   `structuredClone`-able value. That drops the SDK's non-enumerable helper
 *   properties (`__json_buf` on tool blocks; `parsed_output` and the deprecated
 *   `parsed` getter on text blocks), evaluates the lazy `input` getter the SDK
 *   leaves on tool blocks that never received `content_block_stop`, and drops
 *   keys whose value is `undefined` (the SDK sets `stop_details = undefined`
 *   when a `message_delta` has no `stop_details`, as pre-2025 streams don't);
 * - the enumerable message-level `parsed_output: null` helper is deleted.
 *
 * The oracle is lenient where a strict parser is not: it ignores `event:` names,
 * silently drops deltas for unknown indexes or of the wrong type, accepts events
 * after `message_stop`, and keeps blocks that `max_tokens` left open (with their
 * partial-JSON input). It only fails on invalid JSON, a second `message_start`,
 * a delta before the first block (a TypeError inside the SDK), an
 * `event: error`, or a missing `message_stop`.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { BetaMessage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { Message } from '@anthropic-ai/sdk/resources/messages/messages';

export type OracleResult<M> = { ok: true; message: M } | { ok: false; error: unknown };

/** Helper fields the SDK adds that are not part of the API's message shape. */
const MESSAGE_HELPER_FIELDS = ['parsed_output'] as const;
const BLOCK_HELPER_FIELDS = ['parsed_output', 'parsed', '__json_buf'] as const;

/** Never sent anywhere. The model must not be one the SDK console.warns about as deprecated. */
const REQUEST = {
  model: 'claude-sonnet-4-6',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'oracle' }],
};

function toBytes(input: string | Uint8Array): Uint8Array<ArrayBuffer> {
  // Always copy: the SDK must not see (or hold on to) the caller's buffer.
  return typeof input === 'string' ? new TextEncoder().encode(input) : new Uint8Array(input);
}

function clientFor(input: string | Uint8Array): Anthropic {
  const bytes = toBytes(input);
  return new Anthropic({
    apiKey: 'test',
    baseURL: 'http://oracle.invalid',
    maxRetries: 0,
    // The SDK logs invalid JSON chunks with console.error before throwing; keep test output clean.
    logLevel: 'off',
    fetch: async () =>
      new Response(bytes.slice(), { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
}

/** JSON round-trip, then strip the SDK's helper fields from the message and from each content block. */
function toPlainMessage<M extends { content: unknown[] }>(message: M): M {
  const plain = JSON.parse(JSON.stringify(message)) as M & Record<string, unknown>;
  for (const field of MESSAGE_HELPER_FIELDS) delete plain[field];
  for (const block of plain.content) {
    if (block !== null && typeof block === 'object') {
      for (const field of BLOCK_HELPER_FIELDS) delete (block as Record<string, unknown>)[field];
    }
  }
  return plain;
}

async function settle<M extends { content: unknown[] }>(finalMessage: () => Promise<M>): Promise<OracleResult<M>> {
  try {
    return { ok: true, message: toPlainMessage(await finalMessage()) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The SDK's beta accumulator (`client.beta.messages.stream(...).finalMessage()`) on exactly these bytes. */
export async function sdkFinalMessage(input: string | Uint8Array): Promise<OracleResult<BetaMessage>> {
  const client = clientFor(input);
  return settle<BetaMessage>(() => client.beta.messages.stream(REQUEST).finalMessage());
}

/**
 * The SDK's stable accumulator (`client.messages.stream(...).finalMessage()`) on exactly these bytes.
 * Not a reference: it loses `mcp_tool_use` input and `compaction` content (see the corpus tests).
 */
export async function sdkStableFinalMessage(input: string | Uint8Array): Promise<OracleResult<Message>> {
  const client = clientFor(input);
  return settle<Message>(() => client.messages.stream(REQUEST).finalMessage());
}
