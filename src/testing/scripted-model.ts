/**
 * A scripted model for controller tests that do not need a socket: each
 * request gets the next scripted reply as stream events (or SSE text), and
 * every request is recorded (deep-copied, as it would have gone on the wire).
 */
import type { CreateStream, ModelStream } from '../controller/model.js';
import type { StreamRequestParams } from '../controller/types.js';
import { eventsToSse, fakeId, messageEvents, type MessageSpec } from './sse.js';

export type ScriptedReply =
  | MessageSpec
  /** A mid-stream failure: `overloaded_error` / `api_error` event, or a dropped connection, after `after` events. */
  | { readonly fail: 'overloaded_error' | 'api_error' | 'dropped'; readonly after?: number; readonly spec?: MessageSpec }
  /** `createStream` throws (an HTTP error after the client's retries). */
  | { readonly throws: Error }
  /** Raw SSE text. */
  | { readonly sse: string }
  /** Never ends (for deadline / abort tests). */
  | { readonly hang: true; readonly spec?: MessageSpec };

export interface ScriptedModel {
  readonly createStream: CreateStream;
  /** Requests as sent, in order. */
  readonly requests: StreamRequestParams[];
}

const filler: MessageSpec = { content: [{ type: 'text', text: 'partial answer' }], stopReason: 'end_turn' };

export interface ScriptedModelOptions {
  /**
   * Latency before the first event: `'immediate'` (one event-loop turn) or ms.
   * Default none — the whole stream is there at once, which no network gives:
   * work the controller overlaps with a request (its pre-request checkpoint)
   * then has no time to happen first.
   */
  readonly latency?: 'immediate' | number;
}

async function* delayed(source: Iterable<unknown> | AsyncIterable<unknown>, latency: 'immediate' | number, signal: AbortSignal): AsyncGenerator<unknown> {
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = latency === 'immediate' ? setImmediate(done) : setTimeout(done, latency);
    const onAbort = (): void => {
      if (latency === 'immediate') clearImmediate(timer as NodeJS.Immediate);
      else clearTimeout(timer as NodeJS.Timeout);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  yield* source as AsyncIterable<unknown>;
}

function replyStream(reply: ScriptedReply, signal: AbortSignal): ModelStream {
  if ('throws' in reply) throw reply.throws;
  if ('sse' in reply) return { source: reply.sse, requestId: fakeId('req') };
  if ('hang' in reply) {
    const events = messageEvents(reply.spec ?? filler).slice(0, 2);
    async function* hang(): AsyncGenerator<unknown> {
      yield* events;
      await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    return { source: hang(), requestId: fakeId('req') };
  }
  if ('fail' in reply) {
    const events: unknown[] = messageEvents(reply.spec ?? filler);
    const after = Math.min(reply.after ?? 3, events.length - 1);
    const kept = events.slice(0, after);
    if (reply.fail !== 'dropped') kept.push({ type: 'error', error: { details: null, type: reply.fail, message: reply.fail === 'overloaded_error' ? 'Overloaded' : 'Internal server error' } });
    return { source: kept, requestId: fakeId('req') };
  }
  return { source: messageEvents(reply), requestId: fakeId('req') };
}

/** A model that answers from a script (a list consumed in order, or a function of the request). */
export function scriptedModel(
  script: readonly ScriptedReply[] | ((request: StreamRequestParams, index: number) => ScriptedReply),
  options: ScriptedModelOptions = {},
): ScriptedModel {
  const requests: StreamRequestParams[] = [];
  const queue = Array.isArray(script) ? [...(script as readonly ScriptedReply[])] : null;
  const createStream: CreateStream = (params, signal) => {
    const copy = JSON.parse(JSON.stringify(params)) as StreamRequestParams;
    requests.push(copy);
    const reply = queue ? queue.shift() : (script as (request: StreamRequestParams, index: number) => ScriptedReply)(copy, requests.length - 1);
    if (reply === undefined) throw new Error(`scripted model: no reply left for request ${requests.length}`);
    const stream = replyStream(reply, signal);
    if (options.latency === undefined) return stream;
    const { source, requestId } = stream as { source: Iterable<unknown>; requestId: string };
    return { source: typeof source === 'string' ? source : delayed(source, options.latency, signal), requestId };
  };
  return { createStream, requests };
}

export { eventsToSse };
