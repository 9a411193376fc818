import type { MachineGraph } from '../diagram/graph.js';

/** One thing that happened, on the trace's timeline. */
export interface TraceStep {
  /** Which machine stepped (`stream`, `continuation`), or `controller` for a controller event that is not a machine step. */
  readonly machine: string;
  /** `event`: a machine step; `error`: where the input failed; `note`: a controller event (segment, tool call, retry …). */
  readonly kind: 'event' | 'error' | 'note';
  /** The wire event's index in its stream (pings included), when it is one. */
  readonly eventIndex: number | null;
  /** Byte offset of the event's `data` payload in the input, when the input was bytes. */
  readonly byteOffset: number | null;
  /** `content_block_delta`, `tool_start`, `always` … */
  readonly type: string;
  /** A short, capped description: the delta's text, the tool and its id, the stop reason. */
  readonly detail: string;
  /** Machine state before and after (dotted names); null for notes. */
  readonly before: string | null;
  readonly after: string | null;
  /** The transitions taken, as indices into that machine's graph. */
  readonly transitions: readonly number[];
  /** Milliseconds since the trace started. */
  readonly ms: number;
}

/** Where a broken stream failed: the exact event, what the grammar expected and what came. */
export interface TraceFailure {
  readonly code: string;
  readonly message: string;
  readonly eventIndex: number | null;
  readonly byteOffset: number | null;
  readonly state: string | null;
  readonly expected: string | null;
  readonly got: string | null;
}

/** Everything a trace page shows; serialisable as JSON. */
export interface Trace {
  readonly format: 'turnstate.trace';
  readonly version: 1;
  readonly kind: 'stream' | 'run';
  readonly title: string;
  /** The machines drawn, by id, with the graph their step indices refer to. */
  readonly machines: Readonly<Record<string, MachineGraph>>;
  readonly steps: readonly TraceStep[];
  /** `ok`, or the status of a run (`completed`, `failed` …), or the stream's error code. */
  readonly verdict: string;
  readonly stopReason: string | null;
  readonly failure: TraceFailure | null;
  /** The assembled message (stream), or the final messages (run), capped for the page. */
  readonly message: unknown;
  readonly dropped: readonly unknown[];
  readonly diagnostics: readonly unknown[];
  /** Runs: one row per segment (kind, stop reason, usage, duration, request id, retries). */
  readonly segments: readonly unknown[];
  /** Runs: one row per tool call (name, id, input, result, duration, status). */
  readonly toolCalls: readonly unknown[];
  readonly usage: unknown;
}
