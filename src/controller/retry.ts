import type { RetrySettings } from './types.js';

export const DEFAULT_RETRY: RetrySettings = {
  maxRetries: 3,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  retryOnApiErrors: ['overloaded_error', 'api_error'],
};

/**
 * Why one model request did not yield a complete message. The machine's guards
 * read `kind` and `code`; nothing here looks at text.
 *
 * - `stream`: the response started but the stream failed (`code` is the
 *   stream layer's: `api_error`, `incomplete_stream`, `source_failed`, …).
 * - `request`: `createStream` threw (HTTP error after the SDK's retries, network).
 * - `aborted`: the run's signal fired (deadline or caller).
 */
export class SegmentFailure extends Error {
  override readonly name = 'SegmentFailure';
  constructor(
    readonly kind: 'stream' | 'request' | 'aborted',
    readonly code: string,
    message: string,
    readonly details: {
      apiErrorType?: string | null;
      requestId?: string | null;
      cause?: unknown;
      /** Usage the stream reported before it failed. */
      partialUsage?: unknown;
      durationMs?: number;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

/**
 * Whether a failure is worth the same request again: a mid-stream
 * `event: error` of a transient type, or a connection that dropped (the bytes
 * ended before `message_stop`, reading them threw, or they stopped coming: `stalled`). HTTP status errors are
 * not retried here: the SDK already retried them (`maxRetries`), and doing it
 * twice would multiply the attempts.
 */
export function isRetryable(failure: unknown, settings: RetrySettings): boolean {
  if (!(failure instanceof SegmentFailure) || failure.kind !== 'stream') return false;
  if (failure.code === 'api_error') return settings.retryOnApiErrors.includes(failure.details.apiErrorType ?? '');
  return failure.code === 'incomplete_stream' || failure.code === 'source_failed' || failure.code === 'stalled';
}

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random,
 * so retries from many clients spread out but never collapse to zero.
 * `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, settings: RetrySettings, random: () => number): number {
  const exp = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
