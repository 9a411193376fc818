/** The CLI from source, as a child process (`node --import tsx test/support/cli-entry.ts …`): what bin/turnstate.js does with dist/. */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
