/**
 * Incremental JSON parser for `input_json_delta` streams.
 *
 * Why not a library: the Anthropic SDK (and its vendored `partial-json`) re-parse the whole
 * buffer on every delta, which is quadratic; @streamparser/json re-materialises a partial
 * string on every emit (quadratic for one long string value); jsonriver is async-iterator
 * only, and we need a synchronous push API with no promise per chunk.
 *
 * Linearity: every input character is visited once (a completed number re-dispatches its
 * delimiter, O(1) extra). Containers are built in place, so `value` is O(1) to read. A string
 * in progress is extended with `+=` (V8 builds a rope, no copy of the prefix) and its slot
 * in the parent is re-assigned once per write, O(1). We chose `+=` over keeping parts and
 * joining on read: a join-on-read `value` would cost O(length) per read, which is exactly the
 * quadratic pattern we are avoiding. Caveat: a consumer that *inspects* a long string after
 * every write flattens the rope each time and pays O(length) per read; that cost is inherent
 * to handing out the string-so-far as a JS string and lies outside this parser.
 */

export class PartialJsonError extends Error {
  override readonly name = 'PartialJsonError';
  constructor(
    readonly code: 'invalid_json' | 'not_an_object',
    /** Char offset in the concatenated input. */
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

type Container = Record<string, unknown> | unknown[];
interface Frame { c: Container; key: string }

// Parser modes (what the next non-whitespace character may be).
const VALUE = 0, VALUE_OR_CLOSE = 1, KEY_OR_CLOSE = 2, KEY = 3, COLON = 4, AFTER = 5, DONE = 6;
const STRING = 7, NUMBER = 8, LITERAL = 9;
// Number grammar states; ZERO, INT, FRAC and EXP_DIGITS are accepting.
const N_START = 0, N_MINUS = 1, N_ZERO = 2, N_INT = 3, N_DOT = 4, N_FRAC = 5, N_E = 6, N_ESIGN = 7, N_EXP = 8;
const accepting = (s: number): boolean => s === N_ZERO || s === N_INT || s === N_FRAC || s === N_EXP;

const ESCAPE_CHARS = '"\\/bfnrt';
const ESCAPED = '"\\/\b\f\n\r\t';

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

// `o.__proto__ = v` would set the prototype; JSON.parse creates an own property instead.
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

export class IncrementalJsonParser {
  private readonly requireObject: boolean;
  private readonly stack: Frame[] = [];
  private root: unknown = undefined;
  private mode = VALUE;
  private offset = 0;
  private error: PartialJsonError | undefined;
  private str = '';
  private inKey = false;
  private esc = 0; // 0: none, 1: after '\', 2..5: reading \u hex digits
  private hex = 0;
  private num = '';
  private numState = N_START;
  private lit = '';
  private litIdx = 0;
  private work = 0;

  constructor(opts?: { requireObject?: boolean }) {
    this.requireObject = opts?.requireObject ?? false;
  }

  /**
   * The value parsed so far: objects/arrays are built in place and mutated as more arrives
   * (same identity across writes); a string in progress holds the characters so far;
   * numbers/true/false/null appear only once complete. A key whose value has not started is
   * absent (with duplicate keys, the earlier value stays until the later one starts).
   * Before any non-whitespace input: undefined.
   */
  get value(): unknown {
    return this.root;
  }

  /** True once the root value is syntactically closed. */
  get complete(): boolean {
    return this.mode === DONE;
  }

  /** @internal Loop steps plus characters appended; lets tests assert linearity without timing. */
  get workDone(): number {
    return this.work;
  }

  /**
   * Throws PartialJsonError at the first character that can never be part of valid JSON
   * (code 'not_an_object' if `requireObject` and the root starts as another value); after
   * that every call throws the same error.
   */
  write(chunk: string): void {
    if (this.error) throw this.error;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      this.work++;
      if (this.mode === STRING) i = this.scanString(chunk, i);
      else if (this.mode === NUMBER) i = this.scanNumber(chunk, i);
      else if (this.mode === LITERAL) i = this.scanLiteral(chunk, i);
      else i = this.structural(chunk, i);
    }
    if (this.mode === STRING && !this.inKey) this.syncString();
    this.offset += n;
  }

  /**
   * Completes a trailing number and returns the final value. Throws 'invalid_json' unless the
   * input is exactly one JSON value; empty/whitespace-only input yields {} when
   * `requireObject` (as the SDK treats an empty buffer), otherwise throws.
   */
  end(): unknown {
    if (this.error) throw this.error;
    if (this.mode === NUMBER && accepting(this.numState)) this.finishNumber();
    if (this.mode === VALUE && this.stack.length === 0 && this.requireObject) {
      this.root = {};
      this.mode = DONE;
    }
    if (this.mode !== DONE) this.fail(0, 'invalid_json', 'Unexpected end of JSON input');
    return this.root;
  }

  private fail(i: number, code: PartialJsonError['code'] = 'invalid_json', msg?: string): never {
    const at = this.offset + i;
    this.error = new PartialJsonError(code, at, msg ?? `Unexpected character at offset ${at}`);
    throw this.error;
  }

  private place(v: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) this.root = v;
    else if (Array.isArray(top.c)) top.c.push(v);
    else setOwn(top.c, top.key, v);
  }

  // Re-point the parent's slot at the grown string (strings are immutable).
  private syncString(): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) this.root = this.str;
    else if (Array.isArray(top.c)) top.c[top.c.length - 1] = this.str;
    else setOwn(top.c, top.key, this.str);
  }

  private valueDone(): void {
    this.mode = this.stack.length === 0 ? DONE : AFTER;
  }

  private structural(s: string, i: number): number {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return i + 1;
    if ((this.mode === VALUE_OR_CLOSE && c === 0x5d) || (this.mode === KEY_OR_CLOSE && c === 0x7d)) {
      return this.close(c, i);
    }
    switch (this.mode) {
      case VALUE:
      case VALUE_OR_CLOSE:
        return this.startValue(c, i);
      case KEY:
      case KEY_OR_CLOSE:
        if (c !== 0x22) this.fail(i);
        this.str = '';
        this.inKey = true;
        this.mode = STRING;
        return i + 1;
      case COLON:
        if (c !== 0x3a) this.fail(i);
        this.mode = VALUE;
        return i + 1;
      case AFTER:
        if (c === 0x2c) {
          this.mode = Array.isArray(this.stack[this.stack.length - 1]?.c) ? VALUE : KEY;
          return i + 1;
        }
        return this.close(c, i);
      default:
        return this.fail(i);
    }
  }

  private close(c: number, i: number): number {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined || c !== (Array.isArray(top.c) ? 0x5d : 0x7d)) this.fail(i);
    this.stack.pop();
    this.valueDone();
    return i + 1;
  }

  private startValue(c: number, i: number): number {
    const isNumber = c === 0x2d || (c >= 0x30 && c <= 0x39);
    const lit = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : '';
    if (c !== 0x7b && c !== 0x5b && c !== 0x22 && !isNumber && lit === '') this.fail(i);
    if (this.requireObject && this.stack.length === 0 && c !== 0x7b) {
      this.fail(i, 'not_an_object', 'Expected the JSON root to be an object');
    }
    if (c === 0x7b || c === 0x5b) {
      const container: Container = c === 0x7b ? {} : [];
      this.place(container);
      this.stack.push({ c: container, key: '' });
      this.mode = c === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
      return i + 1;
    }
    if (c === 0x22) {
      this.str = '';
      this.inKey = false;
      this.place('');
      this.mode = STRING;
      return i + 1;
    }
    if (isNumber) {
      this.num = '';
      this.numState = N_START;
      this.mode = NUMBER;
      return i; // scanNumber consumes it
    }
    this.lit = lit;
    this.litIdx = 1;
    this.mode = LITERAL;
    return i + 1;
  }

  private scanString(s: string, i: number): number {
    const n = s.length;
    while (i < n) {
      this.work++;
      if (this.esc === 0) {
        const start = i;
        let c = s.charCodeAt(i);
        while (c !== 0x22 && c !== 0x5c && c >= 0x20 && ++i < n) c = s.charCodeAt(i);
        if (i > start) this.append(s.slice(start, i));
        if (i === n) return n;
        if (c === 0x22) {
          this.closeString();
          return i + 1;
        }
        if (c !== 0x5c) this.fail(i); // raw control character
        this.esc = 1;
        i++;
      } else if (this.esc === 1) {
        const ch = s[i] as string;
        if (ch === 'u') {
          this.esc = 2;
          this.hex = 0;
        } else {
          const k = ESCAPE_CHARS.indexOf(ch);
          if (k < 0) this.fail(i);
          this.append(ESCAPED[k] as string);
          this.esc = 0;
        }
        i++;
      } else {
        const d = hexDigit(s.charCodeAt(i));
        if (d < 0) this.fail(i);
        this.hex = this.hex * 16 + d;
        // Each \u unit is appended on its own: a pair of them concatenates into the
        // astral character, and lone surrogates survive exactly as JSON.parse keeps them.
        if (++this.esc === 6) {
          this.append(String.fromCharCode(this.hex));
          this.esc = 0;
        }
        i++;
      }
    }
    return i;
  }

  private append(part: string): void {
    this.work += part.length;
    this.str += part;
  }

  private closeString(): void {
    if (this.inKey) {
      (this.stack[this.stack.length - 1] as Frame).key = this.str;
      this.mode = COLON;
    } else {
      this.syncString();
      this.valueDone();
    }
    this.str = '';
  }

  private scanNumber(s: string, i: number): number {
    const start = i;
    const n = s.length;
    let st = this.numState;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      const digit = c >= 0x30 && c <= 0x39;
      const e = (c | 0x20) === 0x65;
      let next: number;
      switch (st) {
        case N_START: next = c === 0x2d ? N_MINUS : c === 0x30 ? N_ZERO : digit ? N_INT : -1; break;
        case N_MINUS: next = c === 0x30 ? N_ZERO : digit ? N_INT : -1; break;
        case N_ZERO: next = c === 0x2e ? N_DOT : e ? N_E : -1; break;
        case N_INT: next = digit ? N_INT : c === 0x2e ? N_DOT : e ? N_E : -1; break;
        case N_DOT: next = digit ? N_FRAC : -1; break;
        case N_FRAC: next = digit ? N_FRAC : e ? N_E : -1; break;
        case N_E: next = c === 0x2b || c === 0x2d ? N_ESIGN : digit ? N_EXP : -1; break;
        default: next = digit ? N_EXP : -1; // N_ESIGN, N_EXP
      }
      if (next < 0) break;
      st = next;
    }
    this.work += i - start;
    this.num += s.slice(start, i);
    this.numState = st;
    if (i < n) {
      if (!accepting(st)) this.fail(i);
      this.finishNumber(); // the delimiter at `i` is handled by the next mode
    }
    return i;
  }

  private finishNumber(): void {
    // The grammar was validated above, and Number() rounds decimal text exactly as JSON.parse.
    this.place(Number(this.num));
    this.num = '';
    this.valueDone();
  }

  private scanLiteral(s: string, i: number): number {
    const n = s.length;
    for (; i < n && this.litIdx < this.lit.length; i++, this.litIdx++) {
      if (s.charCodeAt(i) !== this.lit.charCodeAt(this.litIdx)) this.fail(i);
    }
    if (this.litIdx === this.lit.length) {
      this.place(this.lit === 'true' ? true : this.lit === 'false' ? false : null);
      this.valueDone();
    }
    return i;
  }
}
