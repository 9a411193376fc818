#!/usr/bin/env node
// The CLI runs from dist/, which `npm ci` / `npm install` build through the `prepare` script.
//
// Commands that load no user code start from the bundle (dist/bundle/cli, built
// by scripts/bundle-cli.mjs: one copy of turnstate and of xstate's ESM build in
// a few files — issue 12). `run` and `resume` import the user's tools module,
// which imports `turnstate` itself, so they run from dist/src: one copy of every
// class and of xstate in the process. So do `demo` and `chat` (chat loads
// examples/chat from dist/). TURNSTATE_NO_BUNDLE=1 runs every command from dist/src.
import { existsSync } from 'node:fs';

const BUNDLED = new Set([undefined, '--help', '-h', 'help', '--version', '-v', 'replay', 'diagram', 'serve', 'record']);
const argv = process.argv.slice(2);
const bundle = new URL('../dist/bundle/cli/process.js', import.meta.url);
let runProcess;
try {
  // Without the bundle (dist/ built by tsc alone) every command runs from dist/src, only slower to start.
  const fromBundle = BUNDLED.has(argv[0]) && !process.env.TURNSTATE_NO_BUNDLE && existsSync(bundle);
  ({ runProcess } = await import(fromBundle ? bundle.href : '../dist/src/cli/process.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write('turnstate: the CLI is not built (dist/ is missing); run `npm ci` or `npm run build` in the package folder\n');
  process.exit(1);
}
await runProcess(argv);
