/** The ```ts / ```typescript blocks of a Markdown text, in order (see compat.mjs). */
export function tsBlocks(markdown: string): { line: number; heading: string; code: string; compileOnly: boolean }[];
