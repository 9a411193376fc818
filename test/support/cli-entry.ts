/** The CLI from source, as a child process (`node --import tsx test/support/cli-entry.ts …`): what bin/turnstate.js does with dist/. */
import { runProcess } from '../../src/cli/process.js';

await runProcess(process.argv.slice(2));
