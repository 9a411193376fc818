import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { ListenerError } from '../turn/errors.js';
import type { BudgetName, ControllerErrorCode } from './errors.js';
import type { LeaseHolder, RequestKind, RunPhase, RunStatus, ToolResult } from './types.js';
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
  /**
   * An approval decision for a call, once it is durable in the journal (so
   * before the call runs, or is answered with the deny `message`, or waits).
   * `source`: the `approveToolCall` hook, or a resume's `approvals`.
   */
  | { type: 'tool_approval'; runId: string; at: number; id: string; name: string; decision: 'approved' | 'denied' | 'deferred'; message: string | null; source: 'hook' | 'resume' }
  /** `error`: for a failed call (`isError`), the text of its result (what the model is told), else null. */
  | { type: 'tool_end'; runId: string; at: number; id: string; name: string; isError: boolean; durationMs: number; error: string | null }
  | { type: 'retry'; runId: string; at: number; segment: number; attempt: number; delayMs: number; code: string; apiErrorType: string | null }
  | { type: 'continuation'; runId: string; at: number; kind: RequestKind; count: number }
  | { type: 'budget'; runId: string; at: number; budget: BudgetName; limit: number | null; used: number | null }
  | { type: 'checkpoint'; runId: string; at: number; seq: number; phase: RunPhase }
  /** The run's lease was stale (its holder dead on this host, or expired) and this run took it over. */
  | { type: 'lease_takeover'; runId: string; at: number; previous: LeaseHolder; reason: 'holder_dead' | 'expired' | 'unreadable' }
  | { type: 'run_end'; runId: string; at: number; status: RunStatus; stopReason: string | null; errorCode: ControllerErrorCode | null }
  /**
   * An output the controller writes for observers failed; that output stops,
   * the run goes on. `observer` is `eventLog` (the JSONL file: a directory, a
   * read-only or full file system, no permission); `code` is the system error
   * code (`EISDIR`, `EROFS`, `ENOSPC`, `EACCES`…). Sent once per output, to
   * callbacks and iterators (never to the failed output itself); a failure of
   * the last flush comes after `run_end`, to callbacks only.
   */
  | { type: 'observer_failed'; runId: string; at: number; observer: 'eventLog'; path: string; code: string; message: string };

export type ControllerEventType = ControllerEvent['type'];
export type ControllerEventOf<T extends ControllerEventType> = Extract<ControllerEvent, { type: T }>;

/** Per-type callbacks, e.g. `{ segment_end: (e) => … }`. */
export type ControllerEventHandlers = { [T in ControllerEventType]?: (event: ControllerEventOf<T>) => void };

/** The text of a tool result, for `tool_end.error`: a string as is, else its text blocks joined. */
export function resultText(result: ToolResult | null): string {
  if (result === null) return '';
  const content: unknown = result.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((block: unknown) => (block && typeof block === 'object' && typeof (block as { text?: unknown }).text === 'string' ? (block as { text: string }).text : '')).join('');
}

/** Where an event hub's own reports (`observer_failed`) take their run id and time from. */
export interface EventHubContext {
  readonly runId: string;
  readonly now: () => number;
}

/**
 * Fans events out to callbacks, to async iterators, and to a JSONL file. A
 * listener that throws is isolated (caught) and kept in `listenerErrors`, as
 * TurnParser does with its listeners: an observer can never change the run it
 * observes. An iterator sees the events emitted after it was made.
 *
 * The log file never crashes the process or fails the run: a log that cannot
 * be created or written (its path is a directory, the file system is
 * read-only or full) is closed and reported once as an `observer_failed`
 * event; the run goes on without it. (A WriteStream's `error` event with no
 * listener would be thrown by Node as an uncaught exception, taking every
 * run in the process down.)
 */
export class EventHub {
  readonly #handlers: ControllerEventHandlers;
  readonly #listeners: ((event: ControllerEvent) => void)[] = [];
  readonly #iterators = new Set<EventQueue>();
  readonly #context: EventHubContext | undefined;
  #log: WriteStream | null = null;
  #logPath = '';
  /** A log failure not yet reported (it happened before the first event could carry it). */
  #pendingFailure: unknown = null;
  #closed = false;
  readonly #any: boolean;
  /** Callbacks that threw (at most 1000 kept). */
  readonly listenerErrors: ListenerError[] = [];

  constructor(handlers: ControllerEventHandlers = {}, onEvent?: (event: ControllerEvent) => void, logFile?: string, context?: EventHubContext) {
    this.#handlers = handlers;
    this.#context = context;
    if (onEvent) this.#listeners.push(onEvent);
    if (logFile !== undefined) this.#openLog(logFile);
    this.#any = Object.keys(handlers).length > 0 || this.#listeners.length > 0 || this.#log !== null || this.#pendingFailure !== null;
  }

  #openLog(path: string): void {
    this.#logPath = path;
    try {
      mkdirSync(dirname(path), { recursive: true });
      const log = createWriteStream(path, { flags: 'a' });
      log.on('error', (error) => this.#logFailed(log, error));
      this.#log = log;
    } catch (error) {
      this.#pendingFailure = error;
    }
  }

  #logFailed(log: WriteStream, error: unknown): void {
    if (this.#log !== log) return; // already reported, or closed
    this.#log = null;
    log.destroy();
    this.#report(error);
  }

  #report(error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    let message: string;
    try {
      message = error instanceof Error ? error.message : String(error);
    } catch {
      message = 'unknown error';
    }
    const event: ControllerEvent = {
      type: 'observer_failed',
      runId: this.#context?.runId ?? '',
      at: this.#context?.now() ?? Date.now(),
      observer: 'eventLog',
      path: this.#logPath,
      code: typeof code === 'string' ? code : 'unknown',
      message,
    };
    this.#deliver(event);
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
    this.#deliver(event);
    if (this.#log !== null) {
      try {
        this.#log.write(`${JSON.stringify(event)}\n`);
      } catch (error) {
        // e.g. an event nested too deeply to stringify: the log cannot be complete any more.
        this.#logFailed(this.#log, error);
      }
    }
    if (this.#pendingFailure !== null) {
      const failure = this.#pendingFailure;
      this.#pendingFailure = null;
      this.#report(failure);
    }
  }

  #deliver(event: ControllerEvent): void {
    const handler = this.#handlers[event.type] as ((event: ControllerEvent) => void) | undefined;
    try {
      handler?.(event);
    } catch (error) {
      this.#failed(event, error);
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#failed(event, error);
      }
    }
    for (const queue of this.#iterators) queue.push(event);
  }

  #failed(event: ControllerEvent, cause: unknown): void {
    if (this.listenerErrors.length < 1000) this.listenerErrors.push(new ListenerError(event.type, cause, { eventIndex: null, byteOffset: null }));
  }

  /** An async iterator over events; ends when the run ends. */
  iterate(): AsyncIterableIterator<ControllerEvent> {
    const queue = new EventQueue(() => this.#iterators.delete(queue));
    if (this.#closed) queue.end();
    else this.#iterators.add(queue);
    return queue;
  }

  /** Ends iterators and flushes the log file (a failed flush is reported, never thrown). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const queue of this.#iterators) queue.end();
    this.#iterators.clear();
    const log = this.#log;
    if (log === null) return;
    log.end();
    await finished(log).catch(() => {}); // an error here was reported by the 'error' listener
    if (this.#log === log) this.#log = null;
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
