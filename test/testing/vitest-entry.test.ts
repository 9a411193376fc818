/**
 * `turnstate/testing/vitest` is where useCassette lives, so `turnstate/testing`
 * loads in any runner (or none) without pulling vitest in. Checked on the
 * built package as a consumer resolves it (self-reference through `exports`),
 * by logging every module Node resolves while importing it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as entry from '../../src/testing/vitest.js';
import { useCassette } from '../../src/testing/cassette-vitest.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/loaded-modules.mjs', import.meta.url));
const loaded = async (specifier: string): Promise<string[]> => {
  const { stdout } = await promisify(execFile)(process.execPath, [script, specifier], { cwd: root });
  return JSON.parse(stdout) as string[];
};
const fromVitest = (urls: string[]) => urls.filter((u) => /\/node_modules\/(vitest|@vitest)\//.test(u));

describe('turnstate/testing/vitest', () => {
  it('exports useCassette and cassetteMode', () => {
    expect(entry.useCassette).toBe(useCassette);
    expect(typeof entry.cassetteMode).toBe('function');
  });

  it('turnstate/testing loads no vitest module; turnstate/testing/vitest does (so the check can see one)', async () => {
    const testing = await loaded('turnstate/testing');
    expect(testing).toContain(new URL('dist/src/testing/index.js', `file://${root}`).href);
    expect(fromVitest(testing)).toEqual([]);
    const withVitest = await loaded('turnstate/testing/vitest');
    expect(withVitest).toContain(new URL('dist/src/testing/vitest.js', `file://${root}`).href);
    expect(fromVitest(withVitest).length).toBeGreaterThan(0);
  });
});
