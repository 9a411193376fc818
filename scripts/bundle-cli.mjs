// The CLI's start-up bundle (issue 12), built by `npm run build` after tsc:
// dist/src/cli/process.js and what it imports, bundled by esbuild into
// dist/bundle/cli/ — one ESM entry plus chunks, one per dynamic import, so a
// command still loads only its own code.
//
// Why: on Node 20 a process that imports `xstate` gets its CJS build (the
// package's "import" condition is a CJS wrapper; ~30 ms quiet, 80–100 ms
// loaded, against ~17 ms for its ESM build) and resolves ~40 separate ES
// modules. Inside the bundle xstate is its ESM build (esbuild honours the
// "module" condition), and the CLI's own modules are a few files. Switching the
// library's own `import 'xstate'` instead would give users' code (which gets
// the CJS build) a second xstate — the dual-package hazard.
//
// The bundle carries its own copy of turnstate's classes and of xstate, so
// bin/turnstate.js runs it only for commands that load no user code (see
// BUNDLED there); `run` and `resume` import a user's tools module, which
// imports `turnstate`, and must share its one copy: they run from dist/src.
//
// Left external: the SDK (a peer dependency: the user's copy), and the
// packages a fast command never loads at start-up (the diagram renderer, the
// inspector and its WebSocket server, zod, Restate).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Chunk names carry content hashes: start empty, or old chunks pile up.
rmSync(`${root}dist/bundle`, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/process.js'],
  outdir: 'dist/bundle/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Keeps class and function names (error.name, stack traces) as in dist/.
  keepNames: true,
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['@anthropic-ai/sdk', '@anthropic-ai/sdk/*', '@viz-js/viz', 'ws', '@statelyai/inspect', 'zod', '@restatedev/restate-sdk', '@restatedev/restate-sdk/*'],
  metafile: true,
  logLevel: 'warning',
});
// Which source modules each output file holds: the start-up test reads it to
// tell what a command really loaded.
writeFileSync(`${root}dist/bundle/meta.json`, `${JSON.stringify(result.metafile)}\n`);
