/**
 * How the continuation machine turns what an invoked actor threw into the
 * run's {@link ControllerError}: pure, so the machine's actions stay thin.
 */
import { deadlineError } from '../src/controller/budget.js';
import { ControllerError } from '../src/controller/errors.js';
import { SegmentFailure } from '../src/controller/retry.js';
import { ToolBatchInterrupted } from '../src/controller/tools.js';
import type { RunState } from '../src/controller/types.js';

/** What a failure is judged by: the run's state, and why its signal fired. */
export interface FailureContext {
  readonly state: RunState;
  readonly env: { abortCause(): 'deadline' | 'caller' | null; now(): number };
}

/** The failure of an invoked actor (an interrupted tool batch is unwrapped to its cause). */
export const failureOf = (event: unknown): unknown => {
  const error = (event as { error?: unknown }).error;
  return error instanceof ToolBatchInterrupted ? error.cause : error;
};

/** A thrown value as a ControllerError (anything else is a checkpoint/tool-runner bug surfaced as failed). */
function asControllerError(error: unknown, fallback: ControllerError['code']): ControllerError {
  if (error instanceof ControllerError) return error;
  return new ControllerError(fallback, error instanceof Error ? error.message : String(error), { cause: error });
}

export function failureError(failure: unknown, context: FailureContext, during: string): ControllerError {
  if (context.env.abortCause() === 'deadline') return deadlineError(context.state, context.env.now(), during);
  if (context.env.abortCause() === 'caller' || (failure instanceof SegmentFailure && failure.kind === 'aborted')) {
    return new ControllerError('aborted', `the run was aborted during ${during}`, { cause: failure });
  }
  if (failure instanceof SegmentFailure) {
    const code = failure.kind === 'request' ? 'request_failed' : 'stream_failed';
    return new ControllerError(code, failure.message, { cause: failure.details.cause ?? failure });
  }
  return asControllerError(failure, 'request_failed');
}
