/**
 * The chat backend: conversations, each turn a turnstate controller run
 * journaled to disk, its responses streamed to the page as they arrive.
 *
 * One model request, one parse: the controller's. The page is told what
 * arrives through the controller's `parse` option — turnstate's `parseTurn`
 * with an `event` listener added — so each event is parsed once, for the
 * run and for the page alike. (An earlier version teed the response bytes to
 * a second parser, the drop-in `TurnStream`: at a thousand sessions that
 * second parse, and the web-stream tee feeding it, were about a third of the
 * server's CPU.) The listener reads what it needs off each event at once:
 * the parser grows the objects it hands out, so they are not kept.
 *
 * Nothing here reads the model's text to decide anything: what happens next
 * is the controller's (the stop reason), and what the page is told is the
 * run's status and stop reason.
 */
import type { BetaContentBlockParam, BetaMessageParam, BetaRawMessageStreamEvent } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTurn } from 'turnstate';
import {
  appendAssistant,
  FileCheckpointStore,
  startResume,
  startRun,
  trimTrailingWhitespace,
  type ControllerEvent,
  type CreateStream,
  type ParseTurn,
  type RequestParams,
  type RunHandle,
  type RunnableTool,
  type RunResult,
  type CheckpointStore,
  type SdkClient,
} from 'turnstate/controller';
import { ChatError } from './errors.js';
import { sendable } from './history.js';
import { firstSaveBehind } from './journal.js';
import { EventLog, type ChatEvent, type Ending, type TurnView } from './log.js';
import { ConversationStore, isConversationId, newConversationId, type StoredConversation, type StoredTurn } from './store.js';

export interface ChatBackendOptions {
  /** Where conversations (`conversations/`), run journals (`runs/`) and the notes file go. */
  readonly dataDir: string;
  readonly client: SdkClient;
  readonly params: RequestParams;
  readonly tools: readonly RunnableTool[];
  /** Frames of the turn in flight kept for `Last-Event-ID` replay (default 512). */
  readonly logLimit?: number;
  /** fdatasync each journal append (default true). */
  readonly fsync?: boolean;
  readonly onWarning?: (message: string) => void;
}

interface Running {
  readonly turn: StoredTurn;
  handle: RunHandle | null;
  segment: number;
  /** The text blocks of the response in flight, by index: what Stop keeps. null once the response is complete. */
  partial: Map<number, string> | null;
  stopRequested: boolean;
}

interface Conversation {
  readonly data: StoredConversation;
  readonly log: EventLog;
  running: Running | null;
  saving: Promise<void>;
}

const usageOf = (u: { input_tokens?: number; output_tokens?: number } | undefined): { input: number; output: number } => ({ input: u?.input_tokens ?? 0, output: u?.output_tokens ?? 0 });

function resultText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return output.map((b: { type?: string; text?: string }) => (b?.type === 'text' ? (b.text ?? '') : `[${b?.type}]`)).join('');
  return '';
}

/** What the page shows of a block that arrives whole (server tool results): titles and links, or the error. */
function summary(block: Record<string, unknown>): unknown {
  const content = block['content'];
  if (Array.isArray(content)) return { results: content.slice(0, 10).map((r: Record<string, unknown>) => ({ title: r?.['title'] ?? null, url: r?.['url'] ?? null })) };
  if (content && typeof content === 'object') return { error: (content as Record<string, unknown>)['error_code'] ?? (content as Record<string, unknown>)['type'] ?? null };
  return null;
}

export class ChatBackend {
  readonly #options: ChatBackendOptions;
  readonly #conversations = new Map<string, Conversation>();
  readonly #store: ConversationStore;
  readonly #runsDir: string;
  /** The run journals (one file per run under runs/). */
  readonly #journal: FileCheckpointStore;
  /** The same, for the runs a message starts: their first snapshot does not hold up the first request (journal.ts). */
  readonly #newRunJournal: CheckpointStore;
  readonly #tools: RunnableTool[];
  /** Each tool call's result text by tool_use id, for the page's tool_end (the controller's event carries only failures' text). */
  readonly #toolResults = new Map<string, string>();
  #closing = false;

  constructor(options: ChatBackendOptions) {
    this.#options = options;
    this.#store = new ConversationStore(join(options.dataDir, 'conversations'));
    this.#runsDir = join(options.dataDir, 'runs');
    this.#journal = new FileCheckpointStore({ dir: this.#runsDir, fsync: options.fsync ?? true });
    this.#newRunJournal = firstSaveBehind(this.#journal);
    this.#tools = options.tools.map((tool) => ({
      ...tool,
      run: async (input: unknown, context) => {
        const output = await tool.run(input, context);
        if (context) this.#toolResults.set(context.toolUse.id, resultText(output));
        return output;
      },
    }));
  }

  /** Loads the conversations on disk and resumes every turn that was in flight when the last server stopped. */
  async open(): Promise<void> {
    const stored = await this.#store.loadAll((file, error) => this.#options.onWarning?.(`turnstate chat: skipped ${file}: ${error.message}`));
    for (const data of stored) {
      const conversation = this.#add(data);
      const turn = data.turns.at(-1);
      if (turn && turn.ending === null) await this.#resume(conversation, turn);
    }
  }

  #add(data: StoredConversation): Conversation {
    const conversation: Conversation = { data, log: new EventLog(this.#options.logLimit), running: null, saving: Promise.resolve() };
    this.#conversations.set(data.id, conversation);
    return conversation;
  }

  async create(): Promise<string> {
    const data: StoredConversation = { format: 'turnstate.chat', version: 1, id: newConversationId(), messages: [], turns: [] };
    const conversation = this.#add(data);
    await this.#save(conversation);
    return data.id;
  }

  get(id: string): Conversation {
    const conversation = isConversationId(id) ? this.#conversations.get(id) : undefined;
    if (!conversation) throw new ChatError('not_found', `no conversation ${JSON.stringify(id)}`);
    return conversation;
  }

  /** The finished turns, for the page's snapshot. */
  turns(conversation: Conversation): TurnView[] {
    const { data } = conversation;
    return data.turns
      .filter((t) => t.ending !== null)
      .map((t, i, all) => ({ id: t.id, ending: t.ending, messages: data.messages.slice(t.start, all[i + 1]?.start ?? (conversation.running ? conversation.running.turn.start : data.messages.length)) }));
  }

  running(conversation: Conversation): string | null {
    return conversation.running?.turn.id ?? null;
  }

  /** Starts a turn: the person's message, then the controller's run to the end of the turn. */
  async send(id: string, text: string): Promise<string> {
    const conversation = this.get(id);
    if (conversation.running) throw new ChatError('turn_running', 'a turn is in flight in this conversation; wait for it or press Stop');
    const messages = sendable([...conversation.data.messages, { role: 'user', content: [{ type: 'text', text }] }]);
    const turn: StoredTurn = { id: `t_${randomUUID()}`, runId: `run_${randomUUID()}`, start: messages.length - 1, ending: null };
    const running = this.#running(conversation, turn);
    conversation.data.messages = messages;
    conversation.data.turns.push(turn);
    // Durable before the run starts: a server killed from here on finds the turn and resumes its run.
    await this.#save(conversation);
    conversation.log.push({ type: 'turn_start', turnId: turn.id, resumed: false, messages: messages.slice(turn.start) });
    this.#launch(conversation, running, startRun({ ...this.#runOptions(conversation, running, this.#newRunJournal), runId: turn.runId, params: this.#options.params, messages, maxTokensPolicy: 'stop' }));
    return turn.id;
  }

  /** Stop: aborts the run; the partial answer stays in the conversation. */
  stop(id: string): string {
    const conversation = this.get(id);
    const running = conversation.running;
    if (!running) throw new ChatError('no_turn', 'no turn is in flight in this conversation');
    running.stopRequested = true;
    running.handle?.abort(new ChatError('no_turn', 'stopped by the person'));
    return running.turn.id;
  }

  #running(conversation: Conversation, turn: StoredTurn): Running {
    const running: Running = { turn, handle: null, segment: 0, partial: null, stopRequested: false };
    conversation.running = running;
    return running;
  }

  async #resume(conversation: Conversation, turn: StoredTurn): Promise<void> {
    const running = this.#running(conversation, turn);
    const checkpoint = await this.#journal.load(turn.runId).catch((error: unknown) => {
      this.#options.onWarning?.(`turnstate chat: the journal of ${turn.runId} cannot be read (${(error as Error).message}); the turn starts again`);
      return null;
    });
    const messages = checkpoint ? checkpoint.state.messages : conversation.data.messages;
    conversation.log.push({ type: 'turn_start', turnId: turn.id, resumed: true, messages: messages.slice(turn.start) });
    const options = this.#runOptions(conversation, running, this.#journal);
    // No journal yet (killed before the first save): nothing ran, so the run simply starts again under its id.
    const handle = checkpoint
      ? startResume(checkpoint, options)
      : startRun({ ...options, runId: turn.runId, params: this.#options.params, messages: conversation.data.messages, maxTokensPolicy: 'stop' });
    this.#launch(conversation, running, handle);
  }

  #runOptions(conversation: Conversation, running: Running, journal: CheckpointStore) {
    const push = (event: ChatEvent): void => conversation.log.push(event);
    const turnId = running.turn.id;
    return {
      tools: this.#tools,
      createStream: this.#createStream(),
      parse: this.#parse(conversation, running),
      checkpoint: journal,
      onEvent: (event: ControllerEvent) => {
        switch (event.type) {
          case 'segment_start':
            running.segment = event.segment;
            push({ type: 'segment_start', turnId, segment: event.segment, kind: event.kind, attempt: event.attempt });
            break;
          case 'segment_end':
            push({ type: 'segment_end', turnId, segment: event.segment, stopReason: event.stopReason, usage: usageOf(event.usage) });
            break;
          case 'tool_start':
            push({ type: 'tool_start', turnId, id: event.id, name: event.name, input: event.input });
            break;
          case 'tool_end':
            push({ type: 'tool_end', turnId, id: event.id, name: event.name, isError: event.isError, result: event.error ?? this.#toolResults.get(event.id) ?? '' });
            this.#toolResults.delete(event.id);
            break;
          case 'retry':
            push({ type: 'retry', turnId, segment: event.segment, attempt: event.attempt, code: event.code, delayMs: event.delayMs });
            break;
        }
      },
    };
  }

  /** The model request, as the controller's default makes it, with this backend's client. */
  #createStream(): CreateStream {
    const client = this.#options.client;
    return (params, signal) => client.beta.messages.create({ ...params, stream: true }, { signal }).asResponse();
  }

  /** The controller's parse of each response, with the page told of every event as it is parsed. */
  #parse(conversation: Conversation, running: Running): ParseTurn {
    return (source, options) => {
      const tap = this.#follow(conversation, running, running.segment);
      const chained = options.on?.event;
      const event = (e: unknown, index: number): void => {
        chained?.(e as never, index);
        tap(e);
      };
      return parseTurn(source, { ...options, on: { ...options.on, event } });
    };
  }

  /** What the page sees of one response, from its raw events. */
  #follow(conversation: Conversation, running: Running, segment: number): (event: unknown) => void {
    const turnId = running.turn.id;
    const log = conversation.log;
    const partial = new Map<number, string>();
    running.partial = partial;
    return (event) => {
      const e = event as BetaRawMessageStreamEvent;
      switch (e.type) {
        case 'content_block_start': {
          const b = e.content_block as unknown as Record<string, unknown>;
          const type = b['type'] as string;
          const whole = type !== 'text' && type !== 'thinking' && type !== 'tool_use' && type !== 'server_tool_use';
          if (type === 'text') partial.set(e.index, typeof b['text'] === 'string' ? b['text'] : '');
          log.push({
            type: 'block_start',
            turnId,
            segment,
            index: e.index,
            blockType: type,
            name: typeof b['name'] === 'string' ? b['name'] : null,
            id: typeof b['id'] === 'string' ? b['id'] : typeof b['tool_use_id'] === 'string' ? b['tool_use_id'] : null,
            summary: whole ? summary(b) : null,
          });
          break;
        }
        case 'content_block_delta': {
          const d = e.delta;
          if (d.type === 'text_delta') {
            partial.set(e.index, (partial.get(e.index) ?? '') + d.text);
            log.push({ type: 'text', turnId, segment, index: e.index, delta: d.text });
          } else if (d.type === 'thinking_delta') log.push({ type: 'thinking', turnId, segment, index: e.index, delta: d.thinking });
          else if (d.type === 'input_json_delta') log.push({ type: 'input', turnId, segment, index: e.index, delta: d.partial_json });
          break;
        }
        case 'content_block_stop':
          log.push({ type: 'block_stop', turnId, segment, index: e.index });
          break;
        case 'message_stop':
          // Complete: the run's messages hold this response, so Stop has nothing of it to add.
          if (running.partial === partial) running.partial = null;
          break;
      }
    };
  }

  #launch(conversation: Conversation, running: Running, handle: RunHandle): void {
    running.handle = handle;
    void handle.settled.then((result) => this.#finish(conversation, running, result));
  }

  async #finish(conversation: Conversation, running: Running, result: RunResult): Promise<void> {
    // A server shutting down leaves the turn in flight: the next start resumes it from the journal.
    if (this.#closing && !running.stopRequested) return;
    const aborted = running.stopRequested && result.error?.code === 'aborted';
    let messages = result.messages;
    if (aborted && running.partial) {
      // Stop mid-stream: what had arrived of the response is kept (text only: a half tool call cannot be sent back).
      const partial: BetaContentBlockParam[] = [...running.partial].sort(([a], [b]) => a - b).flatMap(([, text]) => (text.length > 0 ? [{ type: 'text' as const, text }] : []));
      const kept = trimTrailingWhitespace(partial);
      if (kept.length > 0) messages = appendAssistant(messages, kept);
    }
    const ending: Ending = {
      status: aborted ? 'aborted' : result.status,
      stopReason: result.stopReason,
      reason: result.reason,
      stopDetails: result.stopDetails,
      dropped: result.dropped.map((d) => ({ type: d.type, name: typeof (d.block as { name?: unknown }).name === 'string' ? (d.block as { name: string }).name : null, reason: d.reason, partial: d.partial.slice(0, 2000) })),
      paused: result.segments.filter((s) => s.stopReason === 'pause_turn').length,
      usage: usageOf(result.usage),
      error: result.error && !aborted ? { code: result.error.code, message: result.error.message } : null,
    };
    const turn = running.turn;
    conversation.data.messages = messages as BetaMessageParam[];
    turn.ending = ending;
    conversation.running = null;
    await this.#save(conversation);
    // The conversation file now holds the turn: its journal is no longer needed by anyone. Gone before turn_end is
    // announced, so a client that saw the end never finds the journal still there.
    await unlink(join(this.#runsDir, `${turn.runId}.json`)).catch(() => {});
    conversation.log.push({ type: 'turn_end', turnId: turn.id, ending, messages: messages.slice(turn.start) });
  }

  #save(conversation: Conversation): Promise<void> {
    const next = conversation.saving.then(() => this.#store.save(conversation.data));
    conversation.saving = next.catch((error: unknown) => this.#options.onWarning?.(`turnstate chat: cannot save ${conversation.data.id}: ${(error as Error).message}`));
    return next;
  }

  /** Stops every run (each stays resumable from its journal) and waits for the conversation files. */
  async close(): Promise<void> {
    this.#closing = true;
    const settling: Promise<unknown>[] = [];
    for (const c of this.#conversations.values()) {
      if (!c.running?.handle) continue;
      c.running.handle.abort(new Error('the chat server is shutting down'));
      settling.push(c.running.handle.settled);
    }
    await Promise.allSettled(settling);
    await Promise.allSettled([...this.#conversations.values()].map((c) => c.saving));
  }
}

export type { Conversation };
