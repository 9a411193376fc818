import { StreamError } from '../../machines/stream.errors.js';
import { TurnstateError } from '../errors.js';
import { SseError } from '../sse/errors.js';
import { iterateSource, type StreamSource } from '../sse/sources.js';
import { TurnParser } from './turn-parser.js';
import type { TurnHandlers, TurnOptions, TurnResult } from './types.js';

export interface ParseOptions extends TurnOptions {
  /** Aborts the read; the result then fails with SseError `aborted`, keeping what arrived. */
  readonly signal?: AbortSignal;
  /**
   * Longest wait for the next chunk of an asynchronous source (any chunk —
   * a ping, one byte — restarts it) before the read fails with SseError
   * `stalled`, keeping what arrived, and the source is cancelled. Default
   * {@link DEFAULT_IDLE_TIMEOUT_MS}; 0 or Infinity: no limit. Only the wait
   * for the source counts, not time spent in listeners or between
   * `iterateTurn` steps.
   */
  readonly idleTimeoutMs?: number;
}

/** Two minutes without a byte: far longer than the API goes without a delta or a ping. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** setTimeout's largest delay; above it Node fires after 1 ms, so longer limits are no limit. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** @internal The idle limit in ms, or null for none; a RangeError for a value that is no limit at all. */
export function idleLimit(value: number | undefined): number | null {
  const ms = value ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) throw new RangeError(`idleTimeoutMs must be a number of milliseconds ≥ 0 (0 or Infinity: no limit), not ${String(value)}`);
  return ms === 0 || ms > MAX_TIMER_MS ? null : ms;
}

/**
 * Reads a whole stream and returns the verdict. Never rejects for a bad
 * stream: `result.ok` is false and `result.error` says why, with the partial
 * message beside it.
 */
export async function parseTurn(source: StreamSource, options: ParseOptions = {}): Promise<TurnResult> {
  const idle = idleLimit(options.idleTimeoutMs);
  const turn = new TurnParser(options);
  await pump(source, turn, options.signal, idle);
  return turn.end();
}

/** Parses a whole body held in memory, synchronously. */
export function parseTurnSync(source: string | Uint8Array | Iterable<unknown>, options: TurnOptions = {}): TurnResult {
  const turn = new TurnParser(options);
  try {
    for (const item of iterateSource(source) as Iterable<unknown>) feed(turn, item);
  } catch (error) {
    if (!(error instanceof TurnstateError)) throw error;
  }
  return turn.end();
}

/** One item of `iterateTurn`: a listener call, as data. */
export type TurnStreamEvent = {
  [K in keyof TurnHandlers]: { readonly type: K; readonly args: Parameters<TurnHandlers[K]> };
}[keyof TurnHandlers];

/**
 * The async-iterator interface: yields what listeners would receive, in
 * order and with their arguments (`{ type: 'text', args: [textDelta, textSnapshot] }`),
 * and returns the verdict.
 *
 * ```ts
 * const it = iterateTurn(response);
 * for (let r = await it.next(); !r.done; r = await it.next()) if (r.value.type === 'text') out.write(r.value.args[0]);
 * ```
 */
export async function* iterateTurn(
  source: StreamSource,
  options: ParseOptions & { readonly only?: readonly (keyof TurnHandlers)[] } = {},
): AsyncGenerator<TurnStreamEvent, TurnResult, undefined> {
  const idle = idleLimit(options.idleTimeoutMs);
  const turn = new TurnParser(options);
  const queue: TurnStreamEvent[] = [];
  const names = options.only ?? (['text', 'thinking', 'citation', 'signature', 'compaction', 'inputJson', 'contentBlock', 'stop', 'message', 'diagnostic', 'error'] as const);
  for (const type of names) turn.on(type, ((...args: unknown[]) => queue.push({ type, args } as unknown as TurnStreamEvent)) as never);
  const items = iterateSource(source);
  try {
    for await (const item of guarded(items, options.signal, idle, () => turn.result.eventCount)) {
      feed(turn, item);
      while (queue.length > 0) yield queue.shift() as TurnStreamEvent;
    }
  } catch (error) {
    fail(turn, error, options.signal);
  }
  const result = turn.end();
  while (queue.length > 0) yield queue.shift() as TurnStreamEvent;
  return result;
}

/** Feeds a whole source into `turn`; what the source throws becomes the turn's typed error. */
export async function pump(source: StreamSource, turn: TurnParser, signal: AbortSignal | undefined, idle: number | null): Promise<void> {
  try {
    for await (const item of guarded(iterateSource(source), signal, idle, () => turn.result.eventCount)) feed(turn, item);
  } catch (error) {
    fail(turn, error, signal);
  }
}

function feed(turn: TurnParser, item: unknown): void {
  if (typeof item === 'string' || item instanceof Uint8Array) turn.write(item);
  else turn.writeEvent(item);
}

/** Maps what a source can throw to the typed error the turn fails with. */
function fail(turn: TurnParser, error: unknown, signal: AbortSignal | undefined): void {
  if (error instanceof TurnstateError) {
    turn.abort(error);
    return;
  }
  const at = { eventIndex: turn.result.eventCount };
  if (signal?.aborted) {
    turn.abort(new SseError('aborted', 'the read was aborted', { ...at, cause: signal.reason }));
  } else if (isSdkStreamErrorEvent(error)) {
    // The SDK's own iterator turns `event: error` into an APIError; keep its error type.
    const body = error.error as { error?: { type?: string; message?: string }; request_id?: string } | string | undefined;
    const detail = typeof body === 'object' && body !== null ? body : undefined;
    const type = detail?.error?.type ?? 'api_error';
    const streamError = new StreamError('api_error', `the API reported ${type}: ${detail?.error?.message ?? error.message}`, {
      eventIndex: at.eventIndex, byteOffset: null, state: turn.snapshot.state, expected: 'the stream to continue', got: 'error',
      apiErrorType: type, requestId: detail?.request_id ?? null,
    });
    turn.abort(streamError);
  } else {
    turn.abort(new SseError('source_failed', `reading the stream failed: ${error instanceof Error ? error.message : String(error)}`, { ...at, cause: error }));
  }
}

/**
 * The error the SDK's stream iterator throws for an `event: error`: an
 * `APIError` with no HTTP status, the event's body in `error`. Recognised by
 * its shape, not `instanceof`: the caller's SDK may be another copy (or
 * version) than the one turnstate sees, and classes differ between copies.
 * The name excludes APIError's subclasses without a status (connection
 * errors, aborts), which are reading failures.
 */
function isSdkStreamErrorEvent(error: unknown): error is Error & { error: unknown } {
  return error instanceof Error && error.name === 'APIError' && 'status' in error && error.status === undefined && 'error' in error;
}

/**
 * Iterates, but stops at once when `signal` fires or, for an asynchronous
 * source, when no item arrives within `idle` ms — even if the source is stuck
 * waiting. The idle timer runs only while waiting for the source, and is
 * cleared when the iteration ends, so it never keeps the process alive.
 */
async function* guarded<T>(items: AsyncIterable<T> | Iterable<T>, signal: AbortSignal | undefined, idle: number | null, events: () => number): AsyncGenerator<T> {
  const async = Symbol.asyncIterator in items;
  if (signal === undefined && (idle === null || !async)) {
    yield* items;
    return;
  }
  signal?.throwIfAborted();
  const iterator = async ? items[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  let stop: (reason: unknown) => void = () => {};
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  stopped.catch(() => {});
  const onAbort = (): void => stop(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let waiting = false;
  const timer =
    idle !== null && async
      ? setTimeout(() => {
          if (waiting) stop(new SseError('stalled', `no data for ${idle} ms (idleTimeoutMs): the stream stalled after ${events()} events`, { eventIndex: events() }));
        }, idle)
      : null;
  try {
    for (;;) {
      // A timer that fired while a listener ran is re-armed here: only the wait counts.
      timer?.refresh();
      waiting = true;
      const next = await Promise.race([iterator.next(), stopped]);
      waiting = false;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (timer !== null) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
