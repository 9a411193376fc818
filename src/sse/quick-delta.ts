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
export function quickDelta(data: string): BetaRawContentBlockDeltaEvent | undefined {
  if (!data.startsWith(PREFIX)) return undefined;
  let i = PREFIX.length;
  let c = data.charCodeAt(i);
  let index: number;
  if (c === ZERO) {
    index = 0;
    i++;
  } else if (c > ZERO && c <= NINE) {
    index = c - ZERO;
    // Up to 9 digits: the number stays exact, and JSON forbids nothing in that range.
    for (let digits = 1; (c = data.charCodeAt(++i)) >= ZERO && c <= NINE; digits++) {
      if (digits === 9) return undefined;
      index = index * 10 + (c - ZERO);
    }
  } else {
    return undefined;
  }
  let delta: 'text_delta' | 'input_json_delta' | 'thinking_delta';
  if (data.startsWith(TEXT, i)) {
    delta = 'text_delta';
    i += TEXT.length;
  } else if (data.startsWith(INPUT, i)) {
    delta = 'input_json_delta';
    i += INPUT.length;
  } else if (data.startsWith(THINKING, i)) {
    delta = 'thinking_delta';
    i += THINKING.length;
  } else {
    return undefined;
  }
  // From the end: `"` ws* `}` ws* `}` ws*
  let j = data.length - 1;
  while (isSpace(data.charCodeAt(j))) j--;
  if (data.charCodeAt(j--) !== BRACE) return undefined;
  while (isSpace(data.charCodeAt(j))) j--;
  if (data.charCodeAt(j--) !== BRACE) return undefined;
  while (j > i && isSpace(data.charCodeAt(j))) j--;
  if (j <= i || data.charCodeAt(i) !== QUOTE || data.charCodeAt(j) !== QUOTE) return undefined;
  let value = data.slice(i + 1, j);
  // With no quote, backslash or control character inside, the literal's value is its text.
  if (NEEDS_PARSING.test(value)) {
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

// eslint-disable-next-line no-control-regex
const NEEDS_PARSING = /["\\\u0000-\u001f]/;
const PREFIX = '{"type":"content_block_delta","index":';
const TEXT = ',"delta":{"type":"text_delta","text":';
const INPUT = ',"delta":{"type":"input_json_delta","partial_json":';
const THINKING = ',"delta":{"type":"thinking_delta","thinking":';
const ZERO = 48;
const NINE = 57;
const QUOTE = 34;
const BRACE = 125;

/** JSON whitespace: space, tab, line feed, carriage return. */
function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}
