import { createActor, type Actor } from 'xstate';
import type {
  BetaContentBlock,
  BetaMessage,
  BetaRawContentBlockDeltaEvent,
  BetaStopReason,
  BetaTextCitation,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { ErrorResponse } from '@anthropic-ai/sdk/resources/shared';
import { deltaTable, expectedIn, fitsOpenBlock, stateName, streamMachine, toMachineEvent, type MachineEvent, type StreamContext } from '../../machines/stream.machine.js';
import { StreamError, type StreamErrorCode } from '../../machines/stream.errors.js';
import { MessageAssembler } from '../assemble/assembler.js';
import { IncrementalJsonParser } from '../assemble/partial-json.js';
import type { Diagnostic } from '../assemble/types.js';
import { TurnstateError } from '../errors.js';
import { checkEvent, decodeEvent, type StreamEvent, type UnknownEvent } from '../sse/events.js';
import { SseError } from '../sse/errors.js';
import { SseFramer } from '../sse/framer.js';
import { ownEvent } from '../sse/own-event.js';
import { deltaBody, type DeltaBody } from '../sse/quick-delta.js';
import { ListenerError } from './errors.js';
import type { TurnHandlers, TurnOptions, TurnResult, TurnSnapshot } from './types.js';

/** The input ended inside an unfinished event, and that is what failed. */
function cutInsideEvent(error: unknown, framer: SseFramer): boolean {
  return framer.endedInsideEvent && error instanceof SseError && (error.code === 'invalid_json' || error.code === 'invalid_utf8');
}

type Listeners = { [K in keyof TurnHandlers]: TurnHandlers[K][] };
type DeltaEvent = BetaRawContentBlockDeltaEvent;

const MAX_DIAGNOSTICS = 1000;

/**
 * The push interface: feed bytes or events synchronously — no promise per
 * event — and read the snapshot at any time. `parseTurn` and `iterateTurn`
 * are built on it.
 *
 * ```ts
 * const turn = new TurnParser().on('text', (textDelta) => res.write(textDelta));
 * for await (const chunk of body) turn.write(chunk);
 * const result = turn.end(); // result.ok, result.message, result.stopReason …
 * ```
 *
 * `write` throws the typed error (SseError / StreamError) the first time the
 * input goes wrong, and again on every later call; `end()` never throws.
 */
export class TurnParser {
  readonly #framer: SseFramer;
  readonly #assembler: MessageAssembler;
  readonly #actor: Actor<typeof streamMachine>;
  readonly #listeners: Listeners = {
    streamEvent: [], event: [], text: [], citation: [], thinking: [], signature: [], compaction: [], inputJson: [],
    contentBlock: [], stop: [], message: [], diagnostic: [], state: [], error: [],
  };
  readonly #trace: string[] = [];
  readonly #diagnostics: Diagnostic[] = [];
  readonly #fastPath: boolean;
  #state: string;
  #context: StreamContext;
  /** Delta types the current state takes without an actor step, per the machine's own table. */
  #fastDeltas: readonly string[] | null = null;
  #events = 0;
  /** Whether the event in hand came from bytes, so the framer can say where it was. */
  #fromBytes = false;
  #error: TurnstateError | null = null;
  #ended = false;
  /** The open tool block's input so far, parsed incrementally; made when an inputJson listener first needs it. */
  #input: IncrementalJsonParser | null = null;
  /** The open tool block's input JSON broke: no partial value until the next block. */
  #inputBroken = false;
  /** The event being handled (for `blockIndex`). */
  #current: StreamEvent | UnknownEvent | null = null;
  /** Whether anyone listens to deltas; when not, a fitting delta costs only its append. */
  #deltaListeners = false;
  /** What the delta shortcut read from the event in hand, and the delta it stands for when the machine's guard judges it: both reused. */
  readonly #body: DeltaBody = { index: 0, type: 'text_delta', body: '', escaped: false };
  readonly #probe = { type: 'content_block_delta' as const, index: 0, delta: { type: 'text_delta' as string } };

  constructor(options: TurnOptions = {}) {
    this.#fastPath = options.actorSteps !== 'every-event';
    this.#assembler = new MessageAssembler(() => this.#events, { strict: options.strict ?? false });
    this.#framer = new SseFramer(this.#onFrame, {
      ...(options.maxEventSize === undefined ? {} : { maxEventSize: options.maxEventSize }),
      onNotice: (code, message, eventIndex) => this.#diagnose({ code, message, eventIndex }),
    });
    const assembler = this.#assembler;
    this.#actor = createActor(streamMachine, {
      input: {
        strict: options.strict ?? false,
        effects: {
          startMessage: (event) => assembler.start(event),
          startFinishedMessage: (event) => assembler.startFinished(event),
          openBlock: (event) => assembler.open(event),
          repairedBlockIndex: (expected, got) =>
            this.#diagnose({
              code: 'block_index_repaired',
              message: `content_block_start repeated index ${got} right after a server tool result; taken as block ${expected}, the index its deltas and stop carry (strict mode would reject it)`,
              eventIndex: this.#events - 1,
              expected,
              got,
            }),
          applyDelta: (event) => assembler.delta(event),
          closeBlock: (event) => void assembler.close(event.index, this.#events),
          applyMessageDelta: (event) => assembler.messageDelta(event),
          skipped: (event) => this.#diagnoseSkipped(event),
        },
      },
      ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
    });
    this.#actor.start();
    const snapshot = this.#actor.getSnapshot();
    this.#context = snapshot.context;
    this.#state = stateName(snapshot.value);
    this.#trace.push(this.#state);
    for (const [name, handler] of Object.entries(options.on ?? {})) {
      this.on(name as keyof TurnHandlers, handler as never);
    }
  }

  on<K extends keyof TurnHandlers>(name: K, handler: NoInfer<TurnHandlers[K]>): this {
    this.#listeners[name].push(handler);
    this.#countDeltaListeners();
    return this;
  }

  off<K extends keyof TurnHandlers>(name: K, handler: NoInfer<TurnHandlers[K]>): this {
    const list = this.#listeners[name];
    const at = list.indexOf(handler);
    if (at !== -1) list.splice(at, 1);
    this.#countDeltaListeners();
    return this;
  }

  #countDeltaListeners(): void {
    const l = this.#listeners;
    this.#deltaListeners =
      l.streamEvent.length + l.event.length + l.text.length + l.thinking.length + l.signature.length + l.citation.length + l.compaction.length + l.inputJson.length > 0;
  }

  /** The stream index of the block the event in hand belongs to (inside a listener), else null. */
  get blockIndex(): number | null {
    const index = (this.#current as { index?: unknown } | null)?.index;
    return typeof index === 'number' ? index : null;
  }

  /** Feeds raw SSE bytes or text; chunks may split anything, even a UTF-8 character. */
  write(chunk: Uint8Array | string): void {
    this.#guard();
    try {
      if (typeof chunk === 'string') this.#framer.pushText(chunk);
      else this.#framer.pushBytes(chunk);
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Feeds one already-parsed event, e.g. from the SDK's `messages.create({ stream: true })`; it is never changed (copied where kept). */
  writeEvent(event: unknown): void {
    this.#guard();
    try {
      this.#fromBytes = false;
      this.#handle(checkEvent(ownEvent(event), this.#events));
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Ends the input and returns the verdict. Never throws. */
  end(): TurnResult {
    if (!this.#ended && this.#error === null) {
      this.#ended = true;
      try {
        try {
          this.#framer.end();
        } catch (error) {
          // A cut inside the final event (its data not yet JSON, or a character half sent) is
          // the stream ending early, as a proxy closing mid-event does: incomplete, so retried.
          if (!cutInsideEvent(error, this.#framer)) throw error;
          // After message_stop the message is whole: a cut trailing event (a ping) loses nothing.
          if (this.#state === 'complete') {
            this.#diagnose({ code: 'cut_after_message_stop', message: `the input ended inside event ${this.#events}, after message_stop; that event is ignored`, eventIndex: this.#events });
            return this.result;
          }
          this.#raise('incomplete_stream', `the stream ended inside event ${this.#events}, before message_stop`, null);
        }
        if (this.#state !== 'complete') this.#raise('incomplete_stream', `the stream ended after ${this.#events} events, before message_stop`, null);
      } catch (error) {
        this.#fail(error);
      }
    }
    this.#ended = true;
    return this.result;
  }

  /** Fails the turn from outside (an aborted read, a dropped connection) so the result keeps what arrived. */
  abort(error: TurnstateError): TurnResult {
    if (this.#error === null) this.#fail(error);
    this.#ended = true;
    return this.result;
  }

  /** The verdict so far; final once `end()` has been called. */
  get result(): TurnResult {
    const base = { dropped: this.#assembler.dropped, invalidToolInputs: this.#assembler.invalidToolInputs, diagnostics: this.#diagnostics, trace: this.#trace, eventCount: this.#events };
    const message = this.#assembler.current();
    const stopReason = this.#assembler.stopKnown ? ((message as BetaMessage).stop_reason as BetaStopReason) : null;
    if (this.#error === null && this.#state === 'complete') {
      return { ...base, ok: true, message: message as BetaMessage, stopReason: stopReason as BetaStopReason, error: null };
    }
    const error = this.#error ?? this.#streamError('incomplete_stream', `the stream has not ended (${this.#events} events so far)`, null);
    return { ...base, ok: false, message, stopReason, error };
  }

  get snapshot(): TurnSnapshot {
    const state = this.#state;
    const dropped = this.#assembler.dropped;
    const message = this.#assembler.current();
    if (this.#error !== null) return { status: 'failed', state, message, error: this.#error, dropped };
    if (message === null) return { status: 'awaiting_message', state, message: null };
    if (!this.#assembler.stopKnown) return { status: 'streaming', state, message };
    const full = message as BetaMessage;
    const stopReason = full.stop_reason as BetaStopReason;
    return { status: state === 'complete' ? 'complete' : 'finishing', state, message: full, stopReason, dropped };
  }

  /** The complete message; throws the typed error if the stream was not valid and complete. */
  finalMessage(): BetaMessage {
    const result = this.end();
    if (!result.ok) throw result.error;
    return result.message;
  }

  #onFrame = (name: string | undefined, data: string): void => {
    this.#fromBytes = true;
    const fast = this.#fastDeltas;
    // No one to hand the delta to: the assembler takes the literal as it is on the wire, if the machine's guard lets it.
    if (fast !== null && !this.#deltaListeners && (name === undefined || name === 'content_block_delta') && deltaBody(data, this.#body)) {
      const body = this.#body;
      const probe = this.#probe;
      probe.index = body.index;
      probe.delta.type = body.type;
      if (fitsOpenBlock(this.#context, probe as unknown as DeltaEvent, fast)) {
        this.#events++;
        this.#current = probe as unknown as DeltaEvent;
        this.#assembler.literal(body.type, body.body, body.escaped);
        return;
      }
    }
    this.#handle(decodeEvent(name, data, this.#events, this.#deltaListeners));
  };

  /**
   * Byte offset of the event being handled (its `data` payload), when the
   * input is bytes; computed on demand, so listeners that want it pay for it.
   */
  get eventByteOffset(): number | null {
    return this.#fromBytes ? this.#framer.eventOffset() : null;
  }

  #handle(event: StreamEvent | UnknownEvent): void {
    const index = this.#events++;
    this.#current = event;
    const fast = this.#fastDeltas;
    if (fast !== null && event.type === 'content_block_delta' && fitsOpenBlock(this.#context, event as DeltaEvent, fast)) {
      // The machine would take its targetless `fitsOpenBlock` transition here; apply it without the step.
      this.#assembler.delta(event as DeltaEvent);
      if (this.#deltaListeners) this.#emitFor(event, index);
      return;
    }
    this.#step(event, index);
    this.#emitFor(event, index);
  }

  #step(event: StreamEvent | UnknownEvent, index: number): void {
    const before = this.#state;
    const context = this.#context;
    this.#actor.send(toMachineEvent(event));
    const snapshot = this.#actor.getSnapshot();
    this.#context = snapshot.context;
    const after = stateName(snapshot.value);
    if (after !== before) {
      this.#state = after;
      this.#fastDeltas = this.#fastPath ? (deltaTable.get(after) ?? null) : null;
      this.#trace.push(after);
      this.#call('state', this.#listeners.state, after);
    }
    if (after === 'violated') {
      const code = snapshot.context.violation ?? 'unexpected_event';
      const where = 'index' in event && typeof event.index === 'number' ? ` (index ${event.index})` : '';
      throw this.#streamError(code, `event ${index}: ${event.type}${where} is not allowed in state ${before}; expected ${expectedIn(before, context)}`, event.type, before, context);
    }
    if (after === 'apiErrored') {
      const body = event as ErrorResponse;
      throw this.#streamError('api_error', `event ${index}: the API reported ${body.error.type}: ${body.error.message}`, 'error', before, context, body);
    }
    const bad = this.#assembler.invalidToolInput;
    if (bad !== null) {
      throw this.#streamError('invalid_tool_input', `tool block ${bad.index}: ${bad.reason}, and the stop reason does not truncate`, event.type, before, context);
    }
  }

  #emitFor(event: StreamEvent | UnknownEvent, index: number): void {
    const l = this.#listeners;
    if (l.event.length > 0) this.#call('event', l.event, event, index);
    if (l.streamEvent.length > 0 && event.type !== 'ping' && event.type !== 'error') {
      const snapshot = this.#assembler.current();
      if (snapshot !== null) this.#call('streamEvent', l.streamEvent, event, snapshot);
    }
    switch (event.type) {
      case 'content_block_delta': {
        const { delta } = event as DeltaEvent;
        switch (delta.type) {
          case 'text_delta':
            if (l.text.length > 0) this.#call('text', l.text, delta.text, this.#openBlock()['text'] as string);
            break;
          case 'thinking_delta':
            if (l.thinking.length > 0) this.#call('thinking', l.thinking, delta.thinking, this.#openBlock()['thinking'] as string);
            break;
          case 'signature_delta':
            if (l.signature.length > 0) this.#call('signature', l.signature, delta.signature);
            break;
          case 'citations_delta':
            if (l.citation.length > 0) this.#call('citation', l.citation, delta.citation, this.#openBlock()['citations'] as BetaTextCitation[]);
            break;
          case 'compaction_delta': {
            // As the SDK: only a compaction that produced content is announced.
            const content = this.#openBlock()['content'];
            if (l.compaction.length > 0 && typeof content === 'string' && content !== '') this.#call('compaction', l.compaction, content);
            break;
          }
          case 'input_json_delta':
            if (l.inputJson.length > 0) this.#call('inputJson', l.inputJson, delta.partial_json, this.#jsonSnapshot(delta.partial_json));
            break;
        }
        break;
      }
      case 'content_block_start':
        this.#input = null;
        this.#inputBroken = false;
        break;
      case 'content_block_stop': {
        const block = this.#assembler.current()?.content.at(-1);
        if (block !== undefined && l.contentBlock.length > 0) this.#call('contentBlock', l.contentBlock, block as BetaContentBlock);
        break;
      }
      case 'message_start':
      case 'message_delta': {
        // A prepopulated message_start makes the stop reason known, as message_delta does.
        if (!this.#assembler.stopKnown || l.stop.length === 0) break;
        this.#call('stop', l.stop, (this.#assembler.current() as BetaMessage).stop_reason, this.#assembler.dropped);
        break;
      }
      case 'message_stop':
        if (l.message.length > 0) this.#call('message', l.message, this.#assembler.current() as BetaMessage);
        break;
    }
  }

  /** The open block, every delta so far joined in. */
  #openBlock(): Record<string, unknown> {
    return this.#assembler.current()?.content.at(-1) as unknown as Record<string, unknown>;
  }

  /**
   * The tool input parsed so far. The parser is made when first needed and
   * caught up on what arrived before, then fed each piece once: linear.
   * An empty buffer is `{}`, as the SDK has it.
   */
  #jsonSnapshot(partialJson: string): unknown {
    if (this.#inputBroken) return undefined;
    try {
      if (this.#input === null) {
        this.#input = new IncrementalJsonParser();
        this.#input.write(this.#assembler.openJson());
      } else {
        this.#input.write(partialJson);
      }
      return this.#input.value ?? {};
    } catch {
      // Broken JSON is judged at content_block_stop; until then there is just no partial value.
      this.#inputBroken = true;
      this.#input = null;
      return undefined;
    }
  }

  /**
   * Calls listeners so that none can change what is parsed: a throw is caught
   * (the next listener still runs, the parse goes on) and reported as a
   * `listener_failed` diagnostic. Listeners are read from a copy, so one that
   * adds or removes listeners affects the next event, not this one.
   */
  #call<A extends unknown[]>(name: keyof TurnHandlers, list: readonly ((...args: A) => void)[], ...args: A): void {
    const listeners = list.length === 1 ? list : list.slice();
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        this.#listenerFailed(name, error);
      }
    }
  }

  #listenerFailed(name: keyof TurnHandlers, cause: unknown): void {
    const eventIndex = this.#events === 0 ? null : this.#events - 1;
    let byteOffset: number | null = null;
    try {
      byteOffset = this.eventByteOffset;
    } catch {
      // the offset is a courtesy; never let it fail the report
    }
    const error = new ListenerError(name, cause, { eventIndex, byteOffset });
    const diagnostic: Diagnostic = { code: 'listener_failed', message: error.message, eventIndex: eventIndex ?? 0, error };
    if (this.#diagnostics.length < MAX_DIAGNOSTICS) this.#diagnostics.push(diagnostic);
    // A diagnostic listener that throws is recorded, not told about itself (no loop).
    if (name !== 'diagnostic') this.#call('diagnostic', this.#listeners.diagnostic, diagnostic);
  }

  #diagnoseSkipped(received: MachineEvent): void {
    const event = received.type === 'unknown_event' ? received.event : received;
    const isDelta = event.type === 'content_block_delta';
    const type = isDelta ? (event as DeltaEvent).delta.type : event.type;
    this.#diagnose({
      code: isDelta ? 'unknown_delta_type' : 'unknown_event_type',
      message: `skipped ${isDelta ? 'delta' : 'event'} of unknown type "${type}" (strict mode would reject it)`,
      eventIndex: this.#events - 1,
    });
  }

  #diagnose(diagnostic: Diagnostic): void {
    if (this.#diagnostics.length < MAX_DIAGNOSTICS) this.#diagnostics.push(diagnostic);
    this.#call('diagnostic', this.#listeners.diagnostic, diagnostic);
  }

  #raise(code: StreamErrorCode, message: string, got: string | null): never {
    throw this.#streamError(code, message, got, this.#state, this.#context);
  }

  #streamError(code: StreamErrorCode, message: string, got: string | null, state = this.#state, context = this.#context, body?: ErrorResponse): StreamError {
    const incomplete = code === 'incomplete_stream';
    return new StreamError(code, message, {
      eventIndex: incomplete ? this.#events : this.#events - 1,
      byteOffset: incomplete ? (this.#framer.bytesSeen || null) : this.eventByteOffset,
      state,
      expected: expectedIn(state, context),
      got,
      ...(body === undefined ? {} : { apiErrorType: body.error.type, requestId: body.request_id ?? null }),
    });
  }

  #guard(): void {
    if (this.#error !== null) throw this.#error;
    if (this.#ended) throw new Error('TurnParser: write after end()');
  }

  /** Records the first error, with everything assembled so far attached. */
  #fail(error: unknown): TurnstateError {
    if (this.#error !== null) return this.#error;
    if (!(error instanceof TurnstateError)) throw error;
    // An error about the event in hand (thrown before or after it was counted) gets that event's offset.
    if (error.byteOffset === null && error.eventIndex !== null && error.eventIndex >= this.#events - 1) error.byteOffset = this.eventByteOffset;
    if (error instanceof StreamError || error instanceof SseError) {
      error.partial = this.#assembler.current();
      error.dropped = this.#assembler.dropped;
    }
    if (error instanceof StreamError && this.#assembler.stopKnown) error.stopReason = (error.partial as BetaMessage).stop_reason;
    this.#error = error;
    this.#actor.stop();
    this.#call('error', this.#listeners.error, error);
    return error;
  }
}
