import { CliError, errorCode, errorMessage } from './errors.js';
import { EXIT, type CliIO } from './io.js';
import { main } from './main.js';

/**
 * Runs the CLI as the process: wires standard streams, Ctrl-C and a closed
 * stdout to the commands' stop signal, and makes sure no stack trace reaches
 * the user whatever throws (set TURNSTATE_DEBUG=1 to see one).
 */
export async function runProcess(argv: readonly string[]): Promise<void> {
  const stop = new AbortController();
  const debug = Boolean(process.env['TURNSTATE_DEBUG']);
  let stdoutOpen = true;
  let stderrOpen = true;
  const writeErr = (text: string): void => {
    if (stderrOpen) process.stderr.write(text);
  };
  const fatal = (error: unknown): void => {
    writeErr(`turnstate: ${errorCode(error)}: ${errorMessage(error)}\n`);
    if (debug && error instanceof Error && error.stack) writeErr(`${error.stack}\n`);
    process.exit(EXIT.failed);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // A reader that went away (`| head -1`) is the end of the command, not an error: stop, say nothing.
  process.stdout.on('error', () => {
    stdoutOpen = false;
    stop.abort(new CliError('output_closed', 'standard output was closed by its reader'));
  });
  process.stderr.on('error', () => {
    stderrOpen = false;
  });
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    // A second Ctrl-C means "now": the first one already asked the command to stop cleanly.
    if (interrupts > 1) process.exit(EXIT.interrupted);
    stop.abort(new CliError('interrupted', 'interrupted (SIGINT)'));
  });

  const io: CliIO = {
    stdout: (text) => {
      if (stdoutOpen) process.stdout.write(text);
    },
    stderr: writeErr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: stop.signal,
  };
  const code = await main(argv, io);
  // Stopped early: a tool that ignores its abort signal must not keep the process alive.
  if (stop.signal.aborted) process.exit(code);
  process.exitCode = code;
}
