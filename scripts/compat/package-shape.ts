// The installed package as a user meets it: ESM-only with a clear require()
// error, the recordings exported and loadable, a LICENSE, no source maps.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTurnSync } from 'turnstate';
import { loadRecording, recordingNames, TestingError } from 'turnstate/testing';

const require = createRequire(import.meta.url);
for (const specifier of ['turnstate', 'turnstate/controller', 'turnstate/testing']) {
  assert.throws(() => require(specifier), (error: NodeJS.ErrnoException) => error.code === 'ERR_TURNSTATE_ESM_ONLY' && error.message.includes('import'));
}

const refusal = fileURLToPath(import.meta.resolve('turnstate/recordings/refusal.sse'));
assert.equal(loadRecording('refusal'), readFileSync(refusal, 'utf8'));
assert.equal(parseTurnSync(loadRecording('refusal')).stopReason, 'refusal');
assert.ok(recordingNames().includes('demo/01-tool-use'));
assert.throws(() => loadRecording('nope'), (error: unknown) => error instanceof TestingError && error.code === 'unknown_recording');

const root = dirname(dirname(refusal));
assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License/);
const files = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' });
assert.deepEqual(files.filter((f) => f.endsWith('.map')), []);
const mapped = files.filter((f) => f.endsWith('.js') && readFileSync(join(root, 'dist', f), 'utf8').includes('sourceMappingURL'));
assert.deepEqual(mapped, []);
console.log(`package shape ok: ${files.filter((f) => f.endsWith('.js')).length} JS files, no maps; ${recordingNames().length} recordings`);
