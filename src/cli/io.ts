/** What a CLI command may touch, injected so tests run commands in-process. */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** One `turnstate <name>` subcommand. `run` resolves to the process exit code. */
export interface Command {
  readonly name: string;
  /** One line for `turnstate --help`. */
  readonly summary: string;
  /** The full text of `turnstate <name> --help`. */
  readonly help: string;
  run(argv: readonly string[], io: CliIO): Promise<number>;
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Thrown by a command for a usage error: main prints `turnstate: <message>` on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
