import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TestingError } from './errors.js';

/**
 * The recordings shipped in the package (`recordings/*.sse`, also importable
 * as `turnstate/recordings/<name>.sse`), found next to this module: two
 * levels up from src/testing when run from source, three from dist/src/testing.
 */
function recordingsDir(): string {
  for (const up of ['../../recordings/', '../../../recordings/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}verdicts.json`)) return dir;
  }
  throw new Error('turnstate/testing: the recordings/ folder is missing from the package');
}

let names: readonly string[] | null = null;

/** Every shipped recording's name, without `.sse`: `refusal`, `tool-use-single`, `demo/01-tool-use`, … (sorted). */
export function recordingNames(): readonly string[] {
  if (names !== null) return names;
  const dir = recordingsDir();
  const found = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((file) => file.split('\\').join('/'))
    .filter((file) => file.endsWith('.sse'))
    .map((file) => file.slice(0, -'.sse'.length))
    .sort();
  names = Object.freeze(found);
  return names;
}

function resolveName(name: string): string {
  const bare = name.endsWith('.sse') ? name.slice(0, -'.sse'.length) : name;
  // Only names from the listing are read, so a path like `../x` is just unknown.
  if (recordingNames().includes(bare)) return `${recordingsDir()}${bare}.sse`;
  throw new TestingError('unknown_recording', `no recording named ${JSON.stringify(name)}; available: ${recordingNames().join(', ')}`, {
    available: recordingNames(),
  });
}

/**
 * A shipped recording's bytes, decoded as UTF-8 — a body for
 * `startFakeMessagesApi({ replies: [loadRecording('refusal')] })` or
 * `parseTurnSync`. `name` is as `recordingNames()` lists it (`.sse` optional).
 * Throws `TestingError` `unknown_recording`, listing the names, for anything else.
 */
export function loadRecording(name: string): string {
  return readFileSync(resolveName(name), 'utf8');
}

/** The same, as raw bytes (for byte-offset tests, or to split a UTF-8 character on purpose). */
export function loadRecordingBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(resolveName(name)));
}
