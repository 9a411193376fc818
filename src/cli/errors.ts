import { TurnstateError } from '../errors.js';

/**
 * Why the CLI itself (not the parser or the controller) could not do what was
 * asked. Stable; new codes are only added.
 *
 * - `usage`: a bad command line (unknown flag, bad value, no input). Exit 2,
 *   before any work.
 * - `file_unreadable`: an input file could not be opened or read (`errno`
 *   says why: `ENOENT`, `EACCES`, `EISDIR`…). Reported in that input's line.
 * - `output_unserializable`: a value could not be written as JSON (nested too
 *   deeply for the engine); reported in that input's line, naming the fields.
 * - `interrupted`: SIGINT (Ctrl-C). Exit 130.
 * - `output_closed`: standard output was closed by its reader (`| head`).
 *   The command stops quietly; exit 141, as a Unix tool killed by SIGPIPE.
 * - `internal`: anything else; printed as `turnstate: internal: message`,
 *   never as a stack trace (set TURNSTATE_DEBUG=1 for the stack).
 */
export type CliErrorCode = 'usage' | 'file_unreadable' | 'output_unserializable' | 'interrupted' | 'output_closed' | 'internal';

export interface CliErrorDetails {
  /** The system error code (`ENOENT`…) behind a `file_unreadable`. */
  readonly errno?: string | undefined;
  /** The input (file name, `-`) the error is about. */
  readonly input?: string | undefined;
  /** For `output_unserializable`: the fields that could not be written. */
  readonly fields?: readonly string[] | undefined;
  readonly cause?: unknown;
}

/** The CLI layer's error. */
export class CliError extends TurnstateError {
  override readonly name: string = 'CliError';
  readonly code: CliErrorCode;
  readonly errno: string | null;
  readonly input: string | null;
  readonly fields: readonly string[] | null;

  constructor(code: CliErrorCode, message: string, details: CliErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.errno = details.errno ?? null;
    this.input = details.input ?? null;
    this.fields = details.fields ?? null;
  }

  override toJSON(): ReturnType<TurnstateError['toJSON']> & { errno?: string; fields?: string[] } {
    const json: ReturnType<TurnstateError['toJSON']> & { errno?: string; fields?: string[] } = super.toJSON();
    if (this.errno !== null) json.errno = this.errno;
    if (this.fields !== null) json.fields = [...this.fields];
    return json;
  }
}

/** A usage error: main prints `turnstate: <message>` on one line and exits 2. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('usage', message);
  }
}

/** The `code` of a thrown value, for the catch-all line: a turnstate code, a system code, else `internal`. */
export function errorCode(error: unknown): string {
  if (error instanceof TurnstateError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'internal';
}

/** A one-line description of any thrown value; never throws (a hostile `message` getter included). */
export function errorMessage(error: unknown): string {
  try {
    const message = error instanceof Error ? error.message : String(error);
    return message.split('\n')[0] ?? '';
  } catch {
    return 'an error that cannot be described';
  }
}
