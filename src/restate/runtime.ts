import { createRequire } from 'node:module';
import { RestateRunError } from './errors.js';

/** The first @restatedev/restate-sdk release that calls `Promise.withResolvers` (Node ≥ 22). */
export const SDK_NEEDS_NODE22_FROM = [1, 14, 0] as const;

/** Whether `version` (semver) of the SDK can run without `Promise.withResolvers`. */
export function sdkRunsWithoutWithResolvers(version: string): boolean {
  const parts = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (parts === null) return false;
  const [major, minor, patch] = parts.slice(1).map(Number) as [number, number, number];
  const [M, m, p] = SDK_NEEDS_NODE22_FROM;
  return major !== M ? major < M : minor !== m ? minor < m : patch < p;
}

/** The installed SDK's version (its package.json is exported). */
export function installedSdkVersion(): string {
  return (createRequire(import.meta.url)('@restatedev/restate-sdk/package.json') as { version: string }).version;
}

/**
 * Refuses, with a clear error, an SDK that would die inside every invocation
 * on this Node (and leave the caller's HTTP/2 stream open: a client without a
 * timeout hangs). Pure checks, so tests can drive it with any version.
 */
export function checkSdkRuntime(version: string = installedSdkVersion(), hasWithResolvers: boolean = typeof (Promise as { withResolvers?: unknown }).withResolvers === 'function'): void {
  if (hasWithResolvers || sdkRunsWithoutWithResolvers(version)) return;
  throw new RestateRunError(
    'unsupported_runtime',
    `@restatedev/restate-sdk ${version} needs Promise.withResolvers (Node ≥ 22); this is Node ${process.versions.node}. ` +
      'Use Node 22 or later, or @restatedev/restate-sdk 1.12.x on Node 20',
    'runtime',
  );
}
