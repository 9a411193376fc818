import { ControllerError } from './errors.js';

/** The longest delay `setTimeout` honours; a longer one (or Infinity) fires after ~1 ms instead (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * `setTimeout` for any delay: longer than {@link MAX_TIMER_MS} is waited out in
 * chained timers; `Infinity` never fires. Returns the cancel function.
 */
export function setLongTimeout(callback: () => void, ms: number): () => void {
  if (ms === Infinity) return () => {};
  let remaining = Math.max(0, ms);
  let timer: NodeJS.Timeout;
  const step = (): void => {
    if (remaining <= MAX_TIMER_MS) {
      timer = setTimeout(callback, remaining);
      return;
    }
    remaining -= MAX_TIMER_MS;
    timer = setTimeout(step, MAX_TIMER_MS);
  };
  step();
  return () => clearTimeout(timer);
}

/**
 * A tool timeout as the caller gave it → the checkpointed form: a number of ms,
 * 0 meaning none (`Infinity` is stored as 0 too: JSON has no Infinity).
 * Negative, NaN or non-numbers are an `invalid_options` error naming `what`.
 */
export function toolTimeoutSetting(value: unknown, what: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ControllerError('invalid_options', `${what} must be a number of milliseconds ≥ 0 (0 or Infinity: no timeout), got ${describe(value)}`);
  }
  return value === Infinity ? 0 : value;
}

/** A finite, non-negative number option (a delay, a count), else `invalid_options`. */
export function nonNegativeSetting(value: unknown, what: string, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new ControllerError('invalid_options', `${what} must be a finite ${integer ? 'integer' : 'number'} ≥ 0, got ${describe(value)}`);
  }
  return value;
}

/**
 * The `raise` policy's growth factor: a finite number > 1. NaN would make the next `max_tokens` NaN, ≤ 1 would
 * grow it by one token a time, and Infinity cannot be checkpointed (JSON has none).
 */
export function raiseFactorSetting(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 1) {
    throw new ControllerError('invalid_options', `maxTokensRaiseFactor must be a finite number > 1, got ${describe(value)}`);
  }
  return value;
}

/**
 * The `raise` policy's ceiling: a positive integer number of tokens. NaN would be sent as `max_tokens: NaN` (the
 * API rejects it only after the run has spent a request), and a fraction is no token count.
 */
export function maxTokensCeilingSetting(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ControllerError('invalid_options', `maxTokensCeiling must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

export function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}
