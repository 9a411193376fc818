import { TurnstateError } from '../errors.js';

/**
 * What the test helpers refuse. Stable; new codes are only added.
 *
 * - `unknown_recording`: `loadRecording` was asked for a name that is not one
 *   of the shipped recordings (`available` lists them).
 */
export type TestingErrorCode = 'unknown_recording';

export class TestingError extends TurnstateError {
  override readonly name = 'TestingError';
  readonly code: TestingErrorCode;
  /** For `unknown_recording`: the names that would have worked. */
  readonly available: readonly string[];

  constructor(code: TestingErrorCode, message: string, details: { available?: readonly string[] } = {}) {
    super(message);
    this.code = code;
    this.available = details.available ?? [];
  }
}
