import type { BetaRawContentBlockDeltaEvent, BetaThinkingDelta } from '@anthropic-ai/sdk/resources/beta/messages/messages';

/**
 * A shortcut for the one event shape that makes up nearly every stream:
 *
 *   {"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}   }
 *
 * (and the same with input_json_delta / partial_json, thinking_delta / thinking).
 * `JSON.parse` of the whole object is most of the floor's cost per event; when
 * the data has exactly this layout — whitespace allowed only before the two
 * closing braces, as the real API pads — only the string literal needs
 * parsing, and `JSON.parse` still does that, so escapes and validity are its
 * call (or, when the literal has no quote, backslash or control character,
 * its text is its value). Anything else, however slightly different, returns undefined and takes
 * the full `JSON.parse` path. The result deep-equals `JSON.parse(data)`
 * (test/sse/quick-delta.test.ts proves it by property test).
 */
export function quickDelta(data: string, ownStrings = false): BetaRawContentBlockDeltaEvent | undefined {
  const delta = locate(data);
  if (delta === undefined) return undefined;
  const { index } = found;
  const i = found.open;
  const j = found.close;
  let value = data.slice(i + 1, j);
  // With no quote, backslash or control character inside, the literal's value is its text — a
  // slice that shares memory with the whole decoded chunk. Fine for the assembler, which joins
  // its pieces into a copy; a listener may keep deltas, so for listeners (`ownStrings`) it is parsed
  // into a string of its own.
  if (ownStrings || NEEDS_PARSING.test(value)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.slice(i, j + 1));
    } catch {
      return undefined; // not one string literal (e.g. `"a","b":"c"`): let the full parse decide
    }
    if (typeof parsed !== 'string') return undefined;
    value = parsed;
  }
  switch (delta) {
    case 'text_delta':
      return { type: 'content_block_delta', index, delta: { type: delta, text: value } };
    case 'input_json_delta':
      return { type: 'content_block_delta', index, delta: { type: delta, partial_json: value } };
    case 'thinking_delta':
      // Exactly what the wire carried: `estimated_tokens` only comes with its beta, whatever the type says.
      return { type: 'content_block_delta', index, delta: { type: delta, thinking: value } as BetaThinkingDelta };
  }
}

/** Where `locate` found the delta's parts: the block index and the string literal's quotes. */
const found = { index: 0, open: 0, close: 0 };

type QuickDeltaType = 'text_delta' | 'input_json_delta' | 'thinking_delta';

/**
 * The delta type when the data has the exact layout above, with the index and
 * the literal's quotes in `found`; undefined for anything else.
 */
function locate(data: string): QuickDeltaType | undefined {
  // One regular expression, not startsWith: the data is a slice of its chunk, and V8's string
  // builtins take a slow path on sliced strings where irregexp does not.
  HEAD.lastIndex = 0;
  if (!HEAD.test(data)) return undefined;
  // Read what the expression matched straight from the data: no match array, no capture strings.
  let at = HEAD_PREFIX_LENGTH;
  let index = 0;
  for (let c = data.charCodeAt(at); c >= ZERO && c <= NINE; c = data.charCodeAt(++at)) index = index * 10 + (c - ZERO);
  at += DELTA_TYPE_OFFSET;
  const delta = data.charCodeAt(at) === I ? 'input_json_delta' : data.charCodeAt(at + 1) === E ? 'text_delta' : 'thinking_delta';
  const i = HEAD.lastIndex - 1; // the opening quote of the string literal
  // From the end: `"` ws* `}` ws* `}` ws*
  let j = data.length - 1;
  while (isSpace(data.charCodeAt(j))) j--;
  if (data.charCodeAt(j--) !== BRACE) return undefined;
  while (isSpace(data.charCodeAt(j))) j--;
  if (data.charCodeAt(j--) !== BRACE) return undefined;
  while (j > i && isSpace(data.charCodeAt(j))) j--;
  if (j <= i || data.charCodeAt(i) !== QUOTE || data.charCodeAt(j) !== QUOTE) return undefined;
  found.index = index;
  found.open = i;
  found.close = j;
  return delta;
}

/** What {@link deltaBody} read from a delta's data. Reused by its caller: no allocation per event. */
export interface DeltaBody {
  index: number;
  type: QuickDeltaType;
  /** The string literal's text as on the wire, between its quotes: escapes not yet undone. */
  body: string;
  /** Whether `body` holds an escape (else it is its own value). */
  escaped: boolean;
}

/**
 * The same shortcut, for a reader that takes the literal as it is on the wire
 * and unescapes many at once later (the assembler, with no listener to hand
 * each delta to): the data has quickDelta's layout and the literal is one
 * valid JSON string — checked here, by {@link STRING_BODY}, so the later
 * `JSON.parse` of the joined bodies cannot fail. False (nothing written)
 * for anything else; quickDelta and the full parse then decide.
 */
export function deltaBody(data: string, out: DeltaBody): boolean {
  const type = locate(data);
  if (type === undefined) return false;
  const body = data.slice(found.open + 1, found.close);
  const escaped = NEEDS_PARSING.test(body);
  if (escaped && !STRING_BODY.test(body)) return false;
  out.index = found.index;
  out.type = type;
  out.body = body;
  out.escaped = escaped;
  return true;
}

/**
 * A JSON string's text between its quotes (RFC 8259 §7): any character but
 * `"`, `\` and U+0000–U+001F, or an escape. One alternative per character,
 * each starting with a different character, so a match never backtracks.
 * It accepts exactly the texts `JSON.parse` accepts between two quotes
 * (test/sse/quick-delta-body.test.ts), and two such texts joined are a
 * third whose value is the two values joined: an escape never spans two.
 */
// eslint-disable-next-line no-control-regex
const STRING_BODY = /^(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*$/;

// eslint-disable-next-line no-control-regex
const NEEDS_PARSING = /["\\\u0000-\u001f]/;
/** Up to 9 index digits: the number stays exact; JSON's no-leading-zero rule is kept. */
const HEAD = /\{"type":"content_block_delta","index":(?:0|[1-9]\d{0,8}),"delta":\{"type":"(?:text_delta","text|input_json_delta","partial_json|thinking_delta","thinking)":"/y;
const HEAD_PREFIX_LENGTH = '{"type":"content_block_delta","index":'.length;
/** From the end of the index digits to the delta type's first letter: `,"delta":{"type":"`. */
const DELTA_TYPE_OFFSET = ',"delta":{"type":"'.length;
const ZERO = 48;
const NINE = 57;
const I = 105; // 'i'
const E = 101; // 'e'
const QUOTE = 34;
const BRACE = 125;

/** JSON whitespace: space, tab, line feed, carriage return. */
function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}
