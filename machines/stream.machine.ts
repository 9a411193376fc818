/**
 * The grammar of one Messages API stream, as an XState v5 machine — the single
 * source of truth for which event may come next.
 *
 *   message_start
 *   ( content_block_start(i) content_block_delta(i)* content_block_stop(i) )   for i = 0, 1, 2, …
 *   message_delta
 *   message_stop
 *   ping anywhere; `event: error` anywhere ends the stream.
 *
 * Relaxations real streams need, each a named path:
 * - when the stop reason truncates (max_tokens, model_context_window_exceeded),
 *   `message_delta` may arrive while a block is still open (shared corpus 07);
 * - right after a `*_tool_result` block, a content_block_start may repeat that
 *   block's index while its deltas and stop carry the due one (a real
 *   code-execution recording): unless `strict`, it is taken as the due block
 *   (`repeatsIndexAfterToolResult` → `takeAsDueBlock`) with a diagnostic.
 *
 * - a programmatic-tool-calling response opens with a message_start whose
 *   content is already finished and whose stop_reason is set, followed
 *   directly by message_stop: `startsComplete` → `prepopulated`. A
 *   message_start with content but no stop reason, and anything but
 *   message_stop after a prepopulated start, stay violations.
 *
 * Not relaxed: blocks never interleave. A content_block_start while a block is
 * open is `unexpected_event` (only the Go SDK's accumulator tests show that
 * shape, no recording does).
 *
 * Side effects (assembling the message) are injected with `machine.provide()`;
 * the machine itself keeps only the counters the grammar needs, so it stays
 * cheap and reads well in the Stately inspector.
 *
 * Speed: a delta is a targetless self-transition guarded by `fitsOpenBlock`.
 * `deltaTable` (below) reads those guards' parameters off this definition at
 * load time, so the driver can take the same decision without an actor step
 * per delta; test/machines/stream.fastpath.test.ts proves by property test
 * that the shortcut and the actor agree on every event sequence.
 */
import { assign, not, raise, setup, type StateValue } from 'xstate';
import type { BetaRawMessageDeltaEvent, BetaStopReason } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { StreamErrorCode } from './stream.errors.js';
import { KNOWN_EVENT_TYPES, type StreamEvent, type UnknownEvent } from '../src/sse/events.js';

/** Stop reasons that cut the message short and so may leave a block open at `message_delta`. */
export const TRUNCATING_STOP_REASONS: ReadonlySet<string> = new Set<BetaStopReason>(['max_tokens', 'model_context_window_exceeded']);

/** Delta types this version knows; others are skipped with a diagnostic, or rejected under `strict`. */
export const KNOWN_DELTA_TYPES: ReadonlySet<string> = new Set([
  'text_delta',
  'citations_delta',
  'input_json_delta',
  'thinking_delta',
  'signature_delta',
  'compaction_delta',
]);

export type { StreamErrorCode } from './stream.errors.js';

/**
 * What accepting an event does beyond the grammar: building the message.
 * Injected through the actor's input (one machine definition serves every
 * stream; `provide()` per stream would rebuild it each time).
 */
export interface StreamEffects {
  startMessage(event: Extract<StreamEvent, { type: 'message_start' }>): void;
  /** message_start carried the finished message, its stop reason included (programmatic tool calling). */
  startFinishedMessage(event: Extract<StreamEvent, { type: 'message_start' }>): void;
  openBlock(event: Extract<StreamEvent, { type: 'content_block_start' }>): void;
  /** A content_block_start repeated the previous index right after a server tool result; it was taken as the due block. */
  repairedBlockIndex(expected: number, got: number): void;
  applyDelta(event: DeltaEvent): void;
  closeBlock(event: Extract<StreamEvent, { type: 'content_block_stop' }>): void;
  applyMessageDelta(event: BetaRawMessageDeltaEvent): void;
  skipped(event: MachineEvent): void;
}

const noEffects: StreamEffects = {
  startMessage() {},
  startFinishedMessage() {},
  openBlock() {},
  repairedBlockIndex() {},
  applyDelta() {},
  closeBlock() {},
  applyMessageDelta() {},
  skipped() {},
};

/** The grammar's memory: which block comes next, which is open, which violation ended it. */
export interface StreamContext {
  readonly effects: StreamEffects;
  readonly strict: boolean;
  readonly nextIndex: number;
  readonly openIndex: number | null;
  /** The type of the block opened last (for the repeated-index repair after a server tool result). */
  readonly lastBlockType: string | null;
  readonly violation: StreamErrorCode | null;
}

/**
 * An event whose type this version does not know, wrapped so that no wire
 * `type` is ever handed to XState as-is (`xstate.stop`, `*` and other
 * reserved names must not steer the actor).
 */
export interface UnknownEventEnvelope {
  readonly type: 'unknown_event';
  readonly event: UnknownEvent;
}

export type MachineEvent = StreamEvent | UnknownEventEnvelope;

/** What the machine is sent for a wire event. */
export function toMachineEvent(event: StreamEvent | UnknownEvent): MachineEvent {
  return KNOWN_EVENT_TYPES.has(event.type) ? (event as StreamEvent) : { type: 'unknown_event', event: event as UnknownEvent };
}

type DeltaEvent = Extract<StreamEvent, { type: 'content_block_delta' }>;

/**
 * The guard of every delta transition: the delta is for the open block and its
 * type is one the block takes. Exported so the driver's shortcut runs this very
 * function.
 */
export function fitsOpenBlock(context: StreamContext, event: DeltaEvent, deltaTypes: readonly string[]): boolean {
  return event.index === context.openIndex && deltaTypes.includes(event.delta.type);
}

const violation = (code: StreamErrorCode) => ({ target: '#stream.violated', actions: { type: 'recordViolation' as const, params: { code } } });

const isUnknownDelta = (event: MachineEvent): boolean =>
  event.type === 'content_block_delta' && !KNOWN_DELTA_TYPES.has((event as DeltaEvent).delta.type);

const blockEvent = (event: MachineEvent): { index: number } => event as unknown as { index: number };
type BlockStartEvent = Extract<StreamEvent, { type: 'content_block_start' }>;
type MessageStartEvent = Extract<StreamEvent, { type: 'message_start' }>;

/** Server tool results (`web_search_tool_result`, `bash_code_execution_tool_result`, …): the blocks after which the API has been seen repeating an index. */
const SERVER_TOOL_RESULT = /_tool_result$/;

/** Block types whose content streams in, by the child state that holds them; the rest arrive whole. */
const STREAMING_BLOCKS = {
  text: ['text'],
  toolInput: ['tool_use', 'server_tool_use', 'mcp_tool_use'],
  thinking: ['thinking'],
  compaction: ['compaction'],
} as const;

const openAs = (state: keyof typeof STREAMING_BLOCKS) => ({
  guard: { type: 'blockTypeIn' as const, params: { types: STREAMING_BLOCKS[state] } },
  target: `inBlock.${state}`,
  actions: 'openBlock' as const,
});

const takes = (deltaTypes: readonly string[]) => ({
  content_block_delta: { guard: { type: 'fitsOpenBlock' as const, params: { deltaTypes } }, actions: 'applyDelta' as const },
});

export const streamMachine = setup({
  types: {
    context: {} as StreamContext,
    events: {} as MachineEvent,
    input: {} as { strict?: boolean; effects?: StreamEffects },
  },
  guards: {
    isNextBlock: ({ context, event }) => blockEvent(event).index === context.nextIndex,
    isOpenBlock: ({ context, event }) => blockEvent(event).index === context.openIndex,
    // A real code-execution recording starts the block after a *_tool_result with that result's index again, while the
    // block's deltas and stop carry the due one. Only that exact shape is repaired; every other mismatch stays an error.
    repeatsIndexAfterToolResult: ({ context, event }) =>
      !context.strict && blockEvent(event).index === context.nextIndex - 1 && SERVER_TOOL_RESULT.test(context.lastBlockType ?? ''),
    blockTypeIn: ({ event }, params: { types: readonly string[] }) =>
      params.types.includes((event as Extract<StreamEvent, { type: 'content_block_start' }>).content_block.type),
    fitsOpenBlock: ({ context, event }, params: { deltaTypes: readonly string[] }) =>
      fitsOpenBlock(context, event as DeltaEvent, params.deltaTypes),
    stopTruncates: ({ event }) =>
      TRUNCATING_STOP_REASONS.has(String((event as BetaRawMessageDeltaEvent).delta.stop_reason)),
    // Programmatic tool calling: a response can open with its finished blocks and stop reason, then message_stop.
    startsComplete: ({ event }) => {
      const message = (event as MessageStartEvent).message;
      return message.content.length > 0 && typeof message.stop_reason === 'string';
    },
    startsWithContent: ({ event }) => (event as MessageStartEvent).message.content.length > 0,
    isLenient: ({ context }) => !context.strict,
    skipsUnknownDelta: ({ context, event }) => !context.strict && isUnknownDelta(event),
    isUnknownDelta: ({ event }) => isUnknownDelta(event),
  },
  actions: {
    // The effects come from the input (src/turn/turn-parser.ts passes the assembler's); without one the bare machine runs as is, e.g. in the inspector.
    startMessage: ({ context, event }) => context.effects.startMessage(event as MessageStartEvent),
    startFinishedMessage: ({ context, event }) => context.effects.startFinishedMessage(event as MessageStartEvent),
    openBlock: ({ context, event }) => context.effects.openBlock(event as Extract<StreamEvent, { type: 'content_block_start' }>),
    applyDelta: ({ context, event }) => context.effects.applyDelta(event as DeltaEvent),
    closeBlock: ({ context, event }) => context.effects.closeBlock(event as Extract<StreamEvent, { type: 'content_block_stop' }>),
    applyMessageDelta: ({ context, event }) => context.effects.applyMessageDelta(event as BetaRawMessageDeltaEvent),
    recordSkipped: ({ context, event }) => context.effects.skipped(event),
    reportRepairedIndex: ({ context, event }) => context.effects.repairedBlockIndex(context.nextIndex, blockEvent(event).index),
    // Re-sent with the due index, the start then takes the ordinary path: one way in for every block.
    takeAsDueBlock: raise(({ context, event }) => ({ ...(event as BlockStartEvent), index: context.nextIndex })),
    recordViolation: assign({ violation: (_, params: { code: StreamErrorCode }) => params.code }),
    trackOpenedBlock: assign({
      openIndex: ({ event }) => blockEvent(event).index,
      nextIndex: ({ context }) => context.nextIndex + 1,
      lastBlockType: ({ event }) => (event as BlockStartEvent).content_block.type,
    }),
    trackClosedBlock: assign({ openIndex: null }),
  },
}).createMachine({
  id: 'stream',
  context: ({ input }) => ({ effects: input.effects ?? noEffects, strict: input.strict ?? false, nextIndex: 0, openIndex: null, lastBlockType: null, violation: null }),
  initial: 'awaitingMessageStart',
  on: {
    ping: {},
    error: { target: '#stream.apiErrored' },
    unknown_event: [{ guard: 'isLenient', actions: 'recordSkipped' }, violation('unknown_event_type')],
    '*': violation('unexpected_event'),
  },
  states: {
    awaitingMessageStart: {
      on: {
        message_start: [
          { guard: 'startsComplete', target: 'prepopulated', actions: 'startFinishedMessage' },
          // Content without a stop reason has no meaning the SDK's accumulator gives it either: its deltas would land on the wrong blocks.
          { guard: 'startsWithContent', ...violation('unexpected_event') },
          { target: 'betweenBlocks', actions: 'startMessage' },
        ],
      },
    },
    // The message is finished and its stop reason known: only message_stop may follow (no blocks, no message_delta).
    prepopulated: {
      on: { message_stop: { target: 'complete' } },
    },
    betweenBlocks: {
      on: {
        content_block_start: [
          { guard: 'repeatsIndexAfterToolResult', actions: ['reportRepairedIndex', 'takeAsDueBlock'] },
          { guard: not('isNextBlock'), ...violation('block_index_mismatch') },
          openAs('text'),
          openAs('toolInput'),
          openAs('thinking'),
          openAs('compaction'),
          { target: 'inBlock.wholeBlock', actions: 'openBlock' },
        ],
        message_delta: { target: 'awaitingMessageStop', actions: 'applyMessageDelta' },
      },
    },
    inBlock: {
      entry: 'trackOpenedBlock',
      exit: 'trackClosedBlock',
      // Every way in names its child; this default only satisfies XState.
      initial: 'wholeBlock',
      on: {
        content_block_delta: [
          { guard: 'skipsUnknownDelta', actions: 'recordSkipped' },
          { guard: 'isUnknownDelta', ...violation('unknown_delta_type') },
          { guard: 'isOpenBlock', ...violation('delta_type_mismatch') },
          violation('block_index_mismatch'),
        ],
        content_block_stop: [
          { guard: 'isOpenBlock', target: 'betweenBlocks', actions: 'closeBlock' },
          violation('block_index_mismatch'),
        ],
        // Blocks do not interleave: no recording shows it (only the Go SDK's accumulator tests do), so a block that starts
        // while another is open is rejected, by name, rather than guessed at.
        content_block_start: violation('unexpected_event'),
        message_delta: [
          { guard: 'stopTruncates', target: 'awaitingMessageStop', actions: 'applyMessageDelta' },
          violation('block_open_at_message_delta'),
        ],
      },
      states: {
        text: { on: takes(['text_delta', 'citations_delta']) },
        toolInput: { on: takes(['input_json_delta']) },
        thinking: { on: takes(['thinking_delta', 'signature_delta']) },
        compaction: { on: takes(['compaction_delta']) },
        wholeBlock: {},
      },
    },
    awaitingMessageStop: {
      on: { message_stop: { target: 'complete' } },
    },
    complete: {
      on: {
        ping: {},
        unknown_event: [{ guard: 'isLenient', actions: 'recordSkipped' }, violation('event_after_message_stop')],
        '*': violation('event_after_message_stop'),
      },
    },
    violated: { type: 'final' },
    apiErrored: { type: 'final' },
  },
});

/** The machine's states as the dotted names the inspector shows (`inBlock.text`). */
export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] ?? ['?', '?'];
  return child === undefined ? key : `${key}.${stateName(child)}`;
}

/** What the grammar would have accepted in a state, for error messages. */
export function expectedIn(state: string, context: StreamContext): string {
  if (state === 'awaitingMessageStart') return 'message_start (with empty content, or with finished content and its stop_reason)';
  if (state === 'prepopulated') return 'message_stop (message_start carried the finished message and its stop reason)';
  if (state === 'betweenBlocks') return `content_block_start(index ${context.nextIndex}) or message_delta`;
  if (state.startsWith('inBlock')) {
    const kinds = deltaTable.get(state);
    const deltas = kinds === undefined ? 'no deltas (this block arrives whole)' : `content_block_delta(index ${context.openIndex}: ${kinds.join(' | ')})`;
    return `${deltas} or content_block_stop(index ${context.openIndex}); blocks do not interleave, so the next content_block_start only after that stop`;
  }
  if (state === 'awaitingMessageStop') return 'message_stop';
  if (state === 'complete') return 'nothing but ping';
  return 'nothing (the stream has ended)';
}

/**
 * For each state whose deltas are a targetless `fitsOpenBlock` transition,
 * the delta types it takes — read off the machine definition, not written twice.
 */
export const deltaTable: ReadonlyMap<string, readonly string[]> = (() => {
  const table = new Map<string, readonly string[]>();
  const visit = (node: (typeof streamMachine)['root'], path: string[]): void => {
    for (const transition of node.transitions.get('content_block_delta') ?? []) {
      const guard = transition.guard as { type?: string; params?: { deltaTypes?: readonly string[] } } | undefined;
      if (transition.target === undefined && guard?.type === 'fitsOpenBlock' && guard.params?.deltaTypes) {
        table.set(path.join('.'), guard.params.deltaTypes);
      }
    }
    for (const [key, child] of Object.entries(node.states)) visit(child, [...path, key]);
  };
  visit(streamMachine.root, []);
  return table;
})();
