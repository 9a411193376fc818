import Anthropic from '@anthropic-ai/sdk';
import type { BetaContentBlock, BetaMessage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { parseTurn as defaultParseTurn, type ParseOptions } from '../turn/parse.js';
import type { CompleteTurn, TurnResult } from '../turn/types.js';
import type { StreamSource } from '../sse/sources.js';
import { MAX_INPUT_DEPTH, tooDeepInput } from './history.js';
import { SegmentFailure } from './retry.js';
import type { StreamRequestParams } from './types.js';

/**
 * What a model returns for one request: anything the stream layer parses
 * (a fetch `Response`, bytes, text, a Node or web stream, an iterable of raw
 * events), optionally with the request id for the segment log. A `Response`
 * carries its own `request-id` header.
 */
export type ModelStream = StreamSource | { readonly source: StreamSource; readonly requestId?: string | null };

/**
 * The one thing the controller needs from a model: start a streaming request.
 * `signal` aborts it (deadline, caller); an implementation should pass it on.
 * Throwing means the request failed before a stream existed (`request_failed`,
 * not retried: HTTP-level retries are the client's job).
 */
export type CreateStream = (params: StreamRequestParams, signal: AbortSignal) => Promise<ModelStream> | ModelStream;

/** `parseTurn`'s signature, injectable so tests can count or wrap it. */
export type ParseTurn = (source: StreamSource, options: ParseOptions) => Promise<TurnResult>;

/**
 * What turnstate calls on an Anthropic SDK client, typed by shape. The
 * client's class type would not do: its `#private` members make a client from
 * another copy of the SDK (the user's own install, another version) a
 * different type, though it works the same.
 */
export interface SdkClient {
  readonly beta: {
    readonly messages: {
      create(
        params: StreamRequestParams & { stream: true },
        options?: { signal?: AbortSignal | null | undefined },
      ): { asResponse(): Promise<Response> };
    };
  };
}

/**
 * The default model: the Anthropic SDK client (reading ANTHROPIC_API_KEY /
 * ANTHROPIC_AUTH_TOKEN and ANTHROPIC_BASE_URL as the SDK does), asked for the
 * *raw* streaming response. `asResponse()` on the `APIPromise` of
 * `beta.messages.create({ stream: true })` resolves to the fetch `Response`
 * once headers arrive — after the SDK's own HTTP retries (its `maxRetries`)
 * and status checks — without the SDK touching the body, so turnstate parses
 * the bytes strictly itself.
 */
export function sdkCreateStream(client: SdkClient = new Anthropic()): CreateStream {
  return async (params, signal) => {
    const response = await client.beta.messages.create({ ...params, stream: true }, { signal }).asResponse();
    return response;
  };
}

function sourceOf(stream: ModelStream): { source: StreamSource; requestId: string | null } {
  if (typeof Response !== 'undefined' && stream instanceof Response) {
    return { source: stream, requestId: stream.headers.get('request-id') };
  }
  if (stream !== null && typeof stream === 'object' && 'source' in stream && !(Symbol.asyncIterator in stream) && !(Symbol.iterator in stream)) {
    const source = stream.source;
    const requestId = stream.requestId ?? (typeof Response !== 'undefined' && source instanceof Response ? source.headers.get('request-id') : null);
    return { source, requestId };
  }
  return { source: stream as StreamSource, requestId: null };
}

export interface SegmentResponse {
  readonly turn: CompleteTurn;
  readonly message: BetaMessage;
  readonly requestId: string | null;
  readonly startedAt: number;
  readonly durationMs: number;
}

export interface RequestSegmentOptions {
  readonly createStream: CreateStream;
  readonly parse: ParseTurn;
  readonly params: StreamRequestParams;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly onText?: ((delta: string, blockIndex: number) => void) | undefined;
  readonly onBlock?: ((block: BetaContentBlock, blockIndex: number) => void) | undefined;
  readonly idleTimeoutMs?: number | undefined;
}

/**
 * One model request, start to verdict. Resolves only for a complete, valid
 * stream; every other outcome rejects with a {@link SegmentFailure} whose
 * `kind`/`code` the machine's guards branch on.
 */
export async function requestSegment(options: RequestSegmentOptions): Promise<SegmentResponse> {
  const { signal, now } = options;
  const startedAt = now();
  let stream: ModelStream;
  try {
    signal.throwIfAborted();
    stream = await options.createStream(options.params, signal);
  } catch (error) {
    if (signal.aborted) throw new SegmentFailure('aborted', 'aborted', 'the request was aborted', { cause: signal.reason });
    const message = error instanceof Error ? error.message : String(error);
    const requestId = (error as { requestID?: string | null } | null)?.requestID ?? null;
    throw new SegmentFailure('request', 'request_failed', `the model request failed: ${message}`, { cause: error, requestId });
  }
  const { source, requestId } = sourceOf(stream);
  const on: NonNullable<ParseOptions['on']> = {};
  // The controller's events carry the block index, which the SDK-ordered listeners do not: read it off the event.
  const { onText, onBlock } = options;
  if (onText || onBlock) {
    let stopped = -1;
    on.event = (event) => {
      if (event.type === 'content_block_delta') {
        const { delta, index } = event as { delta: { type: string; text?: string }; index: number };
        if (onText && delta.type === 'text_delta') onText(delta.text as string, index);
      } else if (event.type === 'content_block_stop') stopped = (event as { index: number }).index;
    };
    if (onBlock) on.contentBlock = (block) => onBlock(block, stopped);
  }
  const parseOptions: ParseOptions = {
    signal,
    ...(options.onText || options.onBlock ? { on } : {}),
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
  };
  const turn = await options.parse(source, parseOptions);
  const durationMs = now() - startedAt;
  if (turn.ok) {
    const deep = tooDeepInput(turn.message);
    if (deep !== null) {
      // Refused before anything is recorded: the journal and the next request could not serialise it.
      const what = `${deep.type} block ${deep.index}${deep.name === null ? '' : ` ('${deep.name}')`}`;
      throw new SegmentFailure('stream', 'input_too_deep', `the response's ${what} has input nested deeper than ${MAX_INPUT_DEPTH} levels, more than the controller can journal and send back`, {
        requestId,
        cause: turn,
        partialUsage: turn.message.usage,
        durationMs,
      });
    }
    return { turn, message: turn.message, requestId, startedAt, durationMs };
  }
  const error = turn.error as { code: string; message: string; apiErrorType?: string | null; requestId?: string | null };
  if (signal.aborted || error.code === 'aborted') {
    throw new SegmentFailure('aborted', 'aborted', 'the stream was aborted', { cause: signal.reason ?? turn.error, requestId, durationMs });
  }
  throw new SegmentFailure('stream', error.code, error.message, {
    apiErrorType: error.apiErrorType ?? null,
    requestId: error.requestId ?? requestId,
    cause: turn.error,
    partialUsage: turn.message?.usage ?? null,
    durationMs,
  });
}

export { defaultParseTurn };
