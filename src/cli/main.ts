import { readFileSync } from 'node:fs';
import { CliError, errorCode, errorMessage, UsageError } from './errors.js';
import { EXIT, type CliIO, type Command } from './io.js';

/** A subcommand as `turnstate --help` lists it; its module is imported only when it is the one that runs. */
export interface CommandEntry {
  readonly name: string;
  /** One line for `turnstate --help`; a test checks it equals the module's own `summary`. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/**
 * Every subcommand; a new one is one entry here (its parsing, help and exit
 * code are its own, in its module). Imports stay dynamic: a static one would
 * make every command pay for the others' modules (the SDK, undici, the
 * controller) at start-up — issue 12.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'demo',
    summary: 'run the controller against a built-in fake API (tool_use → pause_turn → max_tokens → end_turn); no key needed',
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  {
    name: 'replay',
    summary: 'replay recorded streams and report state trace, blocks, stop reason, usage, errors',
    load: async () => (await import('./commands/replay.js')).replayCommand,
  },
  {
    name: 'run',
    summary: 'send a prompt and follow the turn to its end (tools, pause_turn, max_tokens), resumably',
    load: async () => (await import('./commands/run.js')).runCommand,
  },
  {
    name: 'resume',
    summary: 'continue a run from its checkpoint without losing or repeating work',
    load: async () => (await import('./commands/resume.js')).resumeCommand,
  },
  {
    name: 'diagram',
    summary: 'draw the stream or continuation machine (mermaid, dot, svg, json) from its definition',
    load: async () => (await import('./commands/diagram.js')).diagramCommand,
  },
  {
    name: 'record',
    summary: 'a loopback proxy that records every response byte-exact into a cassette directory',
    load: async () => (await import('./commands/record.js')).recordCommand,
  },
  {
    name: 'serve',
    summary: 'replay a cassette directory as a fake Messages API, optionally broken on purpose',
    load: async () => (await import('./commands/serve.js')).serveCommand,
  },
  {
    name: 'chat',
    summary: 'the reference streaming chat backend and page on loopback (fake model without ANTHROPIC_API_KEY); resumes turns after a restart',
    load: async () => (await import('./commands/chat.js')).chatCommand,
  },
];

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
  const entry = COMMANDS.find((c) => c.name === name);
  try {
    if (entry === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    // Every command's --help, in one place; after `--` a "-h" is an argument, not a flag.
    const command = await entry.load();
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
