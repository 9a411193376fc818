import type {
  BetaContentBlock,
  BetaMessage,
  BetaMessageParam,
  BetaTextCitation,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { Diagnostic, StreamingMessage } from '../assemble/types.js';
import { TurnstateError } from '../errors.js';
import { SseError } from '../sse/errors.js';
import type { StreamEvent, UnknownEvent } from '../sse/events.js';
import type { StreamSource } from '../sse/sources.js';
import { ListenerError, TurnStreamError } from './errors.js';
import { asParsedMessage, ndjsonEvents, ndjsonReadable, serializeEvent } from './ndjson.js';
import { idleLimit, pump, type ParseOptions } from './parse.js';
import { TurnParser } from './turn-parser.js';
import type { TurnHandlers, TurnOptions, TurnResult } from './types.js';

type Event = StreamEvent | UnknownEvent;

/**
 * The SDK `MessageStream`'s events, with its argument order. Errors are
 * turnstate's typed ones; `diagnostic` is turnstate's own.
 */
export interface TurnStreamEvents {
  connect: () => void;
  streamEvent: (event: Event, snapshot: StreamingMessage) => void;
  text: (textDelta: string, textSnapshot: string) => void;
  citation: (citation: BetaTextCitation, citationsSnapshot: BetaTextCitation[]) => void;
  inputJson: (partialJson: string, jsonSnapshot: unknown) => void;
  thinking: (thinkingDelta: string, thinkingSnapshot: string) => void;
  signature: (signature: string) => void;
  compaction: (compactedContent: string) => void;
  message: (message: BetaMessage) => void;
  contentBlock: (content: BetaContentBlock) => void;
  finalMessage: (message: BetaMessage) => void;
  /** The stream failed: an SseError / StreamError with `partial`, or the SDK's own error if the request itself failed. */
  error: (error: TurnstateError | Error) => void;
  /** `abort()` (or the caller's signal): an SseError `aborted`, with `partial`. */
  abort: (error: SseError) => void;
  end: () => void;
  /** turnstate: an unknown event skipped, a block index repaired, a listener that threw. */
  diagnostic: (diagnostic: Diagnostic) => void;
}

type Name = keyof TurnStreamEvents;
type Entry = { listener: (...args: never[]) => void; once: boolean };
type Emitted<E extends Name> = Parameters<TurnStreamEvents[E]> extends [infer P] ? P : Parameters<TurnStreamEvents[E]> extends [] ? void : Parameters<TurnStreamEvents[E]>;

/** Events a TurnParser produces, forwarded only once someone listens (so its snapshots stay unbuilt otherwise). */
const FROM_PARSER = new Set<Name>(['streamEvent', 'text', 'citation', 'inputJson', 'thinking', 'signature', 'compaction', 'contentBlock', 'diagnostic']);

/** Sends the request; resolves with the raw response, whose bytes turnstate parses. */
export type OpenResponse = (signal: AbortSignal) => Promise<Response>;

/**
 * The SDK `MessageStream` surface over turnstate's strict parser: the same
 * listeners, methods, promises and event timing, so code written against
 * `client.messages.stream(params)` works with `streamMessage(client, params)`
 * — and gets the grammar, the stop-reason guard and the max_tokens drop.
 * Made by {@link streamMessage} or {@link TurnStream.fromReadableStream}.
 */
/** turnstate's options for a {@link TurnStream}: the parser's, and how long the source may stall. */
export type TurnStreamOptions = TurnOptions & Pick<ParseOptions, 'idleTimeoutMs'>;

export class TurnStream implements AsyncIterable<Event> {
  /** The request's messages, then each message received (as the SDK keeps them). */
  messages: BetaMessageParam[] = [];
  receivedMessages: BetaMessage[] = [];
  controller: AbortController = new AbortController();

  readonly #options: TurnOptions;
  readonly #idle: number | null;
  readonly #listeners: { [E in Name]?: Entry[] } = {};
  readonly #raw: ((event: Event) => void)[] = [];
  readonly #failures: Diagnostic[] = [];
  #turn: TurnParser | null = null;
  #result: TurnResult | null = null;
  #response: Response | null | undefined;
  #requestId: string | null | undefined;
  #ended = false;
  #errored = false;
  #aborted = false;
  #catching = false;
  readonly #connected: Promise<Response | null>;
  #resolveConnected!: (response: Response | null) => void;
  #rejectConnected!: (error: unknown) => void;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;
  #rejectDone!: (error: unknown) => void;

  /** @internal Use {@link streamMessage} or {@link TurnStream.fromReadableStream}. */
  constructor(options: TurnStreamOptions = {}) {
    this.#idle = idleLimit(options.idleTimeoutMs);
    this.#options = options;
    this.#connected = new Promise((resolve, reject) => {
      this.#resolveConnected = resolve;
      this.#rejectConnected = reject;
    });
    this.#done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // As the SDK: no unhandled rejection from these unless nobody handles the error at all (see #emit).
    this.#connected.catch(() => {});
    this.#done.catch(() => {});
  }

  /** A stream read back from `toReadableStream()` (newline-delimited JSON events), e.g. in a browser. */
  static fromReadableStream(stream: ReadableStream, options: TurnStreamOptions = {}): TurnStream {
    const runner = new TurnStream(options);
    runner._run(async () => {
      runner._connected(null);
      await runner.#parse(ndjsonEvents(stream, runner.controller.signal));
    });
    return runner;
  }

  /** @internal Sends the request with `open` and parses the response. */
  _start(open: OpenResponse, signal?: AbortSignal | null): void {
    if (signal) {
      if (signal.aborted) this.controller.abort(signal.reason);
      else signal.addEventListener('abort', () => this.controller.abort(signal.reason), { once: true });
    }
    this._run(async () => {
      let response: Response;
      try {
        response = await open(this.controller.signal);
      } catch (error) {
        if (this.controller.signal.aborted) throw new SseError('aborted', 'the request was aborted', { eventIndex: 0, cause: error });
        throw error; // the SDK's own error (HTTP status, connection): HTTP is the SDK's job
      }
      this._connected(response);
      await this.#parse(response);
    });
  }

  protected _run(executor: () => Promise<void>): void {
    executor().then(
      () => {
        const last = this.receivedMessages.at(-1);
        if (last) this.#emit('finalMessage', last);
        this.#emit('end');
      },
      (error: unknown) => this.#handleError(error),
    );
  }

  protected _connected(response: Response | null): void {
    if (this.#ended) return;
    this.#response = response;
    this.#requestId = response?.headers.get('request-id');
    this.#resolveConnected(response);
    this.#emit('connect');
  }

  async #parse(source: StreamSource): Promise<void> {
    const turn = new TurnParser(this.#options);
    this.#turn = turn;
    this.#forwarded.clear();
    turn.on('message', (message) => {
      this.messages.push(message as BetaMessageParam);
      const parsed = asParsedMessage(message);
      this.receivedMessages.push(parsed);
      this.#emit('message', parsed);
    });
    if (this.#raw.length > 0) this.#forwardRaw(turn);
    for (const name of FROM_PARSER) if (this.#listeners[name]?.length) this.#forward(turn, name);
    await pump(source, turn, this.controller.signal, this.#idle);
    const result = turn.end();
    this.#result = result;
    if (!result.ok) throw result.error;
  }

  /** Events the current parser forwards: each at most once, and only once someone listens. */
  readonly #forwarded = new Set<Name>();

  #forward(turn: TurnParser, name: Name): void {
    if (this.#forwarded.has(name)) return;
    this.#forwarded.add(name);
    turn.on(name as keyof TurnHandlers, ((...args: never[]) => this.#emit(name, ...(args as never as []))) as never);
  }

  #forwardRaw(turn: TurnParser): void {
    turn.on('event', (event) => {
      // As the SDK's Stream: pings are not events.
      if (event.type === 'ping') return;
      for (const listener of this.#raw) listener(event);
    });
  }

  get response(): Response | null | undefined {
    return this.#response;
  }
  get request_id(): string | null | undefined {
    return this.#requestId;
  }
  get ended(): boolean {
    return this.#ended;
  }
  get errored(): boolean {
    return this.#errored;
  }
  get aborted(): boolean {
    return this.#aborted;
  }
  /** The message so far (stop fields hidden until message_delta), or undefined. */
  get currentMessage(): StreamingMessage | undefined {
    return this.#turn?.snapshot.message ?? undefined;
  }
  /** turnstate: the verdict, once the stream ended (dropped blocks, diagnostics, trace). */
  get result(): TurnResult | null {
    return this.#result ?? (this.#turn && this.#ended ? this.#turn.result : null);
  }
  /** turnstate: diagnostics so far, listener failures included. */
  get diagnostics(): readonly Diagnostic[] {
    const parsed = this.#turn?.result.diagnostics ?? [];
    return this.#failures.length === 0 ? parsed : [...parsed, ...this.#failures];
  }

  async withResponse(): Promise<{ data: TurnStream; response: Response; request_id: string | null | undefined }> {
    this.#catching = true;
    const response = await this.#connected;
    if (!response) throw new TurnStreamError('no_response', 'this stream has no Response (it was made with fromReadableStream)');
    return { data: this, response, request_id: response.headers.get('request-id') };
  }

  abort(): void {
    this.controller.abort();
  }

  on<E extends Name>(event: E, listener: NoInfer<TurnStreamEvents[E]>): this {
    return this.#add(event, listener, false);
  }

  once<E extends Name>(event: E, listener: NoInfer<TurnStreamEvents[E]>): this {
    return this.#add(event, listener, true);
  }

  off<E extends Name>(event: E, listener: NoInfer<TurnStreamEvents[E]>): this {
    const list = this.#listeners[event];
    const at = list?.findIndex((l) => l.listener === listener) ?? -1;
    if (at >= 0) list!.splice(at, 1);
    return this;
  }

  #add(event: Name, listener: (...args: never[]) => void, once: boolean): this {
    (this.#listeners[event] ??= []).push({ listener, once });
    if (this.#turn !== null && FROM_PARSER.has(event)) this.#forward(this.#turn, event);
    return this;
  }

  /** Resolves the next time `event` fires; rejects if the stream errors first (for `error`, resolves with the error). */
  emitted<E extends Name>(event: E): Promise<Emitted<E>> {
    return new Promise((resolve, reject) => {
      this.#catching = true;
      if (event !== 'error') this.once('error', reject);
      this.once(event, resolve as never);
    });
  }

  async done(): Promise<void> {
    this.#catching = true;
    await this.#done;
  }

  async finalMessage(): Promise<BetaMessage> {
    await this.done();
    return this.#finalMessage();
  }

  async finalText(): Promise<string> {
    await this.done();
    const texts = this.#finalMessage()
      .content.filter((block) => block.type === 'text')
      .map((block) => (block as { text: string }).text);
    if (texts.length === 0) throw new TurnStreamError('no_text_block', 'the stream ended without producing a content block with type=text');
    return texts.join(' ');
  }

  #finalMessage(): BetaMessage {
    const last = this.receivedMessages.at(-1);
    if (!last) throw new TurnStreamError('no_message', 'the stream ended without producing a Message with role=assistant');
    return last;
  }

  #handleError(error: unknown): void {
    this.#errored = true;
    if (this.controller.signal.aborted || (error instanceof SseError && error.code === 'aborted')) {
      this.#aborted = true;
      const aborted =
        error instanceof SseError && error.code === 'aborted'
          ? error
          : new SseError('aborted', 'the stream was aborted', { eventIndex: this.#turn?.result.eventCount ?? 0, cause: error });
      this.#emit('abort', aborted);
      return;
    }
    this.#emit('error', error instanceof Error ? error : new TurnStreamError('request_failed', String(error)));
  }

  #emit<E extends Name>(event: E, ...args: Parameters<TurnStreamEvents[E]>): void {
    if (this.#ended) return;
    if (event === 'end') {
      this.#ended = true;
      this.#resolveDone();
    }
    const listeners = this.#listeners[event];
    if (listeners) {
      this.#listeners[event] = listeners.filter((l) => !l.once);
      for (const { listener } of listeners) {
        try {
          (listener as (...a: unknown[]) => void)(...args);
        } catch (cause) {
          this.#listenerFailed(event, cause);
        }
      }
    }
    if (event === 'abort' || event === 'error') {
      const error = args[0];
      // As the SDK: nobody listening and no promise asked for means an unhandled rejection, not silence.
      if (!this.#catching && !listeners?.length) void Promise.reject(error);
      this.#rejectConnected(error);
      this.#rejectDone(error);
      this.#emit('end');
    }
  }

  /** The rule TurnParser follows: a throwing listener is reported, never fatal (README, "Listeners that throw"). */
  #listenerFailed(event: Name, cause: unknown): void {
    const eventIndex = this.#turn ? Math.max(0, this.#turn.result.eventCount - 1) : 0;
    const error = new ListenerError(event, cause, { eventIndex, byteOffset: null });
    const diagnostic: Diagnostic = { code: 'listener_failed', message: error.message, eventIndex, error };
    if (this.#failures.length < 1000) this.#failures.push(diagnostic);
    if (event !== 'diagnostic') this.#emit('diagnostic', diagnostic);
  }

  [Symbol.asyncIterator](): AsyncIterator<Event> {
    const pushQueue: Event[] = [];
    const readQueue: { resolve: (event: Event | undefined) => void; reject: (error: unknown) => void }[] = [];
    let done = false;
    this.#onRaw((event) => {
      const reader = readQueue.shift();
      if (reader) reader.resolve(event);
      else pushQueue.push(event);
    });
    const finish = (error?: unknown): void => {
      done = true;
      for (const reader of readQueue.splice(0)) {
        if (error === undefined) reader.resolve(undefined);
        else reader.reject(error);
      }
    };
    this.on('end', () => finish());
    this.on('abort', (error) => finish(error));
    this.on('error', (error) => finish(error));
    return {
      next: async () => {
        if (pushQueue.length === 0) {
          if (done) return { value: undefined, done: true };
          const event = await new Promise<Event | undefined>((resolve, reject) => readQueue.push({ resolve, reject }));
          return event ? { value: event, done: false } : { value: undefined, done: true };
        }
        return { value: pushQueue.shift() as Event, done: false };
      },
      return: async () => {
        this.abort();
        return { value: undefined, done: true };
      },
    };
  }

  #onRaw(listener: (event: Event) => void): void {
    if (this.#raw.length === 0 && this.#turn !== null) this.#forwardRaw(this.#turn);
    this.#raw.push(listener);
  }

  /**
   * Newline-delimited JSON of the events (pings left out), for
   * `TurnStream.fromReadableStream` — or the SDK's `MessageStream.fromReadableStream` — on the other side.
   */
  toReadableStream(): ReadableStream<Uint8Array> {
    const lines: string[] = [];
    let wake: (() => void) | null = null;
    // Serialised on arrival: the parser builds the message inside its events' objects as more arrive.
    this.#onRaw((event) => {
      lines.push(serializeEvent(event));
      wake?.();
    });
    let finished = false;
    let failure: unknown = null;
    this.on('end', () => {
      finished = true;
      wake?.();
    });
    this.on('abort', (error) => void (failure = error));
    this.on('error', (error) => void (failure = error));
    return ndjsonReadable(
      async () => {
        while (lines.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        if (lines.length > 0) return lines.shift() as string;
        if (failure !== null) throw failure;
        return null;
      },
      () => this.abort(),
    );
  }
}
