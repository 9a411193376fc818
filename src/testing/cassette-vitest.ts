/**
 * `useCassette(name, { mode })` for vitest: the suite's requests go to a
 * loopback server that either records them (from the upstream, into
 * `<dir>/<name>/`) or replays them, in lockdown. `auto` records only when the
 * cassette is missing and a key is set; with CI=true it only ever replays.
 * A request the cassette cannot answer fails the suite in afterAll, even if
 * the code under test swallowed the HTTP error.
 */
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadCassetteDir } from './cassette.js';
import { TestingError } from './errors.js';
import { DEFAULT_UPSTREAM, startRecordingProxy, type RecordingProxy } from './record-proxy.js';
import { startCassetteServer, type CassetteServer, type CassetteServerOptions } from './serve.js';

export type CassetteMode = 'auto' | 'record' | 'replay';

export interface UseCassetteOptions extends Omit<CassetteServerOptions, 'dir' | 'cassettes' | 'port' | 'host'> {
  readonly mode?: CassetteMode;
  /** Where cassettes live (default `test/cassettes`, from the working directory). */
  readonly dir?: string;
  /** For recording (default ANTHROPIC_BASE_URL, else the public API). */
  readonly upstream?: string;
  readonly redact?: readonly (string | RegExp)[];
  /** Default process.env (CI, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL are read). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface CassetteHandle {
  /** The base URL to give the SDK client (valid from beforeAll on). */
  readonly url: string;
  /** What this run does: `record` or `replay`. */
  readonly mode: 'record' | 'replay';
  readonly dir: string;
  /** The replay server (null while recording). */
  readonly server: CassetteServer | null;
}

/** The decision, on its own: what a run does for a requested mode. */
export function cassetteMode(requested: CassetteMode, state: { hasRecordings: boolean; env: NodeJS.ProcessEnv; name: string }): 'record' | 'replay' {
  const ci = state.env['CI'] === 'true' || state.env['CI'] === '1';
  if (ci && requested === 'record') throw new TestingError('invalid_option', `cassette ${state.name}: mode 'record' with CI=true; CI only replays`);
  if (requested === 'record') return 'record';
  if (requested === 'replay' || ci || state.hasRecordings) {
    if (!state.hasRecordings) {
      throw new TestingError('no_cassette', `cassette ${state.name} has no recordings${ci ? ' and CI=true only replays' : ''}; record it first (mode 'record', or 'auto' with ANTHROPIC_API_KEY set)`);
    }
    return 'replay';
  }
  if (!state.env['ANTHROPIC_API_KEY'] && !state.env['ANTHROPIC_AUTH_TOKEN']) {
    throw new TestingError('no_cassette', `cassette ${state.name} has no recordings and no ANTHROPIC_API_KEY is set: nothing to replay, no way to record`);
  }
  return 'record';
}

export function useCassette(name: string, options: UseCassetteOptions | (() => UseCassetteOptions) = {}): CassetteHandle {
  let state: { url: string; mode: 'record' | 'replay'; dir: string; server: CassetteServer | null; proxy: RecordingProxy | null } | null = null;
  const get = () => {
    if (state === null) throw new TestingError('invalid_option', `cassette ${name}: not started yet (use it inside tests or later hooks)`);
    return state;
  };
  beforeAll(async () => {
    const o = typeof options === 'function' ? options() : options;
    const env = o.env ?? process.env;
    const dir = resolve(o.dir ?? 'test/cassettes', name);
    const recordings = await loadCassetteDir(dir);
    const mode = cassetteMode(o.mode ?? 'auto', { hasRecordings: recordings.length > 0, env, name });
    if (mode === 'record') {
      // A fresh recording replaces the old one whole: mixed takes would not replay coherently.
      const names = await readdir(dir).catch(() => [] as string[]);
      await Promise.all(names.filter((n) => /^\d+-.*(\.sse|\.response\.json|\.meta\.json)$/.test(n)).map((n) => rm(join(dir, n))));
      const proxy = await startRecordingProxy({ dir, upstream: o.upstream ?? env['ANTHROPIC_BASE_URL'] ?? DEFAULT_UPSTREAM, ...(o.redact ? { redact: o.redact } : {}), ...(o.ignore ? { match: { ignore: o.ignore, ...(o.fields ? { fields: o.fields } : {}) } } : {}) });
      state = { url: proxy.url, mode, dir, server: null, proxy };
      return;
    }
    const { mode: _mode, dir: _dir, upstream: _upstream, redact: _redact, env: _env, ...serve } = o;
    const server = await startCassetteServer({ lockdown: true, ...serve, cassettes: recordings });
    state = { url: server.url, mode, dir, server, proxy: null };
  });
  afterAll(async () => {
    if (state === null) return;
    await state.proxy?.close();
    await state.server?.close();
    const mismatches = state.server?.mismatches ?? [];
    if (mismatches.length > 0) throw new TestingError('no_match', `cassette ${name}: ${mismatches.length} request(s) had no recording:\n${mismatches.join('\n')}`);
  });
  return {
    get url() {
      return get().url;
    },
    get mode() {
      return get().mode;
    },
    get dir() {
      return get().dir;
    },
    get server() {
      return get().server;
    },
  };
}

