import type {
  BetaContentBlock,
  BetaMessage,
  BetaRawContentBlockDeltaEvent,
  BetaRawContentBlockStartEvent,
  BetaRawMessageDeltaEvent,
  BetaRawMessageStartEvent,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { TRUNCATING_STOP_REASONS } from '../../machines/stream.machine.js';
import type { DeltaBody } from '../sse/quick-delta.js';
import { isToolBlock } from '../sse/tool-blocks.js';
import { StopReasonError } from './errors.js';
import { INVALID_JSON_KEY, type DroppedBlock, type InvalidToolInput, type StopFields, type StreamingMessage } from './types.js';

const STOP_FIELDS: readonly StopFields[] = ['stop_reason', 'stop_sequence', 'stop_details'];

/** Deltas collected before they are joined into the block: joining in batches keeps memory near the text's own size. */
const JOIN_EVERY = 256;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type AnyBlock = Mutable<BetaContentBlock> & Record<string, unknown>;

/** See BlockState.batch. */
const PLAIN = 0, COOKED = 1, RAW = 2;
type Batch = typeof PLAIN | typeof COOKED | typeof RAW;

/** What assembly needs to remember about a block beyond the block itself. */
interface BlockState {
  readonly index: number;
  readonly block: AnyBlock;
  /** The string field deltas append to (`text`, `thinking`), or the raw input JSON for tool blocks. */
  readonly field: 'text' | 'thinking' | 'json' | null;
  parts: string[];
  /** What `parts` holds: wire bodies with escapes still to undo (RAW), values (COOKED), or only text that is both (PLAIN). */
  batch: Batch;
  json: string;
  sawInputDelta: boolean;
  closed: boolean;
  signed: boolean;
  /** A closed tool block's input that is not a JSON object; fatal unless the stop reason truncates. */
  invalidInput: { readonly eventIndex: number; readonly reason: string } | null;
}


/**
 * Builds the message from events the machine has already accepted, agreeing
 * with the SDK's beta accumulator (`BetaMessageStream#accumulateMessage`)
 * field for field. It never judges order — that is the machine's job — and it
 * never throws on a path the machine calls: problems are recorded for the
 * driver to raise.
 */
export class MessageAssembler {
  #message: (BetaMessage & Record<string, unknown>) | null = null;
  #blocks: BlockState[] = [];
  #open: BlockState | null = null;
  #dropped: DroppedBlock[] = [];
  #invalidInputs: InvalidToolInput[] = [];
  #stopKnown = false;
  readonly #strict: boolean;
  /** Set when a tool block's input is fatally invalid; the driver raises it. */
  invalidToolInput: { readonly index: number; readonly eventIndex: number; readonly reason: string } | null = null;
  readonly #eventCount: () => number;

  constructor(eventCount: () => number, options: { readonly strict?: boolean } = {}) {
    this.#eventCount = eventCount;
    this.#strict = options.strict ?? false;
  }

  get dropped(): readonly DroppedBlock[] {
    return this.#dropped;
  }

  /** Closed tool_use blocks kept with invalid input (stop reason `tool_use`, not strict). */
  get invalidToolInputs(): readonly InvalidToolInput[] {
    return this.#invalidInputs;
  }

  get stopKnown(): boolean {
    return this.#stopKnown;
  }

  /** The message as assembled so far, with every delta received joined in. */
  current(): StreamingMessage | null {
    if (this.#open !== null) this.#flush(this.#open);
    return this.#message;
  }

  /** The raw input JSON received so far for the open tool block ('' for any other block). */
  openJson(): string {
    const state = this.#open;
    if (state === null || state.field !== 'json') return '';
    this.#flush(state);
    return state.json;
  }

  start(event: BetaRawMessageStartEvent): void {
    const message = event.message as BetaMessage & Record<string, unknown>;
    for (const field of STOP_FIELDS) {
      // Until message_delta these are null on the wire; reading one then is the classic bug, so it throws.
      delete message[field];
      Object.defineProperty(message, field, {
        configurable: true,
        enumerable: false,
        get: () => {
          throw new StopReasonError(field, this.#eventCount());
        },
      });
    }
    this.#message = message;
  }

  /** A message_start that carries the finished message (programmatic tool calling): taken as it is, stop fields included. */
  startFinished(event: BetaRawMessageStartEvent): void {
    this.#message = event.message as BetaMessage & Record<string, unknown>;
    this.#stopKnown = true;
  }

  open(event: BetaRawContentBlockStartEvent): void {
    const block = event.content_block as AnyBlock;
    const type = block.type;
    const field = type === 'text' ? 'text' : type === 'thinking' ? 'thinking' : isToolBlock(type) ? 'json' : null;
    const state: BlockState = { index: event.index, block, field, parts: [], batch: PLAIN, json: '', sawInputDelta: false, closed: false, signed: false, invalidInput: null };
    this.#blocks.push(state);
    this.#open = state;
    this.#message?.content.push(block as BetaContentBlock);
    if (type === 'fallback') {
      // As the SDK does: the final hop's fallback block names the model that served the response.
      const model = (block['to'] as { model?: unknown } | undefined)?.model;
      if (typeof model === 'string' && this.#message) this.#message.model = model;
    }
  }

  /** Applies a delta the machine has accepted for the open block. */
  delta(event: BetaRawContentBlockDeltaEvent): void {
    const state = this.#open;
    if (state === null) return;
    const delta = event.delta;
    switch (delta.type) {
      case 'text_delta':
        this.#append(state, delta.text);
        return;
      case 'thinking_delta':
        this.#append(state, delta.thinking);
        return;
      case 'input_json_delta':
        state.sawInputDelta = true;
        this.#append(state, delta.partial_json);
        return;
      case 'signature_delta':
        state.block['signature'] = delta.signature;
        state.signed = true;
        return;
      case 'citations_delta': {
        const citations = state.block['citations'];
        if (Array.isArray(citations)) citations.push(delta.citation);
        else state.block['citations'] = [delta.citation];
        return;
      }
      case 'compaction_delta':
        // The delta carries the block's final value (null content = failed compaction): assign, as the SDK does.
        state.block['content'] = delta.content;
        if ('encrypted_content' in delta) state.block['encrypted_content'] = delta.encrypted_content;
        return;
    }
  }

  /**
   * A text, thinking or input_json delta the machine has accepted for the open
   * block, as its string literal's body on the wire (a valid JSON string body,
   * src/sse/quick-delta.ts `deltaBody`): `escaped` bodies are unescaped when
   * the block is next read, the batch in one `JSON.parse` — not one per delta.
   */
  literal(type: DeltaBody['type'], body: string, escaped: boolean): void {
    const state = this.#open;
    if (state === null) return;
    if (type === 'input_json_delta') state.sawInputDelta = true;
    if (escaped) {
      if (state.batch === COOKED) this.#flush(state);
      state.batch = RAW;
    }
    state.parts.push(body);
    if (state.parts.length >= JOIN_EVERY) this.#flush(state);
  }

  close(index: number, eventIndex: number): BetaContentBlock | null {
    const state = this.#open;
    if (state === null || state.index !== index) return null;
    this.#flush(state);
    state.closed = true;
    this.#open = null;
    if (state.field === 'json') {
      const input = finalToolInput(state);
      if (input.ok) state.block['input'] = input.value;
      else {
        state.invalidInput = { eventIndex, reason: input.reason };
        // Wrapped at once, so contentBlock listeners see the block as it goes back in history if the stop reason is tool_use.
        if (this.#wrapsInvalid(state)) state.block['input'] = { [INVALID_JSON_KEY]: state.json };
      }
    }
    return state.block as BetaContentBlock;
  }

  /** Records how the message stopped, merges usage like the SDK, and drops what truncation left unusable. */
  messageDelta(event: BetaRawMessageDeltaEvent): void {
    const message = this.#message;
    if (message === null) return;
    if (this.#open !== null) this.#flush(this.#open);
    const delta = event.delta as BetaRawMessageDeltaEvent.Delta & Record<string, unknown>;
    for (const field of STOP_FIELDS) {
      Object.defineProperty(message, field, { value: delta[field], enumerable: true, writable: true, configurable: true });
    }
    this.#stopKnown = true;
    if (delta.container != null) message.container = delta.container;
    if (event.context_management != null) message.context_management = event.context_management;
    if (event.input_transformations != null) message.input_transformations = event.input_transformations;
    mergeUsage(message.usage as unknown as Record<string, unknown>, event.usage as unknown as Record<string, unknown> | null | undefined);

    const truncated = TRUNCATING_STOP_REASONS.has(String(delta.stop_reason));
    if (truncated) this.#dropUnusable();
    else this.#judgeInvalidInputs(delta.stop_reason === 'tool_use');
  }

  /**
   * Fine-grained tool streaming (`eager_input_streaming`) sends input the API
   * never validated, so a client `tool_use` block may close with input that is
   * not a JSON object. Unless `strict`, such a block keeps its place, its raw
   * string wrapped, when the stop reason is `tool_use`: it must go back in
   * history for its tool_result. Any other stop reason, or a server or MCP tool
   * block, is fatal, as before.
   */
  #wrapsInvalid(state: BlockState): boolean {
    return !this.#strict && state.block.type === 'tool_use';
  }

  #judgeInvalidInputs(toolUseStop: boolean): void {
    const bad = this.#blocks.filter((b) => b.invalidInput !== null);
    if (bad.length === 0) return;
    const fatal = toolUseStop ? bad.find((b) => !this.#wrapsInvalid(b)) : bad[0];
    if (fatal?.invalidInput) {
      this.invalidToolInput = { index: fatal.index, ...fatal.invalidInput };
      return;
    }
    for (const { index, block, json, invalidInput } of bad) {
      this.#invalidInputs.push({ index, id: String(block['id']), name: String(block['name']), partial: json, reason: invalidInput?.reason ?? '' });
    }
  }

  #dropUnusable(): void {
    const keep: BetaContentBlock[] = [];
    for (const state of this.#blocks) {
      const type = state.block.type;
      let reason: DroppedBlock['reason'] | null = null;
      if (state.field === 'json') reason = !state.closed ? 'unclosed' : state.invalidInput ? 'invalid_input' : null;
      else if (state.field === 'thinking' && !state.signed) reason = 'missing_signature';
      if (reason === null) keep.push(state.block as BetaContentBlock);
      else {
        const partial = state.field === 'json' ? state.json : String(state.block['thinking'] ?? '');
        if (state.field === 'json' && !state.closed) delete state.block['input'];
        this.#dropped.push({ index: state.index, type, reason, partial, block: state.block as BetaContentBlock });
      }
    }
    if (this.#dropped.length > 0 && this.#message) this.#message.content = keep;
  }

  #append(state: BlockState, piece: string): void {
    if (state.batch === RAW) this.#flush(state);
    state.batch = COOKED;
    state.parts.push(piece);
    if (state.parts.length >= JOIN_EVERY) this.#flush(state);
  }

  #flush(state: BlockState): void {
    if (state.parts.length === 0) return;
    let joined = state.parts.length === 1 ? (state.parts[0] as string) : state.parts.join('');
    // Each body was checked to be a JSON string's; joined they are one (an escape never spans two).
    if (state.batch === RAW) joined = JSON.parse(`"${joined}"`) as string;
    state.parts = [];
    state.batch = PLAIN;
    if (state.field === 'json') state.json += joined;
    else if (state.field !== null) state.block[state.field] = String(state.block[state.field] ?? '') + joined;
  }
}

/**
 * The one place a closed tool block's input is decided: the streamed JSON
 * when input_json_delta arrived, else the `input` content_block_start gave —
 * an object, as the decoder checks (src/sse/tool-blocks.ts) before the
 * machine sees the start. Streamed JSON that is not an object is recorded as
 * invalid (fatal unless the stop reason truncates).
 */
function finalToolInput(state: BlockState): { ok: true; value: object } | { ok: false; reason: string } {
  if (state.sawInputDelta) return parseToolInput(state.json);
  return { ok: true, value: state.block['input'] as object };
}

/**
 * The SDK treats an empty buffer as `{}` and otherwise parses it; unlike the
 * SDK we never guess at a closed block's broken JSON — it must be an object.
 */
function parseToolInput(json: string): { ok: true; value: object } | { ok: false; reason: string } {
  if (json.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, reason: `input JSON does not parse: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'input JSON is not an object' };
  return { ok: true, value };
}

/**
 * message_delta's counters are cumulative totals, not increments: present
 * values overwrite, absent or null ones leave the old value — exactly the
 * SDK's merge, beta fields included.
 */
const USAGE_FIELDS = [
  'output_tokens',
  'input_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
  'server_tool_use',
  'iterations',
  'fallback_credit',
  'output_tokens_details',
] as const;

function mergeUsage(target: Record<string, unknown>, update: Record<string, unknown> | null | undefined): void {
  if (update == null) return;
  for (const field of USAGE_FIELDS) {
    const value = update[field];
    if (value != null) target[field] = value;
  }
}
