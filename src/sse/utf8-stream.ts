/**
 * Strict UTF-8 decoding of a byte stream that chunks may cut anywhere, even
 * inside a character. The decoding is TextDecoder's (`fatal`); this adds what
 * it does not tell: how many bytes the text of each chunk came from (so the
 * framer counts byte offsets without re-encoding), and, on invalid input,
 * where the bad bytes start — TextDecoder only throws, and its throw loses the
 * valid text before them.
 */
export class Utf8Stream {
  #decoder: TextDecoder | null = null;
  /** Bytes the decoder holds back (an unfinished character), how many more that character needs, and the bytes themselves. */
  #held = 0;
  #need = 0;
  readonly #heldBytes = new Uint8Array(4);
  #bytes = 0;
  #failure: unknown = null;

  /** Bytes behind the text the last `decode` returned: an unfinished character is counted in the call that finishes it. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The decoder's error once the input was found invalid (the text before the bad bytes was returned); null before. */
  get failure(): unknown {
    return this.#failure;
  }

  /** The chunk's complete characters; on invalid input, those before the first bad byte (see `failure`). */
  decode(chunk: Uint8Array): string {
    // The BOM is kept in the text (ignoreBOM) and removed by the framer, so its bytes are counted wherever chunks split it.
    this.#decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    let text: string;
    try {
      text = this.#decoder.decode(chunk, { stream: true });
    } catch (cause) {
      this.#failure = cause;
      text = validPrefix(this.#heldBytes.subarray(0, this.#held), chunk);
      this.#bytes = Buffer.byteLength(text); // UTF-8, the default
      return text;
    }
    const heldBefore = this.#held;
    this.#trackHeld(chunk);
    this.#bytes = heldBefore + chunk.length - this.#held;
    return text;
  }

  /** Ends the input: the decoder's error if it ends inside a character, else null. */
  end(): unknown {
    if (this.#decoder === null) return null;
    try {
      this.#decoder.decode();
    } catch (cause) {
      return cause;
    }
    return null;
  }

  /**
   * Follows the decoder's held-back bytes from the chunk's own bytes (O(1) per
   * chunk), so the bytes behind each decoded text are known without re-encoding it.
   */
  #trackHeld(chunk: Uint8Array): void {
    let i = 0;
    if (this.#need > 0) {
      const take = Math.min(this.#need, chunk.length);
      this.#heldBytes.set(chunk.subarray(0, take), this.#held);
      this.#need -= take;
      this.#held += take;
      i = take;
      if (this.#need > 0) return;
      this.#held = 0;
    }
    for (let j = chunk.length - 1; j >= Math.max(i, chunk.length - 4); j--) {
      const byte = chunk[j] as number;
      if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for its lead
      // 0xC0 and 0xC1 never lead (overlong): the decoder has already thrown on them.
      const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc2 ? 2 : 1;
      const have = chunk.length - j;
      if (have < length) {
        this.#held = have;
        this.#need = length - have;
        this.#heldBytes.set(chunk.subarray(j), 0);
      }
      return;
    }
  }
}

/**
 * The complete characters before the first bad byte of `held` + `chunk`. A
 * prefix that a fresh streaming decoder takes stays valid when shortened, so
 * the longest one is found by bisection, each probe decoded by TextDecoder
 * itself: O(n log n), and only on the error path. An unfinished character
 * right before the bad byte is part of the bad sequence, so it is not in the text.
 */
function validPrefix(held: Uint8Array, chunk: Uint8Array): string {
  const bytes = new Uint8Array(held.length + chunk.length);
  bytes.set(held, 0);
  bytes.set(chunk, held.length);
  // Invariant: bytes[0, good) decode; bytes[0, bad) do not (the whole did not, in the decoder that threw).
  let good = 0;
  let bad = bytes.length;
  let text = '';
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    const decoded = tryDecode(bytes.subarray(0, mid));
    if (decoded === null) bad = mid;
    else {
      good = mid;
      text = decoded;
    }
  }
  return text;
}

function tryDecode(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: true });
  } catch {
    return null;
  }
}
