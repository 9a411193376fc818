import { createParser, type EventSourceMessage, type EventSourceParser, type ParseError } from 'eventsource-parser';
import { SseError } from './errors.js';

/** Receives each framed event; `index` counts every event (pings included) from 0. */
export type FrameSink = (name: string | undefined, data: string, index: number) => void;

/** Something in the framing that is legal SSE but worth reporting (an unknown field, a bad `retry`). */
export type FrameNotice = (code: 'unknown_sse_field' | 'invalid_sse_retry', message: string, eventIndex: number) => void;

/** A chunk as it started (text, byte base, pending payload, carry) and the data lengths of the events it ended. */
interface Replay {
  readonly text: string;
  readonly base: number;
  readonly ascii: boolean;
  readonly pending: { spot: Spot; chars: number; spaceUnseen: boolean } | null;
  readonly carry: Spot | null;
  readonly lengths: number[];
}

/**
 * Where a payload starts, kept cheap to record: character `pos` of a decoded
 * `text` that began at byte `base`, plus `extra` bytes (a space after `data:`
 * that arrived in the next chunk). Converted to a byte offset only on demand.
 */
interface Spot {
  text: string;
  base: number;
  ascii: boolean;
  pos: number;
  extra: number;
}

const DATA = 'data:';

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
 * Byte offsets: eventsource-parser reports events without positions, so an
 * event's `data:` field is found again in the chunk it came from, searching
 * forward from the previous payload. That search is deferred: in an LF-only
 * chunk each event records only its data length, and the search is replayed
 * from the chunk's starting state when an offset is asked for — which is
 * almost always never (on an error). The end of the chunk's last event is
 * then found from its last blank line. Chunks with CR line endings search
 * eagerly. A payload that began in an earlier chunk is located when that
 * chunk was fed; a `data:` field split by a chunk boundary is caught by
 * carrying the chunk's last characters over. Converting a position to a byte
 * offset, a pass over the chunk when it is not ASCII, also waits until asked.
 * Offsets are exact for single-line `data` (what the Messages API sends)
 * unless a comment line between events contains `data:`.
 */
export class SseFramer {
  readonly #parser: EventSourceParser;
  readonly #sink: FrameSink;
  readonly #notice: FrameNotice;
  readonly #maxEventSize: number;
  #decoder: TextDecoder | null = null;
  /** Bytes the decoder holds back (an unfinished character), and how many more that character needs. */
  #held = 0;
  #need = 0;
  #events = 0;
  #started = false;
  /** Bytes of input consumed before the current chunk. */
  #base = 0;
  #text = '';
  #ascii = true;
  /** Search position in `#text`: just past the last payload found. */
  #cursor = 0;
  /** The end of the previous chunk, when it may hold the start of a `data:` split by the chunk boundary. */
  #carry: Spot | null = null;
  /** Where the latest event's payload starts (`pos` -1: not found). Reused: no allocation per event. */
  readonly #spot: Spot = { text: '', base: 0, ascii: true, pos: -1, extra: 0 };
  /**
   * A payload that started in an earlier chunk: where, how many of its
   * characters came before the current chunk, and whether the optional space
   * after `data:` is still to be seen.
   */
  #pending: { spot: Spot; chars: number; spaceUnseen: boolean } | null = null;
  #failure: SseError | null = null;
  /**
   * Locating payloads is deferred while a chunk is LF-only: each event only
   * records its data length, and the search runs when an offset is asked for
   * (almost always never: on an error). What a replay needs is kept here.
   */
  #deferring = false;
  /** The chunk the latest events came from, as it started, and their data lengths: enough to replay the search. */
  #replay: Replay = { text: '', base: 0, ascii: true, pending: null, carry: null, lengths: [] };
  #located = 0;
  /** The current chunk's starting state, until its first event makes it the replay context. */
  #chunkStart: Omit<Replay, 'lengths'> | null = null;
  #feeding = false;
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
    if (this.#located < this.#replay.lengths.length) this.#catchUp();
    return offsetOf(this.#spot);
  }

  /**
   * Replays the deferred search over the chunk the latest events came from,
   * from the state it started with. Within that chunk's feed, the chunk then
   * goes on eagerly; otherwise the live state is put back as it was.
   */
  #catchUp(): void {
    const replay = this.#replay;
    const live = { text: this.#text, base: this.#base, ascii: this.#ascii, pending: this.#pending, carry: this.#carry, cursor: this.#cursor };
    const current = this.#feeding && replay.text === this.#text && this.#chunkStart === null;
    this.#text = replay.text;
    this.#base = replay.base;
    this.#ascii = replay.ascii;
    this.#pending = replay.pending === null ? null : { ...replay.pending, spot: { ...replay.pending.spot } };
    this.#carry = replay.carry;
    this.#cursor = 0;
    for (const length of replay.lengths) this.#locate(length);
    this.#located = replay.lengths.length;
    if (current) this.#deferring = false;
    else ({ text: this.#text, base: this.#base, ascii: this.#ascii, pending: this.#pending, carry: this.#carry, cursor: this.#cursor } = live);
  }

  /** Byte offset just past everything fed so far. */
  get bytesSeen(): number {
    return this.#base;
  }

  /** Feeds raw bytes; a multibyte character may be split across calls. */
  pushBytes(chunk: Uint8Array): void {
    if (this.#failure !== null) throw this.#failure;
    // The BOM is kept in the text (ignoreBOM) and removed by #feed, so its bytes are counted wherever chunks split it.
    this.#decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    let text: string;
    try {
      text = this.#decoder.decode(chunk, { stream: true });
    } catch (cause) {
      throw this.#fail(new SseError('invalid_utf8', 'input is not valid UTF-8', { eventIndex: this.#events, byteOffset: this.#base, cause }));
    }
    const heldBefore = this.#held;
    this.#trackHeld(chunk);
    this.#feed(text, heldBefore + chunk.length - this.#held);
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
    if (this.#decoder !== null) {
      try {
        this.#decoder.decode();
      } catch (cause) {
        this.#cutShort = true;
        throw this.#fail(new SseError('invalid_utf8', 'input ends inside a UTF-8 character', { eventIndex: this.#events, byteOffset: this.#base, cause }));
      }
    }
    // Two line feeds end whatever line and event are open, whatever the stream's line endings.
    const base = this.#base;
    this.#flushing = true;
    try {
      this.#feed('\n\n', 2);
    } finally {
      this.#flushing = false;
      this.#base = base;
    }
  }

  /**
   * Follows the decoder's held-back bytes from the chunk's own bytes (O(1) per
   * chunk), so the bytes behind each decoded text are known without re-encoding it.
   */
  #trackHeld(chunk: Uint8Array): void {
    let i = 0;
    if (this.#need > 0) {
      const take = Math.min(this.#need, chunk.length);
      this.#need -= take;
      this.#held += take;
      i = take;
      if (this.#need > 0) return;
      this.#held = 0;
    }
    for (let j = chunk.length - 1; j >= Math.max(i, chunk.length - 4); j--) {
      const byte = chunk[j] as number;
      if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for its lead
      const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      const have = chunk.length - j;
      if (have < length) {
        this.#held = have;
        this.#need = length - have;
      }
      return;
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
        this.#base += 3;
      }
    }
    const pending = this.#pending;
    if (pending !== null && pending.spaceUnseen && text !== '') {
      pending.spaceUnseen = false;
      if (text.charCodeAt(0) === 32) {
        pending.spot.extra += 1;
        pending.chars -= 1;
      }
    }
    this.#text = text;
    this.#ascii = bytes === text.length;
    this.#cursor = 0;
    this.#deferring = text.indexOf('\r') === -1;
    this.#chunkStart = { text, base: this.#base, ascii: this.#ascii, pending: pending === null ? null : { ...pending, spot: { ...pending.spot } }, carry: this.#carry };
    const before = this.#events;
    this.#feeding = true;
    try {
      this.#parser.feed(text);
    } finally {
      this.#feeding = false;
    }
    if (this.#failure !== null) throw this.#failure;
    this.#chunkStart = null;
    if (this.#deferring && this.#events > before) {
      // Events ended in this chunk, so whatever was pending or carried is used up; what follows
      // the last blank line is the start of the next event. (LF-only: a blank line is "\n\n",
      // or a "\n" at the start that finishes one the previous chunk began.)
      this.#pending = null;
      this.#carry = null;
      const blank = text.lastIndexOf('\n\n');
      this.#cursor = blank !== -1 ? blank + 2 : text.charCodeAt(0) === 10 ? 1 : 0;
    }
    if (this.#pending !== null) {
      this.#pending.chars += text.length;
    } else {
      const carry = this.#cursor === 0 ? this.#carry : null;
      const found = this.#findData();
      if (found !== null) {
        this.#pending = { spot: found.spot, chars: text.length - found.valueAt, spaceUnseen: found.spaceUnseen };
      } else {
        this.#carry = this.#tail(carry);
      }
    }
    this.#base += bytes;
  }

  /**
   * The last few characters after the cursor (continuing the previous carry
   * when this chunk was shorter): they may be the start of a `data:` that the
   * next chunk finishes — with one-byte chunks, over several chunks.
   */
  #tail(carry: Spot | null): Spot | null {
    const text = this.#text;
    const keep = DATA.length - 1;
    const from = Math.max(this.#cursor, text.length - keep);
    let tail = text.slice(from);
    let base = this.#base + (this.#ascii ? from : Buffer.byteLength(text.slice(0, from), 'utf8'));
    if (carry !== null && from === 0 && tail.length < keep) {
      const earlier = carry.text.slice(Math.max(0, carry.text.length - (keep - tail.length)));
      base -= Buffer.byteLength(earlier, 'utf8');
      tail = earlier + tail;
    }
    if (tail === '') return null;
    return { text: tail, base, ascii: Buffer.byteLength(tail, 'utf8') === tail.length, pos: 0, extra: 0 };
  }

  /**
   * The next `data:` field from the cursor. `valueAt` is where its value
   * starts in the current text (negative when it started in the carry);
   * `spaceUnseen` when the text ends right after `data:`.
   */
  #findData(): { spot: Spot; valueAt: number; spaceUnseen: boolean } | null {
    const text = this.#text;
    const carry = this.#carry;
    if (carry !== null && this.#cursor === 0) {
      this.#carry = null;
      const window = carry.text + text.slice(0, DATA.length + 1);
      const at = window.indexOf(DATA);
      if (at !== -1 && at < carry.text.length) {
        const spaceUnseen = at + DATA.length === window.length;
        const value = window.charCodeAt(at + DATA.length) === 32 ? at + DATA.length + 1 : at + DATA.length;
        return { spot: { text: window, base: carry.base, ascii: carry.ascii && Buffer.byteLength(window, 'utf8') === window.length, pos: value, extra: 0 }, valueAt: value - carry.text.length, spaceUnseen };
      }
    }
    this.#carry = null;
    const at = text.indexOf(DATA, this.#cursor);
    if (at === -1) return null;
    const spaceUnseen = at + DATA.length === text.length;
    const value = text.charCodeAt(at + DATA.length) === 32 ? at + DATA.length + 1 : at + DATA.length;
    return { spot: { text, base: this.#base, ascii: this.#ascii, pos: value, extra: 0 }, valueAt: value, spaceUnseen };
  }

  #onEvent = (message: EventSourceMessage): void => {
    const data = message.data;
    if (this.#chunkStart !== null) {
      // The first event of this chunk: the chunk becomes the replay context.
      this.#replay = { ...this.#chunkStart, lengths: [] };
      this.#chunkStart = null;
      this.#located = 0;
    }
    const lengths = this.#replay.lengths;
    lengths.push(data.length);
    if (!this.#deferring) {
      this.#locate(data.length);
      this.#located = lengths.length;
    }
    if (this.#flushing) this.#cutShort = true;
    const index = this.#events++;
    if (data.length > this.#maxEventSize) {
      // eventsource-parser only measures what it buffers between chunks; a whole line in one chunk is measured here.
      throw this.#fail(new SseError('line_too_long', `event ${index}: its data exceeds ${this.#maxEventSize} characters`, { eventIndex: index, ...nonNull(this.eventOffset()) }));
    }
    this.#sink(message.event, data, index);
  };

  /** Finds where the next event's payload (of `length` characters) starts, and moves past it. */
  #locate(length: number): void {
    const spot = this.#spot;
    const pending = this.#pending;
    if (pending !== null) {
      Object.assign(spot, pending.spot);
      this.#pending = null;
      this.#cursor = Math.min(Math.max(0, length - pending.chars), this.#text.length);
    } else if (this.#carry === null) {
      // The usual case: the payload is in this chunk, after the previous one.
      const text = this.#text;
      const at = text.indexOf(DATA, this.#cursor);
      if (at === -1) {
        spot.pos = -1;
      } else {
        const pos = text.charCodeAt(at + 5) === 32 ? at + 6 : at + 5;
        spot.text = text;
        spot.base = this.#base;
        spot.ascii = this.#ascii;
        spot.pos = pos;
        spot.extra = 0;
        this.#cursor = pos + length;
      }
    } else {
      const found = this.#findData();
      if (found === null) spot.pos = -1;
      else {
        Object.assign(spot, found.spot);
        this.#cursor = Math.max(0, found.valueAt + length);
      }
    }
  }

  #onError = (error: ParseError): void => {
    if (error.type === 'max-buffer-size-exceeded') {
      this.#fail(new SseError('line_too_long', `a line or event exceeded ${this.#maxEventSize} characters`, { eventIndex: this.#events, byteOffset: this.#base }));
      return;
    }
    this.#notice(error.type === 'invalid-retry' ? 'invalid_sse_retry' : 'unknown_sse_field', error.message, this.#events);
  };

  #fail(error: SseError): SseError {
    this.#failure ??= error;
    return this.#failure;
  }
}

function offsetOf(spot: Spot): number | null {
  if (spot.pos < 0) return null;
  return spot.base + spot.extra + (spot.ascii ? spot.pos : Buffer.byteLength(spot.text.slice(0, spot.pos), 'utf8'));
}

function nonNull(byteOffset: number | null): { byteOffset?: number } {
  return byteOffset === null ? {} : { byteOffset };
}
