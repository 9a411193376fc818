/**
 * Content blocks that call a tool — the ones the SDK types give an `id`, a
 * `name` and an `input` (`BetaToolUseBlock`, `BetaServerToolUseBlock`,
 * `BetaMCPToolUseBlock`; the browser and computer toolset members are
 * `tool_use` too). One list, so the decoder and the assembler agree on it.
 */
export const TOOL_BLOCK_TYPES: ReadonlySet<string> = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

export const isToolBlock = (type: string): boolean => TOOL_BLOCK_TYPES.has(type);

/**
 * What is wrong with a tool block as content_block_start opens it, or null.
 * Its `id` is what the tool_result must name and `name` picks the tool, so
 * both must be non-empty strings; `input` is the value the block stands for
 * when no input_json_delta follows, so it must already be an object.
 */
export function toolBlockProblem(block: Record<string, unknown>): string | null {
  const id = block['id'];
  if (typeof id !== 'string' || id === '') return `a ${String(block['type'])} block needs a non-empty string "id"`;
  const name = block['name'];
  if (typeof name !== 'string' || name === '') return `a ${String(block['type'])} block needs a non-empty string "name"`;
  const input = block['input'];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return `a ${String(block['type'])} block's "input" must be an object`;
  return null;
}
