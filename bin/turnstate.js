#!/usr/bin/env node
// The CLI runs from dist/, which `npm ci` / `npm install` build through the `prepare` script.
let runProcess;
try {
  ({ runProcess } = await import('../dist/src/cli/process.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write('turnstate: the CLI is not built (dist/ is missing); run `npm ci` or `npm run build` in the package folder\n');
  process.exit(1);
}
await runProcess(process.argv.slice(2));
