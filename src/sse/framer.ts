import { createParser, type EventSourceMessage, type EventSourceParser, type ParseError } from 'eventsource-parser';
import { SseError } from './errors.js';

/** Receives each framed event; `index` counts every event (pings included) from 0. */
export type FrameSink = (name: string | undefined, data: string, index: number, byteOffset: number) => void;

/** Something in the framing that is legal SSE but worth reporting (an unknown field, a bad `retry`). */
export type FrameNotice = (code: 'unknown_sse_field' | 'invalid_sse_retry', message: string, eventIndex: number) => void;

export interface FramerOptions {
  /** Largest line or event, in characters, before `line_too_long`. Default 64 MiB. */
  readonly maxEventSize?: number;
  readonly onNotice?: FrameNotice;
}

export const DEFAULT_MAX_EVENT_SIZE = 64 * 1024 * 1024;

const BOM = 0xfeff;
const noNotice: FrameNotice = () => {};

/**
 * Bytes → SSE events. Framing (line endings, fields, multi-line data, comments,
 * the `maxBufferSize` cap) is eventsource-parser's; this class adds what it
 * does not do: strict UTF-8 decoding across chunk boundaries, a final event
 * without its blank line (the SDK drops it), and the byte offset of every event.
 *
 * Byte offsets: eventsource-parser reports events without positions, so each
 * event's `data` payload is found again in the chunk it came from, searching
 * forward from the previous payload (one short `indexOf` per event — cheap
 * next to `JSON.parse`). A payload that began in an earlier chunk is located
 * when that chunk was fed. Offsets are exact for single-line `data`, which is
 * what the Messages API sends.
 */
export class SseFramer {
  readonly #parser: EventSourceParser;
  readonly #sink: FrameSink;
  readonly #notice: FrameNotice;
  #decoder: TextDecoder | null = null;
  #events = 0;
  #started = false;
  /** Bytes of input consumed before the current chunk. */
  #base = 0;
  #text = '';
  #ascii = true;
  /** Search position in `#text`, and the absolute byte offset it corresponds to. */
  #cursor = 0;
  #cursorByte = 0;
  /** A payload that started in an earlier chunk: where, and how many of its characters came before this chunk. */
  #pending: { byte: number; chars: number } | null = null;
  #failure: SseError | null = null;

  constructor(sink: FrameSink, options: FramerOptions = {}) {
    this.#sink = sink;
    this.#notice = options.onNotice ?? noNotice;
    this.#parser = createParser({
      onEvent: this.#onEvent,
      onError: this.#onError,
      maxBufferSize: options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE,
    });
  }

  /** Events framed so far. */
  get eventCount(): number {
    return this.#events;
  }

  /** Byte offset just past everything fed so far. */
  get bytesSeen(): number {
    return this.#base;
  }

  /** Feeds raw bytes; a multibyte character may be split across calls. */
  pushBytes(chunk: Uint8Array): void {
    let start = 0;
    if (!this.#started && this.#decoder === null) {
      // TextDecoder swallows the BOM; count its bytes so offsets stay true to the input.
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    this.#decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
    let text: string;
    try {
      text = this.#decoder.decode(chunk, { stream: true });
    } catch (cause) {
      throw this.#fail(new SseError('invalid_utf8', 'input is not valid UTF-8', { eventIndex: this.#events, byteOffset: this.#base, cause }));
    }
    this.#base += start;
    this.#feed(text, chunk.length - start);
  }

  /** Feeds already-decoded text. */
  pushText(text: string): void {
    if (!this.#started && this.#base === 0 && text.charCodeAt(0) === BOM) {
      text = text.slice(1);
      this.#base = 3;
    }
    this.#feed(text, -1);
  }

  /** Flushes the decoder and a final event that lacks its terminating blank line. */
  end(): void {
    if (this.#decoder !== null) {
      let rest: string;
      try {
        rest = this.#decoder.decode();
      } catch (cause) {
        throw this.#fail(new SseError('invalid_utf8', 'input ends inside a UTF-8 character', { eventIndex: this.#events, byteOffset: this.#base, cause }));
      }
      if (rest !== '') this.#feed(rest, -1);
    }
    // Two line feeds end whatever line and event are open, whatever the stream's line endings.
    this.#parser.feed('\n\n');
  }

  #feed(text: string, byteLength: number): void {
    if (this.#failure !== null) throw this.#failure;
    this.#started = true;
    const bytes = byteLength >= 0 && byteLength === text.length ? byteLength : Buffer.byteLength(text, 'utf8');
    this.#text = text;
    this.#ascii = bytes === text.length;
    this.#cursor = 0;
    this.#cursorByte = this.#base;
    this.#parser.feed(text);
    if (this.#failure !== null) throw this.#failure;
    if (this.#pending !== null) {
      this.#pending.chars += text.length;
    } else {
      const at = text.indexOf('data:', this.#cursor);
      if (at !== -1) {
        const value = text.charCodeAt(at + 5) === 32 ? at + 6 : at + 5;
        this.#pending = { byte: this.#byteAt(Math.min(value, text.length)), chars: text.length - Math.min(value, text.length) };
      }
    }
    this.#base += bytes;
    this.#text = '';
  }

  /** Absolute byte offset of character `pos` of the current chunk (`pos` ≥ cursor). */
  #byteAt(pos: number): number {
    if (this.#ascii) return this.#base + pos;
    return this.#cursorByte + Buffer.byteLength(this.#text.slice(this.#cursor, pos), 'utf8');
  }

  #onEvent = (message: EventSourceMessage): void => {
    const data = message.data;
    let offset: number;
    if (this.#pending !== null) {
      offset = this.#pending.byte;
      const cursor = Math.min(Math.max(0, data.length - this.#pending.chars), this.#text.length);
      this.#pending = null;
      this.#cursorByte = this.#ascii ? this.#base + cursor : this.#base + Buffer.byteLength(this.#text.slice(0, cursor), 'utf8');
      this.#cursor = cursor;
    } else {
      const probe = data.length > 16 ? data.slice(0, 16) : data;
      const at = this.#text.indexOf(probe, this.#cursor);
      if (at === -1) {
        offset = this.#cursorByte;
      } else {
        offset = this.#byteAt(at);
        const end = Math.min(at + data.length, this.#text.length);
        this.#cursorByte = this.#ascii ? this.#base + end : offset + Buffer.byteLength(this.#text.slice(at, end), 'utf8');
        this.#cursor = end;
      }
    }
    this.#sink(message.event, data, this.#events++, offset);
  };

  #onError = (error: ParseError): void => {
    if (error.type === 'max-buffer-size-exceeded') {
      this.#fail(new SseError('line_too_long', `a line or event exceeded ${error.message.match(/\d+/)?.[0] ?? 'the maximum'} characters`, { eventIndex: this.#events, byteOffset: this.#base }));
      return;
    }
    this.#notice(error.type === 'invalid-retry' ? 'invalid_sse_retry' : 'unknown_sse_field', error.message, this.#events);
  };

  #fail(error: SseError): SseError {
    this.#failure ??= error;
    return this.#failure;
  }
}
