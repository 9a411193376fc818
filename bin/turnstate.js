#!/usr/bin/env node
// The CLI runs from dist/, which `npm ci` / `npm install` build through the `prepare` script.
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write('turnstate: the CLI is not built (dist/ is missing); run `npm ci` or `npm run build` in the package folder\n');
  process.exit(1);
}

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
