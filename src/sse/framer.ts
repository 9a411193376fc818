import { createParser, type EventSourceMessage, type EventSourceParser, type ParseError } from 'eventsource-parser';
import { SseError } from './errors.js';

/** Receives each framed event; `index` counts every event (pings included) from 0. */
export type FrameSink = (name: string | undefined, data: string, index: number) => void;

/** Something in the framing that is legal SSE but worth reporting (an unknown field, a bad `retry`). */
export type FrameNotice = (code: 'unknown_sse_field' | 'invalid_sse_retry', message: string, eventIndex: number) => void;

/** Where a payload starts: character `pos` of a decoded chunk that began at byte `base`. */
interface Spot {
  text: string;
  base: number;
  ascii: boolean;
  pos: number;
}

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
 * event's `data:` field is found again in the chunk it came from, searching
 * forward from the previous payload — one `indexOf` of a five-character
 * needle per event. Only the character position is kept; converting it to a
 * byte offset (which costs a pass over the chunk when it is not ASCII) waits
 * until someone asks, which is almost always never: on an error. A payload
 * that began in an earlier chunk is located when that chunk was fed. Offsets
 * are exact for single-line `data` (what the Messages API sends) unless a
 * comment line between events contains `data:`.
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
  /** Search position in `#text`: just past the last payload found. */
  #cursor = 0;
  /** Where the latest event's payload starts (`pos` -1: not found). Reused: no allocation per event. */
  readonly #spot: Spot = { text: '', base: 0, ascii: true, pos: -1 };
  /** A payload that started in an earlier chunk: where, and how many of its characters came before this chunk. */
  #pending: { spot: Spot; chars: number } | null = null;
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

  /** Byte offset of the latest event's `data` payload; null if it could not be located. */
  eventOffset(): number | null {
    const spot = this.#spot;
    if (spot.pos < 0) return null;
    return spot.base + (spot.ascii ? spot.pos : Buffer.byteLength(spot.text.slice(0, spot.pos), 'utf8'));
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
    this.#parser.feed(text);
    if (this.#failure !== null) throw this.#failure;
    if (this.#pending !== null) {
      this.#pending.chars += text.length;
    } else {
      const at = text.indexOf('data:', this.#cursor);
      if (at !== -1) {
        const pos = Math.min(text.charCodeAt(at + 5) === 32 ? at + 6 : at + 5, text.length);
        this.#pending = { spot: { text, base: this.#base, ascii: this.#ascii, pos }, chars: text.length - pos };
      }
    }
    this.#base += bytes;
  }

  #onEvent = (message: EventSourceMessage): void => {
    const data = message.data;
    const pending = this.#pending;
    if (pending !== null) {
      Object.assign(this.#spot, pending.spot);
      this.#pending = null;
      this.#cursor = Math.min(Math.max(0, data.length - pending.chars), this.#text.length);
    } else {
      const text = this.#text;
      const at = text.indexOf('data:', this.#cursor);
      const spot = this.#spot;
      if (at === -1) {
        spot.pos = -1;
      } else {
        const pos = text.charCodeAt(at + 5) === 32 ? at + 6 : at + 5;
        spot.text = text;
        spot.base = this.#base;
        spot.ascii = this.#ascii;
        spot.pos = pos;
        this.#cursor = pos + data.length;
      }
    }
    this.#sink(message.event, data, this.#events++);
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
