/**
 * @restatedev/restate-sdk is an optional peer dependency: only
 * turnstate/restate loads it, and on a Node it cannot run on it is refused
 * with a typed error instead of hanging every invocation.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { RestateRunError } from '../../src/restate/errors.js';
import { checkSdkRuntime, installedSdkVersion, sdkRunsWithoutWithResolvers } from '../../src/restate/runtime.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hooks = new URL('./fixtures/deny-restate-hooks.mjs', import.meta.url).href;
const run = promisify(execFile);

/** Imports `specifiers` (through the package's exports, as a consumer) with every @restatedev resolution refused. */
async function importDenyingRestate(specifiers: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = [`import { register } from 'node:module';`, `register(${JSON.stringify(hooks)});`, ...specifiers.map((s) => `await import(${JSON.stringify(s)});`), `console.log('imported');`].join('\n');
  return run(process.execPath, ['--input-type=module', '-e', script], { cwd: root }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe('the Restate SDK is optional', () => {
  it('importing turnstate, turnstate/controller and turnstate/testing loads no @restatedev package', async () => {
    const { code, stdout, stderr } = await importDenyingRestate(['turnstate', 'turnstate/controller', 'turnstate/testing']);
    expect(stderr).not.toContain('RESTATE_SDK_LOADED');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('imported');
  });

  it('the check would see it: importing turnstate/restate does load the SDK', async () => {
    const { code, stderr } = await importDenyingRestate(['turnstate/restate']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('RESTATE_SDK_LOADED @restatedev/restate-sdk');
  });
});

describe('the SDK / Node check', () => {
  it('knows which SDK releases run without Promise.withResolvers', () => {
    expect(['1.12.0', '1.12.9', '1.13.5', '0.8.1'].map(sdkRunsWithoutWithResolvers)).toEqual([true, true, true, true]);
    expect(['1.14.0', '1.14.5', '1.17.2', '2.0.0', 'not-a-version'].map(sdkRunsWithoutWithResolvers)).toEqual([false, false, false, false, false]);
  });

  it('refuses an SDK that needs Node 22 on a Node without Promise.withResolvers, with a typed error naming both fixes', () => {
    let thrown: unknown;
    try {
      checkSdkRuntime('1.17.2', false);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RestateRunError);
    expect((thrown as RestateRunError).code).toBe('unsupported_runtime');
    expect((thrown as Error).message).toMatch(/1\.17\.2 needs Promise\.withResolvers .*Node 22 or later, or @restatedev\/restate-sdk 1\.12\.x on Node 20/);
    expect(() => checkSdkRuntime('1.17.2', true)).not.toThrow();
    expect(() => checkSdkRuntime('1.12.0', false)).not.toThrow();
  });

  it('the installed (dev) SDK runs on this Node', () => {
    expect(() => checkSdkRuntime(installedSdkVersion())).not.toThrow();
  });
});
