import type {
  BetaContentBlock,
  BetaContentBlockParam,
  BetaMessage,
  BetaMessageParam,
  BetaToolResultBlockParam,
  BetaToolUseBlock,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { ToolCallRecord } from './types.js';

/*
 * How segments of one logical assistant turn go into history.
 *
 * After `pause_turn` (and `compaction`, and `max_tokens` under the `continue`
 * policy) the next request ends with the assistant's own content and no new user
 * message; the server picks the turn up from there. The response that follows
 * belongs to the same turn: a resumed web search opens with the
 * `web_search_tool_result` for a `server_tool_use` made in the previous segment
 * (see corpus files 20 and 21). Kept as two assistant messages, that call and
 * its result would sit in different messages, and the API validates server tool
 * pairs per message ("`web_search` tool use with id … was found without a
 * corresponding `web_search_tool_result` block"). So segments are merged: a
 * segment that answers a request ending in an assistant message is appended to
 * that message's content, block by block, exactly as received. One assistant
 * message per logical turn is also what the API itself makes of consecutive
 * same-role messages.
 */

/** A response's content as a message param. Response blocks are valid params as they are (the SDK's own tool runner does the same). */
export function contentAsParams(content: readonly BetaContentBlock[]): BetaContentBlockParam[] {
  return content as unknown as BetaContentBlockParam[];
}

function contentOf(message: BetaMessageParam): BetaContentBlockParam[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : (message.content as BetaContentBlockParam[]);
}

/** Whether the next request continues an assistant turn (the history ends with the assistant). */
export function endsWithAssistant(messages: readonly BetaMessageParam[]): boolean {
  return messages.at(-1)?.role === 'assistant';
}

/**
 * `messages` with `content` added as the assistant's: merged into a trailing
 * assistant message (same logical turn), else as a new message. Never mutates.
 */
export function appendAssistant(messages: readonly BetaMessageParam[], content: readonly BetaContentBlockParam[]): BetaMessageParam[] {
  const last = messages.at(-1);
  if (last?.role === 'assistant') {
    return [...messages.slice(0, -1), { role: 'assistant', content: [...contentOf(last), ...content] }];
  }
  return [...messages, { role: 'assistant', content: [...content] }];
}

/** Appends a response message as received. */
export function appendResponse(messages: readonly BetaMessageParam[], message: BetaMessage): BetaMessageParam[] {
  return appendAssistant(messages, contentAsParams(message.content));
}

/**
 * `content` made fit to be the final assistant turn of a request: trailing
 * whitespace trimmed from a final text block (the API rejects a final assistant
 * turn that ends in whitespace), and a final text block that trims to nothing
 * removed (repeatedly).
 */
export function trimTrailingWhitespace(content: readonly BetaContentBlockParam[]): BetaContentBlockParam[] {
  const out = [...content];
  for (;;) {
    const last = out.at(-1);
    if (last?.type !== 'text') return out;
    const trimmed = last.text.trimEnd();
    if (trimmed === last.text) return out;
    if (trimmed === '') {
      out.pop();
      continue;
    }
    out[out.length - 1] = { ...last, text: trimmed };
    return out;
  }
}

/**
 * For `max_tokens` + `continue`: the partial message appended so the model can
 * carry on from it. Returns null when nothing usable is left (everything was
 * dropped or was whitespace): the run then ends `incomplete`, because an empty
 * or whitespace-only prefill cannot be sent.
 */
export function appendPartialForContinue(messages: readonly BetaMessageParam[], message: BetaMessage): BetaMessageParam[] | null {
  const merged = appendResponse(messages, message);
  const last = merged.at(-1)!;
  const trimmed = trimTrailingWhitespace(contentOf(last));
  if (trimmed.length === 0) return null;
  return [...merged.slice(0, -1), { role: 'assistant', content: trimmed }];
}

/** The client tool calls of a message, in block order. Server tool calls are the server's. */
export function toolUseBlocks(message: BetaMessage): BetaToolUseBlock[] {
  return message.content.filter((block): block is BetaToolUseBlock => block.type === 'tool_use');
}

/** The tool_result block answering one call. `is_error` only when set, as the API shows it. */
export function toolResultBlock(call: ToolCallRecord): BetaToolResultBlockParam {
  const result = call.result;
  if (result === null) throw new Error(`tool call ${call.id} has no result`);
  const block: BetaToolResultBlockParam = { type: 'tool_result', tool_use_id: call.id, content: result.content };
  if (result.is_error) block.is_error = true;
  return block;
}

/** ONE user message with every result, in the order of the tool_use blocks. */
export function appendToolResults(messages: readonly BetaMessageParam[], calls: readonly ToolCallRecord[]): BetaMessageParam[] {
  return [...messages, { role: 'user', content: calls.map(toolResultBlock) }];
}

/** The text of the final assistant message, its text blocks joined. */
export function finalText(messages: readonly BetaMessageParam[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role !== 'assistant') continue;
    if (typeof message.content === 'string') return message.content;
    return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
  }
  return '';
}

/**
 * Canonical JSON (sorted keys) — equal inputs give equal strings, for stuck-loop
 * detection. Iterative, with an explicit stack: tool input is the model's (or a
 * hostile server's) and may nest to any depth the stream layer accepts, which
 * recursion would turn into a RangeError out of the run.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Each entry is a literal to emit (a string) or a value to write (boxed, so strings in the data are not literals).
  const stack: (string | { v: unknown })[] = [{ v: value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const v = item.v;
    if (v === null || typeof v !== 'object') {
      out.push(typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? 'undefined'));
      continue;
    }
    if (Array.isArray(v)) {
      stack.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ v: v[i] });
        if (i > 0) stack.push(',');
      }
      stack.push('[');
      continue;
    }
    const keys = Object.keys(v).sort();
    stack.push('}');
    for (let i = keys.length - 1; i >= 0; i--) {
      stack.push({ v: (v as Record<string, unknown>)[keys[i]!] });
      stack.push(`${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:`);
    }
    stack.push('{');
  }
  return out.join('');
}

/**
 * The deepest tool input the controller accepts, in levels of nesting (`{}` is 1).
 * Everything the controller does with a message serialises it with the
 * platform's recursive JSON.stringify / structuredClone — the journal, the event
 * log, the SDK's request body for the next turn — and those give up with a
 * RangeError at around 4,000 (JSON.stringify) and 1,900 (structuredClone) levels
 * on Node 20's default stack. A response past this cap could not be journaled or
 * sent back, so it is refused on arrival ({@link tooDeepInput}) with room to spare.
 */
export const MAX_INPUT_DEPTH = 1_000;

/** Whether `value` nests deeper than `limit` levels. Iterative; stops at the first path past the limit. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push({ v: child, depth: depth + 1 });
    }
  }
  return false;
}

/** The first block of `message` whose `input` nests deeper than {@link MAX_INPUT_DEPTH}, or null. */
export function tooDeepInput(message: BetaMessage): { index: number; type: string; name: string | null } | null {
  for (const [index, block] of message.content.entries()) {
    if (!('input' in block)) continue;
    if (nestsDeeperThan(block.input, MAX_INPUT_DEPTH)) return { index, type: block.type, name: 'name' in block && typeof block.name === 'string' ? block.name : null };
  }
  return null;
}
