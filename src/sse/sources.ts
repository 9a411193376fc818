import type { Readable } from 'node:stream';
import { SseError } from './errors.js';

/**
 * Everything turnstate reads a stream from: a fetch `Response`, a web
 * `ReadableStream`, a Node `Readable`, any (async) iterable of byte or text
 * chunks, or of already-parsed events (such as the SDK's own
 * `client.messages.create({ stream: true })`), or the whole body at once.
 */
export type StreamSource =
  | Response
  | ReadableStream<Uint8Array>
  | Readable
  | AsyncIterable<unknown>
  | Iterable<unknown>
  | string
  | Uint8Array
  | ArrayBuffer;

/** One item read from a source: bytes, text, or an already-parsed event object. */
export type SourceItem = Uint8Array | string | object;

/** Turns any {@link StreamSource} into one (async) iterable of items. */
export function iterateSource(source: StreamSource): AsyncIterable<SourceItem> | Iterable<SourceItem> {
  if (typeof source === 'string' || source instanceof Uint8Array) return [source];
  if (source instanceof ArrayBuffer) return [new Uint8Array(source)];
  if (source !== null && typeof source === 'object') {
    // A web stream by its shape (it is async-iterable too, but see readerItems), without touching the global.
    if (typeof (source as { getReader?: unknown }).getReader === 'function') return readerItems(source as ReadableStream<Uint8Array>);
    if (Symbol.asyncIterator in source) return source as AsyncIterable<SourceItem>;
    if (Symbol.iterator in source) return source as Iterable<SourceItem>;
  }
  // Last, and only for what is not iterable: the first touch of the global
  // `Response` makes Node load its bundled undici (~100 ms of start-up, issue 12).
  if (typeof Response !== 'undefined' && source instanceof Response) {
    return source.body === null ? [] : readerItems(source.body);
  }
  throw new SseError('unsupported_source', `cannot read a stream from ${describe(source)}: pass a Response, a ReadableStream, a Node Readable, an (async) iterable of chunks or events, a string or a Uint8Array`, { eventIndex: 0 });
}

/**
 * A web stream read through its own reader rather than its async iterator:
 * the iterator's `return()` waits for a pending read, so a stalled body would
 * never be cancelled; `reader.cancel()` ends the pending read at once (for a
 * fetch body, closing the connection).
 */
function readerItems(stream: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => {
      const reader = stream.getReader();
      return {
        next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
        return: async () => {
          await reader.cancel().catch(() => {});
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  return `a ${value.constructor?.name ?? 'plain object'}`;
}
