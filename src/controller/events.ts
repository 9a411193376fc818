import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { BudgetName, ControllerErrorCode } from './errors.js';
import type { RequestKind, RunPhase, RunStatus } from './types.js';
import type { UsageTotals } from './usage.js';

/**
 * What a run reports while it goes. Every event has `type`, `runId` and `at`
 * (epoch ms). The union is stable; new event types may be added.
 */
export type ControllerEvent =
  | { type: 'run_start'; runId: string; at: number; resumed: boolean; phase: RunPhase }
  /** The continuation machine moved (names as the Stately inspector shows them). */
  | { type: 'state'; runId: string; at: number; state: string }
  | { type: 'segment_start'; runId: string; at: number; segment: number; kind: RequestKind; attempt: number; maxTokens: number }
  /** Streamed text of the segment in flight (also sent for attempts that are later retried). */
  | { type: 'text'; runId: string; at: number; segment: number; /** Content block index within the segment. */ index: number; delta: string }
  /**
   * A content block of the segment in flight is complete. A summary, not the
   * block (web search results can be large): its type, and for tool calls
   * (client or server) the tool's name, the call id and the input; for tool
   * results, `id` is the id of the call they answer.
   */
  | { type: 'block'; runId: string; at: number; segment: number; index: number; blockType: string; name: string | null; id: string | null; input: unknown }
  | {
      type: 'segment_end';
      runId: string;
      at: number;
      segment: number;
      stopReason: string | null;
      usage: UsageTotals;
      durationMs: number;
      requestId: string | null;
    }
  | { type: 'tool_start'; runId: string; at: number; id: string; name: string; input: unknown; attempt: number }
  | { type: 'tool_end'; runId: string; at: number; id: string; name: string; isError: boolean; durationMs: number }
  | { type: 'retry'; runId: string; at: number; segment: number; attempt: number; delayMs: number; code: string; apiErrorType: string | null }
  | { type: 'continuation'; runId: string; at: number; kind: RequestKind; count: number }
  | { type: 'budget'; runId: string; at: number; budget: BudgetName; limit: number | null; used: number | null }
  | { type: 'checkpoint'; runId: string; at: number; seq: number; phase: RunPhase }
  | { type: 'run_end'; runId: string; at: number; status: RunStatus; stopReason: string | null; errorCode: ControllerErrorCode | null };

export type ControllerEventType = ControllerEvent['type'];
export type ControllerEventOf<T extends ControllerEventType> = Extract<ControllerEvent, { type: T }>;

/** Per-type callbacks, e.g. `{ segment_end: (e) => … }`. */
export type ControllerEventHandlers = { [T in ControllerEventType]?: (event: ControllerEventOf<T>) => void };

/**
 * Fans events out to callbacks, to async iterators, and to a JSONL file. A
 * listener that throws is isolated (caught), so an observer can never break
 * the run it observes. An iterator sees the events emitted after it was made.
 */
export class EventHub {
  readonly #handlers: ControllerEventHandlers;
  readonly #listeners: ((event: ControllerEvent) => void)[] = [];
  readonly #iterators = new Set<EventQueue>();
  #log: WriteStream | null = null;
  #closed = false;
  readonly #any: boolean;

  constructor(handlers: ControllerEventHandlers = {}, onEvent?: (event: ControllerEvent) => void, logFile?: string) {
    this.#handlers = handlers;
    if (onEvent) this.#listeners.push(onEvent);
    if (logFile !== undefined) {
      mkdirSync(dirname(logFile), { recursive: true });
      this.#log = createWriteStream(logFile, { flags: 'a' });
    }
    this.#any = Object.keys(handlers).length > 0 || this.#listeners.length > 0 || this.#log !== null;
  }

  /** Whether anybody listens for `type` (lets hot paths skip building events). */
  wants(type: ControllerEventType): boolean {
    return this.#handlers[type] !== undefined || this.#listeners.length > 0 || this.#iterators.size > 0 || this.#log !== null;
  }

  /** Whether anybody listens at all. */
  get active(): boolean {
    return this.#any || this.#iterators.size > 0;
  }

  emit(event: ControllerEvent): void {
    if (this.#closed || !this.active) return;
    const handler = this.#handlers[event.type] as ((event: ControllerEvent) => void) | undefined;
    try {
      handler?.(event);
    } catch {
      // observers never break the run
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // observers never break the run
      }
    }
    for (const queue of this.#iterators) queue.push(event);
    this.#log?.write(`${JSON.stringify(event)}\n`);
  }

  /** An async iterator over events; ends when the run ends. */
  iterate(): AsyncIterableIterator<ControllerEvent> {
    const queue = new EventQueue(() => this.#iterators.delete(queue));
    if (this.#closed) queue.end();
    else this.#iterators.add(queue);
    return queue;
  }

  /** Ends iterators and flushes the log file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const queue of this.#iterators) queue.end();
    this.#iterators.clear();
    const log = this.#log;
    this.#log = null;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }
}

class EventQueue implements AsyncIterableIterator<ControllerEvent> {
  readonly #items: ControllerEvent[] = [];
  readonly #waiting: ((result: IteratorResult<ControllerEvent>) => void)[] = [];
  readonly #detach: () => void;
  #done = false;

  constructor(detach: () => void) {
    this.#detach = detach;
  }

  push(event: ControllerEvent): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value: event, done: false });
    else this.#items.push(event);
  }

  end(): void {
    this.#done = true;
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<ControllerEvent>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  return(): Promise<IteratorResult<ControllerEvent>> {
    this.#done = true;
    this.#items.length = 0;
    this.#detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ControllerEvent> {
    return this;
  }
}
