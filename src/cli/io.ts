export { UsageError } from './errors.js';

/** What a CLI command may touch, injected so tests run commands in-process. */
export interface CliIO {
  /** Writes to standard output. Once the reader has gone (`| head`), writes are dropped and `signal` fires. */
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /**
   * Fires when the command should stop early: Ctrl-C (reason: a CliError
   * `interrupted`) or a closed standard output (`output_closed`). Commands
   * pass it on to the run they drive, so a run stops through its own abort path
   * and leaves a resumable checkpoint.
   */
  readonly signal?: AbortSignal | undefined;
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
// awaitingApproval: nothing failed, a person has to decide — a script must be able to tell that from a failure.
export const EXIT = { ok: 0, failed: 1, usage: 2, awaitingApproval: 3, interrupted: 130, outputClosed: 141 } as const;
