import type { MessageCreateParamsBase } from '@anthropic-ai/sdk/resources/messages/messages';
import type { BetaMessageParam, MessageCreateParamsBase as BetaMessageCreateParamsBase } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { TurnStream, type TurnStreamOptions } from './turn-stream.js';

/**
 * What `streamMessage` needs of a client: `client` itself (`client.messages`)
 * or `client.beta` (`client.beta.messages`). Structural, so any SDK version
 * (any copy of the package) fits.
 */
export interface MessagesClient {
  readonly messages: {
    create(body: never, options?: never): { asResponse(): Promise<Response> };
  };
}

export type StreamMessageParams = Omit<BetaMessageCreateParamsBase, 'stream'> | Omit<MessageCreateParamsBase, 'stream'>;

/** The SDK's request options (headers, timeout, maxRetries, signal…), plus turnstate's parser options. */
export interface StreamMessageOptions {
  readonly signal?: AbortSignal | null | undefined;
  /** turnstate's options for the parse (`strict`, `maxEventSize`, `idleTimeoutMs`, …). */
  readonly turnstate?: TurnStreamOptions;
  readonly [option: string]: unknown;
}

/**
 * The drop-in for `client.messages.stream(params, options)`: call
 * `streamMessage(client, params, options)` (or `streamMessage(client.beta, …)`
 * for `client.beta.messages.stream`) and keep the rest of the code. The
 * request goes through the client (auth, retries, HTTP errors stay the SDK's),
 * as `create({ ...params, stream: true }).asResponse()`, so turnstate parses
 * the raw bytes itself.
 */
export function streamMessage(client: MessagesClient, params: StreamMessageParams, options: StreamMessageOptions = {}): TurnStream {
  const { turnstate, signal, ...requestOptions } = options;
  const stream = new TurnStream(turnstate ?? {});
  stream.messages.push(...(params.messages as BetaMessageParam[]));
  const create = client.messages.create.bind(client.messages) as unknown as (body: unknown, options: unknown) => { asResponse(): Promise<Response> };
  stream._start((abort) => create({ ...params, stream: true }, { ...requestOptions, signal: abort }).asResponse(), signal);
  return stream;
}
