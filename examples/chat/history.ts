/**
 * Keeping the conversation sendable. A turn the person stopped can leave
 * the transcript in a shape the API refuses — a tool call with no result, a
 * server tool call without its result, two user messages in a row — so the
 * next request is built from a repaired copy. Nothing the model said is
 * removed except those dangling calls.
 */
import type { BetaContentBlockParam, BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';

type Turn = Extract<BetaMessageParam, { role: 'user' | 'assistant' }>;

const blocks = (message: Turn): BetaContentBlockParam[] => (typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : [...message.content]);

/** What a tool call that never ran is answered with, so the model knows. */
export const NOT_RUN = 'Not run: the person stopped the turn before this tool call was answered.';

/**
 * The transcript fit to send: each assistant tool_use answered (by the next
 * user message, or an `is_error` result saying it was not run), server tool
 * calls without a result in their message removed, empty messages removed,
 * consecutive messages of one role merged.
 */
export function sendable(messages: readonly BetaMessageParam[]): BetaMessageParam[] {
  const out: BetaMessageParam[] = [];
  for (let i = 0; i < messages.length; i += 1) {
    const message = messages[i]!;
    if (message.role !== 'user' && message.role !== 'assistant') {
      out.push(message);
      continue;
    }
    let content = blocks(message);
    if (message.role === 'assistant') {
      const answered = new Set(content.flatMap((b) => ('tool_use_id' in b && typeof b.tool_use_id === 'string' ? [b.tool_use_id] : [])));
      content = content.filter((b) => b.type !== 'server_tool_use' || answered.has(b.id));
    }
    if (content.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === message.role) (last as Turn).content = [...blocks(last as Turn), ...content];
    else out.push({ role: message.role, content });
    if (message.role === 'assistant') {
      const calls = content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
      if (calls.length === 0) continue;
      const next = messages[i + 1];
      const given = new Set(next?.role === 'user' ? blocks(next as Turn).flatMap((b) => (b.type === 'tool_result' ? [b.tool_use_id] : [])) : []);
      const missing = calls.filter((id) => !given.has(id));
      if (missing.length > 0) {
        out.push({ role: 'user', content: missing.map((id) => ({ type: 'tool_result', tool_use_id: id, content: NOT_RUN, is_error: true })) });
      }
    }
  }
  return out;
}
