import type { BetaMessage, BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { parseTurn as defaultParseTurn } from '../turn/parse.js';
import { startRun, type RunHandle, type RunOptions } from './controller.js';
import { ControllerError } from './errors.js';
import { sdkCreateStream, type CreateStream, type ParseTurn } from './model.js';
import type { RequestParams, RunResult } from './types.js';

/** The params `setMessagesParams` sees and returns: the request params with the conversation, as the SDK's runner has them. */
export type RunnerParams = RequestParams & { readonly messages: readonly BetaMessageParam[] };

/**
 * The SDK `toolRunner`'s way in, on the controller: `for await (const message
 * of runner)` yields each assistant message as it completes; `done()`,
 * `runUntilDone()`, `setMessagesParams`, `pushMessages`, `generateToolResponse`.
 *
 * Each run is one `startRun` — budgets, retries, the journal and exactly-once
 * tools unchanged. The transcript can only be changed between runs (before
 * the first, or once a run has ended): `pushMessages` / `setMessagesParams`
 * then make the next iteration (or `runUntilDone`) start a new run that
 * continues the transcript, as the SDK's runner sends another request. During
 * a run they throw `ControllerError` `run_in_progress`: a journaled run's
 * requests are decided by its own state, so a restart can redo them exactly.
 */
export class TurnRunner implements AsyncIterable<BetaMessage> {
  #options: RunOptions;
  /** A run is due: none has started yet, or the conversation was changed after one ended. */
  #pending = true;
  #running = false;
  #handle: RunHandle | null = null;
  readonly #queue: BetaMessage[] = [];
  #wake: (() => void) | null = null;
  readonly #requests: BetaMessageParam[][] = [];
  #requestWaiters: ((messages: BetaMessageParam[] | null) => void)[] = [];
  #yielded = 0;

  constructor(options: RunOptions) {
    this.#options = options;
  }

  /** The run in flight (or the last one), for `events()`, `abort()`, `settled`. */
  get handle(): RunHandle | null {
    return this.#handle;
  }

  get params(): Readonly<RunnerParams> {
    return { ...this.#options.params, messages: toMessages(this.#options.messages) };
  }

  setMessagesParams(paramsOrMutator: RunnerParams | ((params: RunnerParams) => RunnerParams)): void {
    this.#between('setMessagesParams');
    const next = typeof paramsOrMutator === 'function' ? paramsOrMutator(this.params) : paramsOrMutator;
    const { messages, ...params } = next;
    this.#options = { ...this.#options, params, messages: [...messages] };
    this.#pending = true;
  }

  pushMessages(...messages: BetaMessageParam[]): void {
    this.#between('pushMessages');
    this.#options = { ...this.#options, messages: [...this.params.messages, ...messages] };
    this.#pending = true;
  }

  /**
   * The user message of tool results that answered the last assistant
   * message yielded, or null if it called no tools (or the run ended). The
   * controller ran the tools — this never runs one again.
   */
  async generateToolResponse(): Promise<BetaMessageParam | null> {
    const index = this.#yielded; // request n+1 carries the answer to message n
    const messages = this.#requests[index] ?? (!this.#running ? null : await new Promise<BetaMessageParam[] | null>((resolve) => this.#requestWaiters.push(resolve)));
    const last = messages?.at(-1);
    if (!last || last.role !== 'user' || typeof last.content === 'string' || !last.content.some((b) => b.type === 'tool_result')) return null;
    return last;
  }

  /** The final message of the run (or runs); rejects with the ControllerError of a failed or budget-stopped run. */
  async done(): Promise<BetaMessage> {
    const result = await this.#settle();
    if (result.error && (result.status === 'failed' || result.status === 'budget_exceeded')) throw result.error;
    if (result.message === null) throw new ControllerError('stream_failed', 'the run ended without an assistant message');
    return result.message;
  }

  /** Runs to the end (consuming the iteration) and returns the final message. */
  async runUntilDone(): Promise<BetaMessage> {
    for await (const _message of this) {
      // each message is also in the transcript
    }
    return this.done();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BetaMessage> {
    while (this.#pending) {
      const handle = this.#start();
      let ended = false;
      void handle.settled.finally(() => {
        ended = true;
        this.#wake?.();
      });
      for (;;) {
        const message = this.#queue.shift();
        if (message !== undefined) {
          this.#yielded++;
          yield message;
          continue;
        }
        if (ended) break;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = null;
      }
      await this.#settle();
    }
  }

  async #settle(): Promise<RunResult> {
    for (;;) {
      if (this.#pending && !this.#running) this.#start();
      const result = await (this.#handle as RunHandle).settled;
      if (!this.#pending) return result;
    }
  }

  #start(): RunHandle {
    this.#pending = false;
    this.#running = true;
    this.#requests.length = 0;
    this.#yielded = 0;
    const options = this.#options;
    const base: CreateStream = options.createStream ?? sdkCreateStream(options.client);
    const parse: ParseTurn = options.parse ?? defaultParseTurn;
    const handle = startRun({
      ...options,
      createStream: (params, signal) => {
        const messages = [...params.messages];
        this.#requests.push(messages);
        if (this.#requests.length > 1) for (const resolve of this.#requestWaiters.splice(0)) resolve(messages);
        return base(params, signal);
      },
      parse: async (source, parseOptions) => {
        const turn = await parse(source, parseOptions);
        if (turn.ok) {
          this.#queue.push(turn.message);
          this.#wake?.();
        }
        return turn;
      },
    });
    this.#handle = handle;
    void handle.settled.then((result) => {
      // Registered first, so it runs before anyone awaiting `settled`: the next run continues this transcript.
      this.#running = false;
      const { runId: _runId, ...rest } = this.#options;
      this.#options = { ...rest, messages: result.messages };
      for (const resolve of this.#requestWaiters.splice(0)) resolve(null);
    });
    return handle;
  }

  #between(what: string): void {
    if (this.#running) {
      throw new ControllerError('run_in_progress', `${what}: a run is in progress; change the conversation before the first run or once it has ended`);
    }
  }
}

/** The SDK-toolRunner-like way in: see {@link TurnRunner}. */
export function toolRunner(options: RunOptions): TurnRunner {
  return new TurnRunner(options);
}

function toMessages(messages: RunOptions['messages']): BetaMessageParam[] {
  return typeof messages === 'string' ? [{ role: 'user', content: messages }] : [...messages];
}
