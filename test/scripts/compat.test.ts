import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tsBlocks } from '../../scripts/compat.mjs';

// `npm run test:compat` (in CI) compiles and runs what this extracts; these
// check the extraction itself, so a README example cannot silently drop out.
describe('README example extraction', () => {
  it('takes every ts/typescript fence, in order, with its heading and line; skips other languages', () => {
    const md = [
      '# A', '```ts', 'const a = 1;', '```', 'text', '```sh', 'npm test', '```',
      '## B', '  ```typescript', '  const b = 2;', '    indented();', '  ```',
      '<!-- compat: compile-only -->', '```ts', 'needsAKey();', '```',
    ].join('\n');
    expect(tsBlocks(md)).toEqual([
      { line: 2, heading: 'A', code: 'const a = 1;', compileOnly: false },
      { line: 10, heading: 'B', code: 'const b = 2;\n  indented();', compileOnly: false },
      { line: 15, heading: 'B', code: 'needsAKey();', compileOnly: true },
    ]);
  });

  it('an unclosed fence is an error naming its line, not a silently shorter list', () => {
    expect(() => tsBlocks('x\n```ts\nconst a = 1;\n')).toThrow(/README\.md:2/);
  });

  it("finds the README's examples: as many as it has ```ts fences", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const fences = readme.split('\n').filter((line) => /^\s*```(ts|typescript)\s*$/.test(line)).length;
    expect(fences).toBeGreaterThanOrEqual(5);
    expect(tsBlocks(readme)).toHaveLength(fences);
    expect(tsBlocks(readme).some((b) => b.code.includes('sdkCreateStream(new Anthropic())'))).toBe(true);
  });
});
