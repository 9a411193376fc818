import type { BetaUsage } from '@anthropic-ai/sdk/resources/beta/messages/messages';

/**
 * Token and server-tool counts, summed over segments. Plain numbers only, so it
 * serialises into a checkpoint and adds without surprises: the API reports
 * cache fields as `number | null`, and a null here would poison every sum.
 */
export interface UsageTotals {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /**
   * Server tool requests by kind (`web_search_requests`, `web_fetch_requests`,
   * and any kind a later API adds: every numeric field is summed).
   */
  server_tool_use: Record<string, number>;
}

export function emptyUsage(): UsageTotals {
  return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: {} };
}

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** One message's usage as {@link UsageTotals}. Takes `unknown`-ish input because a partial stream may lack fields. */
export function normalizeUsage(usage: Partial<BetaUsage> | null | undefined): UsageTotals {
  const out = emptyUsage();
  if (!usage) return out;
  out.input_tokens = num(usage.input_tokens);
  out.output_tokens = num(usage.output_tokens);
  out.cache_creation_input_tokens = num(usage.cache_creation_input_tokens);
  out.cache_read_input_tokens = num(usage.cache_read_input_tokens);
  const server = usage.server_tool_use;
  if (server && typeof server === 'object') {
    for (const [key, value] of Object.entries(server)) {
      if (typeof value === 'number' && value !== 0) out.server_tool_use[key] = value;
    }
  }
  return out;
}

/** `a + b`, as a new object. */
export function addUsage(a: UsageTotals, b: UsageTotals): UsageTotals {
  const server: Record<string, number> = { ...a.server_tool_use };
  for (const [key, value] of Object.entries(b.server_tool_use)) server[key] = (server[key] ?? 0) + value;
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_creation_input_tokens: a.cache_creation_input_tokens + b.cache_creation_input_tokens,
    cache_read_input_tokens: a.cache_read_input_tokens + b.cache_read_input_tokens,
    server_tool_use: server,
  };
}

export function sumUsage(items: readonly UsageTotals[]): UsageTotals {
  return items.reduce(addUsage, emptyUsage());
}

/**
 * What the `tokens` budget counts: every input token (fresh, cache write, cache
 * read) and every output token. Cache reads are cheap but still fill the
 * context, and a budget meant to stop a runaway loop should see them grow.
 */
export function totalTokens(usage: UsageTotals): number {
  return usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens;
}
