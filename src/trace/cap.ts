/**
 * What a trace keeps of user data: strings cut at a length, arrays and
 * objects at a count and a depth, all without recursion (a 100k-deep tool
 * input must not overflow the stack here), so a page stays small and a
 * transcript is summarised rather than copied whole.
 */
export interface CapLimits {
  readonly string: number;
  readonly items: number;
  readonly depth: number;
  /** Total nodes visited before the rest is elided. */
  readonly nodes: number;
}

export const DEFAULT_CAP: CapLimits = { string: 2000, items: 200, depth: 24, nodes: 20_000 };

export function capText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** A JSON-safe, bounded copy of `value`. */
export function capValue(value: unknown, limits: CapLimits = DEFAULT_CAP): unknown {
  let budget = limits.nodes;
  const leaf = (v: unknown): unknown => {
    if (typeof v === 'string') return capText(v, limits.string);
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'boolean' || v === null) return v;
    if (typeof v === 'bigint') return `${v}n`;
    if (v === undefined) return null;
    return `[${typeof v}]`;
  };
  const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';
  if (!isContainer(value)) return leaf(value);
  const rootOut: unknown = Array.isArray(value) ? [] : {};
  const seen = new Set<object>();
  const stack: { from: object; to: unknown; depth: number }[] = [{ from: value, to: rootOut, depth: 0 }];
  while (stack.length > 0) {
    const { from, to, depth } = stack.pop()!;
    seen.add(from);
    const entries: [string | number, unknown][] = Array.isArray(from) ? from.map((v, i) => [i, v]) : Object.entries(from);
    const shown = entries.slice(0, limits.items);
    for (const [key, child] of shown) {
      let out: unknown;
      if (!isContainer(child)) out = leaf(child);
      else if (seen.has(child)) out = '[circular]';
      else if (depth + 1 >= limits.depth || budget <= 0) out = Array.isArray(child) ? `[array of ${child.length}]` : '[object]';
      else {
        budget -= 1;
        out = Array.isArray(child) ? [] : {};
        stack.push({ from: child, to: out, depth: depth + 1 });
      }
      if (Array.isArray(to)) to.push(out);
      else (to as Record<string, unknown>)[String(key)] = out;
    }
    if (entries.length > shown.length) {
      const more = `… ${entries.length - shown.length} more`;
      if (Array.isArray(to)) to.push(more);
      else (to as Record<string, unknown>)['…'] = more;
    }
  }
  return rootOut;
}
