import type { BetaMessage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { SseError } from '../sse/errors.js';
import type { StreamEvent, UnknownEvent } from '../sse/events.js';

/**
 * The wire format of `toReadableStream()` / `fromReadableStream()`, the SDK's
 * own: one JSON event per line. Hand-written because it is twenty lines and
 * the SDK's line decoder is internal (not part of its public API).
 */
export async function* ndjsonEvents(stream: ReadableStream, signal: AbortSignal): AsyncGenerator<object> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const reader = (stream as ReadableStream<Uint8Array | string>).getReader();
  const onAbort = (): void => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  let buffer = '';
  let line = 0;
  const parse = (text: string): object | null => {
    const at = line++;
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text) as object;
    } catch (cause) {
      throw new SseError('invalid_json', `line ${at + 1} of the stream is not JSON`, { eventIndex: at, cause });
    }
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal.throwIfAborted();
      if (done) break;
      buffer += typeof value === 'string' ? value : decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r\n|\r|\n/)) !== -1) {
        const text = buffer.slice(0, end);
        buffer = buffer.slice(buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1);
        const event = parse(text);
        if (event !== null) yield event;
      }
    }
    buffer += decoder.decode();
    const event = parse(buffer);
    if (event !== null) yield event;
  } catch (error) {
    if (error instanceof TypeError && !signal.aborted) throw new SseError('invalid_utf8', 'the stream is not UTF-8', { eventIndex: line, cause: error });
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

/** A byte stream of lines, pulled one at a time (`null` ends it; a throw errors it). */
export function ndjsonReadable(next: () => Promise<string | null>, cancel: () => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const line = await next();
        if (line === null) controller.close();
        else controller.enqueue(encoder.encode(`${line}\n`));
      } catch (error) {
        controller.error(error);
      }
    },
    cancel,
  });
}

/**
 * The SDK hands out its messages as a `ParsedMessage` even without structured
 * outputs: a copy with `parsed_output: null`, its text blocks copied with a
 * non-enumerable `parsed_output: null` (so they go back into history as they
 * came). The same here, so code that reads those fields sees what it expects.
 */
export function asParsedMessage(message: BetaMessage): BetaMessage {
  return {
    ...message,
    content: message.content.map((block) =>
      block.type === 'text' ? Object.defineProperty({ ...block }, 'parsed_output', { value: null, enumerable: false }) : block,
    ),
    parsed_output: null,
  } as BetaMessage;
}

/** An event as the API sent it: a message_start's stop fields (hidden by the stop-reason guard) are null again. */
export function serializeEvent(event: StreamEvent | UnknownEvent): string {
  if (event.type !== 'message_start') return JSON.stringify(event);
  const message = (event as unknown as { message: Record<string, unknown> }).message;
  const restored: Record<string, unknown> = { ...message };
  for (const field of ['stop_reason', 'stop_sequence', 'stop_details']) {
    if (Object.getOwnPropertyDescriptor(message, field)?.enumerable !== true) restored[field] = null;
  }
  return JSON.stringify({ ...event, message: restored });
}
