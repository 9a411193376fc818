import { TurnstateError } from '../errors.js';

/**
 * Why turnstate/restate refused. Stable; new codes are only added.
 *
 * - `unsupported_runtime`: the installed @restatedev/restate-sdk needs a newer
 *   Node (1.14 and later call `Promise.withResolvers`, Node ≥ 22; on Node 20
 *   every invocation would die inside the SDK and leave the call hanging).
 * - `invalid_input`: a handler's input is not what it takes (`where` names the
 *   field).
 * - `run_waiting_for_decision`: the conversation's last run stopped with tool
 *   calls in doubt; `decide` (or `discard`) comes before the next `send`.
 * - `no_pending_run`: `decide` or `discard` on a conversation with no stopped run.
 * - `invalid_options`: the object's configuration is unusable (no params, a
 *   bad tool list).
 */
export type RestateRunErrorCode = 'unsupported_runtime' | 'invalid_input' | 'run_waiting_for_decision' | 'no_pending_run' | 'invalid_options';

export class RestateRunError extends TurnstateError {
  override readonly name = 'RestateRunError';
  constructor(
    readonly code: RestateRunErrorCode,
    message: string,
    /** The handler or option the error is about (`send.message`, `decide.decisions`, `tools`). */
    readonly where: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(where === null ? message : `${where}: ${message}`, options);
  }
}
