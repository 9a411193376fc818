import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const json = (path: string) => JSON.parse(readFileSync(new URL(path, root), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as Record<string, unknown>;

// An example nobody compiles rots unnoticed: each one must be in the build (examples/tsconfig.json) or have its
// own tsconfig that `npm run typecheck` (part of `npm test`) runs.
describe('every example is type-checked by npm test', () => {
  it('each examples/<dir> with TypeScript is built or named by the typecheck script', () => {
    const built = (json('examples/tsconfig.json')['include'] as string[]).map((glob) => glob.split('/')[0]);
    const typecheck = String((json('package.json')['scripts'] as Record<string, string>)['typecheck']);
    const dirs = readdirSync(new URL('examples/', root), { withFileTypes: true })
      .filter((d) => d.isDirectory() && readdirSync(new URL(`examples/${d.name}/`, root)).some((f) => f.endsWith('.ts')))
      .map((d) => d.name);
    expect(dirs).toContain('restate-agent');
    for (const dir of dirs) {
      const covered = built.includes(dir) || typecheck.includes(`tsc -p examples/${dir}/tsconfig.json`);
      expect(covered, `examples/${dir} is neither built nor type-checked`).toBe(true);
    }
  });

  it("README's Restate example is a ```ts block, so test:compat compiles it", async () => {
    const { tsBlocks } = await import('../../scripts/compat.mjs');
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    expect(tsBlocks(readme).some((block: { code: string }) => block.code.includes("from 'turnstate/restate'"))).toBe(true);
  });
});
