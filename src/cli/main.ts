import { readFileSync } from 'node:fs';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';
import { resumeCommand } from './commands/resume.js';
import { demoCommand } from './commands/demo.js';
import { diagramCommand } from './commands/diagram.js';
import { CliError, errorCode, errorMessage, UsageError } from './errors.js';
import { EXIT, type CliIO, type Command } from './io.js';

/** Every subcommand; a new one is one entry here (its parsing, help and exit code are its own). */
const COMMANDS: readonly Command[] = [demoCommand, replayCommand, runCommand, resumeCommand, diagramCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: turnstate <command> [options]',
    '',
    'Strict parsing of Claude Messages API streams, and an agent loop that',
    'branches on stop_reason, never on the text.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `turnstate <command> --help` for a command\'s options.',
    '',
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The exit code for a command that was stopped early (Ctrl-C, closed stdout), or null. */
function stoppedCode(io: CliIO): number | null {
  if (!io.signal?.aborted) return null;
  const reason: unknown = io.signal.reason;
  if (reason instanceof CliError && reason.code === 'output_closed') return EXIT.outputClosed;
  return EXIT.interrupted;
}

/**
 * Runs the CLI; resolves to the exit code. Usage errors are one line on
 * stderr (exit 2); anything else that escapes a command is one line
 * `turnstate: <code>: <message>` (exit 1), never a stack trace.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${version()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    // Every command's --help, in one place; after `--` a "-h" is an argument, not a flag.
    const end = rest.indexOf('--');
    const flags = end === -1 ? rest : rest.slice(0, end);
    if (flags.includes('--help') || flags.includes('-h')) {
      io.stdout(`${command.help}\n`);
      return EXIT.ok;
    }
    const code = await command.run(rest, io);
    return stoppedCode(io) ?? code;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`turnstate: ${error.message}\n`);
      return EXIT.usage;
    }
    const stopped = stoppedCode(io);
    if (stopped !== null) return stopped;
    io.stderr(`turnstate: ${errorCode(error)}: ${errorMessage(error)}\n`);
    if (io.env['TURNSTATE_DEBUG'] && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return EXIT.failed;
  }
}
