/**
 * What the page is sent, and the per-conversation event log that lets it
 * reconnect. Every event goes out as one server-sent event with an id,
 * `<epoch>-<seq>`: the epoch is the server process (a restarted server has a
 * new one, so an id from before the restart is recognised as such), the
 * sequence number counts the conversation's events.
 *
 * Two views of the turn in flight are kept, both bounded:
 * - the last `limit` frames exactly as sent, so a reconnect with
 *   `Last-Event-ID` (a dropped connection, a reload) gets precisely what it
 *   missed;
 * - the turn so far, compacted: consecutive deltas of one block merged into
 *   one event. Its size grows with the number of blocks, not of deltas, and
 *   it is what a page gets when its id is too old (or from another epoch):
 *   a `snapshot` — the finished turns and the compacted turn in flight.
 */
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { randomBytes } from 'node:crypto';

/** How a turn ended, as the page explains it. */
export interface Ending {
  /**
   * The controller's status (`completed`, `refused`, `incomplete`, `stopped`,
   * `budget_exceeded`, `failed`), or `aborted` when the person pressed Stop.
   */
  readonly status: string;
  /** The last response's stop reason (what the status follows from). */
  readonly stopReason: string | null;
  /** For `incomplete`: `max_tokens` or `model_context_window_exceeded`. */
  readonly reason: string | null;
  readonly stopDetails: unknown;
  /** Blocks the stream layer removed (max_tokens cut them): type, tool name, the raw partial input. */
  readonly dropped: readonly { type: string; name: string | null; reason: string; partial: string }[];
  /** Responses that stopped on pause_turn and were continued. */
  readonly paused: number;
  readonly usage: { input: number; output: number };
  readonly error: { code: string; message: string } | null;
}

/** A finished turn: its messages (the first is the person's) and how it ended. */
export interface TurnView {
  readonly id: string;
  readonly messages: readonly BetaMessageParam[];
  readonly ending: Ending | null;
}

type Base = { turnId: string };
type At = Base & { segment: number; index: number };

/** The events of the turn in flight. */
export type ChatEvent =
  /** A turn starts (or resumes after a restart: `messages` is what its journal already holds, the person's message first). */
  | (Base & { type: 'turn_start'; resumed: boolean; messages: BetaMessageParam[] })
  /** A model request starts; `attempt` > 1 is a retry of the same segment (its earlier output is void). */
  | (Base & { type: 'segment_start'; segment: number; kind: string; attempt: number })
  /** A content block opens. Tool results of server tools arrive whole: `summary` has what the page shows of them. */
  | (At & { type: 'block_start'; blockType: string; name: string | null; id: string | null; summary: unknown })
  | (At & { type: 'text'; delta: string })
  | (At & { type: 'thinking'; delta: string })
  /** A piece of a tool call's input JSON, as it streams. */
  | (At & { type: 'input'; delta: string })
  | (At & { type: 'block_stop' })
  | (Base & { type: 'segment_end'; segment: number; stopReason: string | null; usage: { input: number; output: number } })
  | (Base & { type: 'tool_start'; id: string; name: string; input: unknown })
  | (Base & { type: 'tool_end'; id: string; name: string; isError: boolean; result: string })
  | (Base & { type: 'retry'; segment: number; attempt: number; code: string; delayMs: number })
  | (Base & { type: 'turn_end'; ending: Ending; messages: BetaMessageParam[] });

/** Where a frame goes: an open SSE response. `write` false means it is buffering. */
export interface Subscriber {
  write(frame: string): void;
}

const MERGEABLE = new Set(['text', 'thinking', 'input']);

interface Frame {
  readonly seq: number;
  readonly text: string;
}

export class EventLog {
  readonly epoch: string;
  #seq = 0;
  readonly #limit: number;
  /** A ring of the last `limit` frames of the turn in flight. */
  readonly #ring: (Frame | undefined)[];
  #ringStart = 0;
  #ringSize = 0;
  /** The turn in flight, compacted: [event, seq of the last event merged into it]. */
  #compact: [ChatEvent, number][] = [];
  /** The sequence number before the turn in flight began: ids older than this are another turn's. */
  #turnBase = 0;
  readonly subscribers = new Set<Subscriber>();

  constructor(limit = 512, epoch = randomBytes(6).toString('hex')) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`the event log limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
    this.#ring = new Array<Frame | undefined>(limit);
    this.epoch = epoch;
  }

  get lastId(): string {
    return `${this.epoch}-${this.#seq}`;
  }

  /** Sends an event to every subscriber and keeps it. A `turn_start` opens a new turn: the previous turn's frames go. */
  push(event: ChatEvent): void {
    if (event.type === 'turn_start') {
      this.#ring.fill(undefined);
      this.#ringStart = 0;
      this.#ringSize = 0;
      this.#compact = [];
      this.#turnBase = this.#seq;
    }
    const seq = ++this.#seq;
    const text = frame(`${this.epoch}-${seq}`, event.type, event);
    const slot = (this.#ringStart + this.#ringSize) % this.#limit;
    this.#ring[slot] = { seq, text };
    if (this.#ringSize < this.#limit) this.#ringSize += 1;
    else this.#ringStart = (this.#ringStart + 1) % this.#limit;
    this.#compactPush(event, seq);
    for (const subscriber of this.subscribers) subscriber.write(text);
  }

  #compactPush(event: ChatEvent, seq: number): void {
    const last = this.#compact.at(-1);
    if (last && MERGEABLE.has(event.type) && last[0].type === event.type) {
      const prev = last[0] as ChatEvent & { segment: number; index: number; delta: string };
      const next = event as ChatEvent & { segment: number; index: number; delta: string };
      if (prev.segment === next.segment && prev.index === next.index) {
        prev.delta += next.delta;
        last[1] = seq;
        return;
      }
    }
    // A copy: merging grows it in place, and the caller's object is the caller's.
    this.#compact.push([MERGEABLE.has(event.type) ? { ...event } : event, seq]);
  }

  /**
   * The frames after `lastEventId`, when the log still has all of them; `null`
   * when it cannot say (no id, another epoch, an id older than the log keeps
   * or from an earlier turn): then the page needs a snapshot.
   */
  since(lastEventId: string | null | undefined): string[] | null {
    if (!lastEventId) return null;
    const match = /^([A-Za-z0-9_-]+)-(\d+)$/.exec(lastEventId);
    if (!match || match[1] !== this.epoch) return null;
    const seq = Number(match[2]);
    if (seq > this.#seq || seq < this.#turnBase) return null;
    const oldest = this.#ringSize === 0 ? this.#seq + 1 : this.#ring[this.#ringStart]!.seq;
    if (seq < oldest - 1) return null;
    const out: string[] = [];
    for (let i = 0; i < this.#ringSize; i += 1) {
      const f = this.#ring[(this.#ringStart + i) % this.#limit]!;
      if (f.seq > seq) out.push(f.text);
    }
    return out;
  }

  /** The `snapshot` frame: the finished turns, then the turn in flight compacted. Its id is the latest. */
  snapshot(turns: readonly TurnView[]): string {
    return frame(this.lastId, 'snapshot', { turns, live: this.#compact.map(([event]) => event) });
  }

  /** How many frames the ring holds (tests). */
  get size(): number {
    return this.#ringSize;
  }
}

/** One server-sent event. JSON has no raw newlines, so `data` is one line. */
export function frame(id: string, type: string, data: unknown): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}
