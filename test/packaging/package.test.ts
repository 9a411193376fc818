import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The package as a consumer resolves it. Node resolves a package's own name
// from inside it through its `exports` map (self-reference), so these run the
// real resolution rules without installing anything.
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const node = (args: string[]) => run(process.execPath, args, { cwd: root }).then(
  (r) => ({ code: 0, ...r }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
);

describe('package exports', () => {
  it("require('turnstate') (and its subpaths) fails with a message saying it is ESM-only and how to import it", async () => {
    const exportsMap = JSON.parse(readFileSync(new URL('package.json', `file://${root}`), 'utf8')).exports as Record<string, unknown>;
    const entries = Object.entries(exportsMap).filter(([, target]) => typeof target === 'object' && target !== null && 'import' in target);
    expect(entries.map(([key]) => key)).toEqual(expect.arrayContaining(['.', './controller', './testing']));
    for (const specifier of entries.map(([key]) => `turnstate${key.slice(1)}`)) {
      const { code, stderr } = await node(['-e', `require(${JSON.stringify(specifier)})`]);
      expect(code).not.toBe(0);
      expect(stderr).toContain('ERR_TURNSTATE_ESM_ONLY');
      expect(stderr).toContain("await import('turnstate')");
    }
  });

  it('the shipped recordings resolve as turnstate/recordings/<name>.sse, the demo ones and verdicts.json too', async () => {
    const script = [
      "for (const s of ['turnstate/recordings/refusal.sse', 'turnstate/recordings/demo/01-tool-use.sse', 'turnstate/recordings/verdicts.json'])",
      '  console.log(import.meta.resolve(s));',
    ].join('\n');
    const { code, stdout, stderr } = await node(['--input-type=module', '-e', script]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      new URL('recordings/refusal.sse', `file://${root}`).href,
      new URL('recordings/demo/01-tool-use.sse', `file://${root}`).href,
      new URL('recordings/verdicts.json', `file://${root}`).href,
    ]);
  });

  it('the tarball holds the LICENSE (MIT, as package.json says), the recordings, the CJS stub, and no source maps', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    const files: string[] = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    expect(files).toContain('LICENSE');
    expect(readFileSync(new URL('LICENSE', `file://${root}`), 'utf8')).toMatch(/^MIT License/);
    expect(JSON.parse(readFileSync(new URL('package.json', `file://${root}`), 'utf8')).license).toBe('MIT');
    expect(files).toContain('recordings/refusal.sse');
    expect(files).toContain('recordings/demo/01-tool-use.sse');
    expect(files).toContain('cjs/esm-only.cjs');
    // `turnstate chat`: the example's build and its page (plain files, no build step).
    for (const f of ['dist/examples/chat/server.js', 'examples/chat/page/index.html', 'examples/chat/page/page.js', 'examples/chat/page/style.css']) expect(files).toContain(f);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });
});
