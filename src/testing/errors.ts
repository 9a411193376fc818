import { TurnstateError } from '../errors.js';

/**
 * What the test helpers refuse. Stable; new codes are only added.
 *
 * - `unknown_recording`: `loadRecording` was asked for a name that is not one
 *   of the shipped recordings (`available` lists them).
 *
 * Cassettes (record, replay, break; `file` names the recording involved):
 * - `invalid_option`: an option is not of the documented form (a bad `--redact` pattern, speed, chaos rule, upstream URL).
 * - `cassette_invalid`: a `.meta.json` is not a cassette of this format, or its body file is missing or differs from its sha256.
 * - `no_cassette`: replay was asked for and there is no recording to serve.
 * - `no_match`: lockdown, and no recording matches the request (the message names the closest and what differs).
 * - `write_failed`: a recording could not be written.
 * - `upstream_failed`: the recording proxy could not reach the upstream.
 */
export type TestingErrorCode =
  | 'unknown_recording'
  | 'invalid_option'
  | 'cassette_invalid'
  | 'no_cassette'
  | 'no_match'
  | 'write_failed'
  | 'upstream_failed';

export class TestingError extends TurnstateError {
  override readonly name = 'TestingError';
  readonly code: TestingErrorCode;
  /** For `unknown_recording`: the names that would have worked. */
  readonly available: readonly string[];
  /** For cassette errors: the recording (its `.meta.json`) involved, when one is. */
  readonly file: string | null;

  constructor(code: TestingErrorCode, message: string, details: { available?: readonly string[]; file?: string | null; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.available = details.available ?? [];
    this.file = details.file ?? null;
  }
}
