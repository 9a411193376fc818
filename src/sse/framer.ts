import { createParser, type EventSourceMessage, type EventSourceParser, type ParseError } from 'eventsource-parser';
import { SseError } from './errors.js';
import { PayloadOffsets } from './payload-offsets.js';
import { Utf8Stream } from './utf8-stream.js';

/** Receives each framed event; `index` counts every event (pings included) from 0. */
export type FrameSink = (name: string | undefined, data: string, index: number) => void;

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
 * does not do: strict UTF-8 decoding across chunk boundaries (utf8-stream.ts),
 * a final event without its blank line (the SDK drops it), and the byte
 * offset of every event (payload-offsets.ts).
 */
export class SseFramer {
  readonly #parser: EventSourceParser;
  readonly #sink: FrameSink;
  readonly #notice: FrameNotice;
  readonly #maxEventSize: number;
  readonly #utf8 = new Utf8Stream();
  readonly #offsets = new PayloadOffsets();
  #events = 0;
  #started = false;
  #failure: SseError | null = null;
  /** Set while end() flushes; an event dispatched then lacked its blank line. */
  #flushing = false;
  #cutShort = false;

  constructor(sink: FrameSink, options: FramerOptions = {}) {
    this.#sink = sink;
    this.#notice = options.onNotice ?? noNotice;
    this.#maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE;
    this.#parser = createParser({ onEvent: this.#onEvent, onError: this.#onError, maxBufferSize: this.#maxEventSize });
  }

  /** Events framed so far. */
  get eventCount(): number {
    return this.#events;
  }

  /** Byte offset of the latest event's `data` payload; null if it could not be located. */
  eventOffset(): number | null {
    return this.#offsets.latest();
  }

  /** Byte offset just past everything fed so far. */
  get bytesSeen(): number {
    return this.#offsets.base;
  }

  /**
   * Feeds raw bytes; a multibyte character may be split across calls. Bytes
   * that are not UTF-8 fail the input, after the events that ended before them
   * are delivered; the error says in which event, and at which byte, the bad
   * sequence starts.
   */
  pushBytes(chunk: Uint8Array): void {
    if (this.#failure !== null) throw this.#failure;
    const utf8 = this.#utf8;
    const text = utf8.decode(chunk);
    this.#feed(text, utf8.bytes);
    const cause = utf8.failure;
    if (cause !== null) {
      throw this.#fail(new SseError('invalid_utf8', 'input is not valid UTF-8', { eventIndex: this.#events, byteOffset: this.#offsets.base, cause }));
    }
  }

  /** Feeds already-decoded text. */
  pushText(text: string): void {
    this.#feed(text, Buffer.byteLength(text, 'utf8'));
  }

  /**
   * Whether the input ended inside an event: end() met a final event without
   * its blank line, or bytes of an unfinished character. Such an event may be
   * whole (its data complete JSON) or cut; the turn layer tells which.
   */
  get endedInsideEvent(): boolean {
    return this.#cutShort;
  }

  /** Flushes the decoder and a final event that lacks its terminating blank line. */
  end(): void {
    if (this.#failure !== null) throw this.#failure;
    const cause = this.#utf8.end();
    if (cause !== null) {
      this.#cutShort = true;
      throw this.#fail(new SseError('invalid_utf8', 'input ends inside a UTF-8 character', { eventIndex: this.#events, byteOffset: this.#offsets.base, cause }));
    }
    // Two line feeds end whatever line and event are open, whatever the stream's line endings.
    const base = this.#offsets.base;
    this.#flushing = true;
    try {
      this.#feed('\n\n', 2);
    } finally {
      this.#flushing = false;
      this.#offsets.base = base;
    }
  }

  #feed(text: string, bytes: number): void {
    if (this.#failure !== null) throw this.#failure;
    if (!this.#started) {
      if (text === '') return;
      this.#started = true;
      if (text.charCodeAt(0) === BOM) {
        text = text.slice(1);
        bytes -= 3;
        this.#offsets.base += 3;
      }
    }
    const offsets = this.#offsets;
    const before = this.#events;
    offsets.begin(text, bytes);
    try {
      this.#parser.feed(text);
    } finally {
      offsets.fed();
    }
    if (this.#failure !== null) throw this.#failure;
    offsets.end(bytes, this.#events > before);
  }

  #onEvent = (message: EventSourceMessage): void => {
    const data = message.data;
    this.#offsets.event(data.length);
    if (this.#flushing) this.#cutShort = true;
    const index = this.#events++;
    if (data.length > this.#maxEventSize) {
      // eventsource-parser only measures what it buffers between chunks; a whole line in one chunk is measured here.
      throw this.#fail(new SseError('line_too_long', `event ${index}: its data exceeds ${this.#maxEventSize} characters`, { eventIndex: index, ...nonNull(this.eventOffset()) }));
    }
    this.#sink(message.event, data, index);
  };

  #onError = (error: ParseError): void => {
    if (error.type === 'max-buffer-size-exceeded') {
      this.#fail(new SseError('line_too_long', `a line or event exceeded ${this.#maxEventSize} characters`, { eventIndex: this.#events, byteOffset: this.#offsets.base }));
      return;
    }
    this.#notice(error.type === 'invalid-retry' ? 'invalid_sse_retry' : 'unknown_sse_field', error.message, this.#events);
  };

  #fail(error: SseError): SseError {
    this.#failure ??= error;
    return this.#failure;
  }
}

function nonNull(byteOffset: number | null): { byteOffset?: number } {
  return byteOffset === null ? {} : { byteOffset };
}
