/**
 * Where each event's `data` payload starts, in bytes of the input.
 *
 * eventsource-parser reports events without positions, so an event's `data:`
 * field is found again in the chunk it came from, searching forward from the
 * previous payload. That search is deferred: in an LF-only chunk each event
 * records only its data length, and the search is replayed from the chunk's
 * starting state when an offset is asked for — which is almost always never
 * (on an error). The end of the chunk's last event is then found from its
 * last blank line. Chunks with CR line endings search eagerly. A payload that
 * began in an earlier chunk is located when that chunk was fed; a `data:`
 * field split by a chunk boundary is caught by carrying the chunk's last
 * characters over. Converting a position to a byte offset, a pass over the
 * chunk when it is not ASCII, also waits until asked. Offsets are exact for
 * single-line `data` (what the Messages API sends) unless a comment line
 * between events contains `data:`, or an event's data field has no colon
 * (`data` alone: an empty value), when the search finds the next event's
 * payload — or none, and the offset is null.
 */

/** A chunk as it started (text, byte base, pending payload, carry) and the data lengths of the events it ended. */
interface Replay {
  readonly text: string;
  readonly base: number;
  readonly ascii: boolean;
  readonly pending: Pending | null;
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

/** A payload that started in an earlier chunk: where, how many of its characters came before, whether the optional space after `data:` is still to be seen. */
interface Pending {
  spot: Spot;
  chars: number;
  spaceUnseen: boolean;
}

const DATA = 'data:';

export class PayloadOffsets {
  /** Bytes of input consumed before the current chunk. */
  base = 0;
  #text = '';
  #ascii = true;
  /** Search position in `#text`: just past the last payload found. */
  #cursor = 0;
  /** The end of the previous chunk, when it may hold the start of a `data:` split by the chunk boundary. */
  #carry: Spot | null = null;
  /** Where the latest event's payload starts (`pos` -1: not found). Reused: no allocation per event. */
  readonly #spot: Spot = { text: '', base: 0, ascii: true, pos: -1, extra: 0 };
  #pending: Pending | null = null;
  /** Whether locating payloads is deferred: the chunk is LF-only. */
  #deferring = false;
  /** The chunk the latest events came from, as it started, and their data lengths: enough to replay the search. */
  #replay: Replay = { text: '', base: 0, ascii: true, pending: null, carry: null, lengths: [] };
  #located = 0;
  /** The current chunk's starting state, until its first event makes it the replay context. */
  #chunkStart: Omit<Replay, 'lengths'> | null = null;
  #feeding = false;

  /** Byte offset of the latest event's `data` payload; null if it could not be located. */
  latest(): number | null {
    if (this.#located < this.#replay.lengths.length) this.#catchUp();
    const spot = this.#spot;
    if (spot.pos < 0) return null;
    return spot.base + spot.extra + (spot.ascii ? spot.pos : Buffer.byteLength(spot.text.slice(0, spot.pos), 'utf8'));
  }

  /** A chunk of `bytes` bytes, decoded to `text`, is about to be framed. */
  begin(text: string, bytes: number): void {
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
    this.#chunkStart = { text, base: this.base, ascii: this.#ascii, pending: pending === null ? null : { ...pending, spot: { ...pending.spot } }, carry: this.#carry };
    this.#feeding = true;
  }

  /** The chunk's framing returned or threw. */
  fed(): void {
    this.#feeding = false;
  }

  /** An event with `length` characters of data ended in the current chunk. */
  event(length: number): void {
    if (this.#chunkStart !== null) {
      // The first event of this chunk: the chunk becomes the replay context.
      this.#replay = { ...this.#chunkStart, lengths: [] };
      this.#chunkStart = null;
      this.#located = 0;
    }
    const lengths = this.#replay.lengths;
    lengths.push(length);
    if (!this.#deferring) {
      this.#locate(length);
      this.#located = lengths.length;
    }
  }

  /** The chunk was framed; `eventsEnded` when at least one event ended in it. */
  end(bytes: number, eventsEnded: boolean): void {
    this.#chunkStart = null;
    const text = this.#text;
    if (this.#deferring && eventsEnded) {
      // Events ended in this chunk, so whatever was pending or carried is used up; what follows
      // the last blank line is the start of the next event. (LF-only: a blank line is "\n\n";
      // with none in the chunk, it began with the "\n" that finished one, and no `data:` precedes it.)
      this.#pending = null;
      this.#carry = null;
      const blank = text.lastIndexOf('\n\n');
      this.#cursor = blank === -1 ? 0 : blank + 2;
    }
    if (this.#pending !== null) {
      this.#pending.chars += text.length;
    } else {
      const carry = this.#carry; // #findData clears it; #tail continues it only when the cursor is at 0
      const found = this.#findData();
      if (found !== null) {
        this.#pending = { spot: found.spot, chars: text.length - found.valueAt, spaceUnseen: found.spaceUnseen };
      } else {
        this.#carry = this.#tail(carry, bytes);
      }
    }
    this.base += bytes;
  }

  /**
   * Replays the deferred search over the chunk the latest events came from,
   * from the state it started with. Within that chunk's feed, the chunk then
   * goes on eagerly; otherwise the live state is put back as it was.
   */
  #catchUp(): void {
    const replay = this.#replay;
    const live = { text: this.#text, base: this.base, ascii: this.#ascii, pending: this.#pending, carry: this.#carry, cursor: this.#cursor };
    // Feeding, with the chunk's start state already spent, means its first event made it the replay context.
    const current = this.#feeding && this.#chunkStart === null;
    this.#text = replay.text;
    this.base = replay.base;
    this.#ascii = replay.ascii;
    this.#pending = replay.pending === null ? null : { ...replay.pending, spot: { ...replay.pending.spot } };
    this.#carry = replay.carry;
    this.#cursor = 0;
    for (const length of replay.lengths) this.#locate(length);
    this.#located = replay.lengths.length;
    if (current) this.#deferring = false;
    else ({ text: this.#text, base: this.base, ascii: this.#ascii, pending: this.#pending, carry: this.#carry, cursor: this.#cursor } = live);
  }

  /**
   * The last few characters after the cursor (continuing the previous carry
   * when this chunk was shorter): they may be the start of a `data:` that the
   * next chunk finishes — with one-byte chunks, over several chunks. Where the
   * tail starts is counted back from the chunk's end (`bytes` is the text's
   * UTF-8 length): measuring the few tail characters, not the whole chunk
   * before them, and right even when the tail starts between the two halves
   * of a surrogate pair (measured from the front, each half counted 3 bytes).
   */
  #tail(carry: Spot | null, bytes: number): Spot | null {
    const text = this.#text;
    const keep = DATA.length - 1;
    const from = Math.max(this.#cursor, text.length - keep);
    let tail = text.slice(from);
    let base = this.base + (this.#ascii ? from : bytes - Buffer.byteLength(tail, 'utf8'));
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
    return { spot: { text, base: this.base, ascii: this.#ascii, pos: value, extra: 0 }, valueAt: value, spaceUnseen };
  }

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
        spot.base = this.base;
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
}
