/**
 * Records a trace of one stream through the grammar: every event as an actor
 * step (`actorSteps: 'every-event'`, so deltas are seen too), with its index,
 * byte offset, state before and after, and the exact transitions XState took
 * (from the inspection `@xstate.microstep` events), plus where a broken stream
 * failed.
 */
import type { InspectionEvent } from 'xstate';
import { stateName, streamMachine } from '../../machines/stream.machine.js';
import { machineGraph, transitionIndexer } from '../diagram/graph.js';
import { TurnParser } from '../turn/turn-parser.js';
import type { TurnOptions, TurnResult } from '../turn/types.js';
import { capText, capValue } from './cap.js';
import type { Trace, TraceFailure, TraceStep } from './types.js';

const indexOf = transitionIndexer(streamMachine);

/** A short description of a wire event, for the timeline. */
export function describeEvent(event: Record<string, unknown>): string {
  const type = String(event['type']);
  if (type === 'content_block_delta') {
    const delta = (event['delta'] ?? {}) as Record<string, unknown>;
    const text = delta['text'] ?? delta['partial_json'] ?? delta['thinking'] ?? delta['signature'] ?? delta['content'];
    return `${String(delta['type'])} [${String(event['index'])}]${typeof text === 'string' ? ` ${JSON.stringify(capText(text, 60))}` : ''}`;
  }
  if (type === 'content_block_start') {
    const block = (event['content_block'] ?? {}) as Record<string, unknown>;
    const name = typeof block['name'] === 'string' ? ` ${block['name']}` : '';
    return `${String(block['type'])} [${String(event['index'])}]${name}`;
  }
  if (type === 'content_block_stop') return `[${String(event['index'])}]`;
  if (type === 'message_delta') return `stop_reason ${JSON.stringify(((event['delta'] ?? {}) as Record<string, unknown>)['stop_reason'] ?? null)}`;
  if (type === 'message_start') return String(((event['message'] ?? {}) as Record<string, unknown>)['model'] ?? '');
  if (type === 'error') return String(((event['error'] ?? {}) as Record<string, unknown>)['type'] ?? '');
  if (type === 'unknown_event') return `unknown type ${JSON.stringify(((event['event'] ?? {}) as Record<string, unknown>)['type'])}`;
  return '';
}

export function failureOf(result: TurnResult): TraceFailure | null {
  if (result.ok) return null;
  const error = result.error as unknown as Record<string, unknown>;
  const text = (key: string): string | null => (typeof error[key] === 'string' ? (error[key] as string) : null);
  return {
    code: result.error.code,
    message: result.error.message,
    eventIndex: result.error.eventIndex,
    byteOffset: result.error.byteOffset,
    state: text('state'),
    expected: text('expected'),
    got: text('got'),
  };
}

export interface TraceTurnOptions extends Pick<TurnOptions, 'strict' | 'maxEventSize'> {
  /** The page's title (e.g. the file name). */
  readonly title?: string;
  /** The clock, in ms (tests pass a fake one). Default `performance.now`. */
  readonly now?: () => number;
}

export interface StreamTraceRecorder {
  /** Pass as the TurnParser's `inspect` (with `actorSteps: 'every-event'`). */
  readonly inspect: (event: InspectionEvent) => void;
  /** The parser whose byte offsets the steps carry (set once it exists). */
  attach(turn: TurnParser): void;
  readonly steps: readonly TraceStep[];
  /** Called with each new step (live feeds). */
  onStep: ((step: TraceStep) => void) | null;
  /** The whole trace, once the stream has ended. */
  finish(result: TurnResult): Trace;
}

export function createStreamTraceRecorder(options: { title?: string; now?: () => number } = {}): StreamTraceRecorder {
  const now = options.now ?? (() => performance.now());
  const start = now();
  const steps: TraceStep[] = [];
  let state = 'awaitingMessageStart';
  let events = 0;
  let turn: TurnParser | null = null;
  const recorder: StreamTraceRecorder = {
    steps,
    onStep: null,
    attach(parser) {
      turn = parser;
    },
    inspect(event) {
      if (event.type === '@xstate.event' && event.event.type !== 'xstate.init' && event.event.type !== 'xstate.stop') events += 1;
      // The parser stopping its actor at the end is not an event of the stream.
      if (event.type !== '@xstate.microstep' || event.event.type === 'xstate.stop') return;
      const after = stateName((event.snapshot as unknown as { value: Parameters<typeof stateName>[0] }).value);
      const wire = event.event as unknown as Record<string, unknown>;
      push({
        machine: 'stream',
        kind: 'event',
        eventIndex: events - 1,
        byteOffset: turn?.eventByteOffset ?? null,
        type: String(wire['type']),
        detail: describeEvent(wire),
        before: state,
        after,
        transitions: event._transitions.map(indexOf).filter((i): i is number => i !== null),
        ms: now() - start,
      });
      state = after;
    },
    finish(result) {
      const failure = failureOf(result);
      // An input that failed before the machine saw the event (bad JSON, bad bytes, a cut) gets its own step.
      if (failure !== null && !steps.some((s) => s.after === 'violated' || s.after === 'apiErrored')) {
        push({
          machine: 'stream',
          kind: 'error',
          eventIndex: failure.eventIndex,
          byteOffset: failure.byteOffset,
          type: failure.code,
          detail: capText(failure.message, 200),
          before: state,
          after: state,
          transitions: [],
          ms: now() - start,
        });
      }
      return {
        format: 'turnstate.trace',
        version: 1,
        kind: 'stream',
        title: options.title ?? 'stream',
        machines: { stream: machineGraph(streamMachine) },
        steps,
        verdict: result.ok ? 'ok' : result.error.code,
        stopReason: result.stopReason,
        failure,
        message: capValue(result.message),
        dropped: capValue(result.dropped) as unknown[],
        diagnostics: capValue(result.diagnostics) as unknown[],
        segments: [],
        toolCalls: [],
        usage: capValue(result.message?.usage ?? null),
      };
    },
  };
  const push = (step: TraceStep): void => {
    steps.push(step);
    recorder.onStep?.(step);
  };
  return recorder;
}

/** An empty trace of `machine` (a live page's starting point). */
export function emptyStreamTrace(title: string): Trace {
  return {
    format: 'turnstate.trace',
    version: 1,
    kind: 'stream',
    title,
    machines: { stream: machineGraph(streamMachine) },
    steps: [],
    verdict: 'streaming',
    stopReason: null,
    failure: null,
    message: null,
    dropped: [],
    diagnostics: [],
    segments: [],
    toolCalls: [],
    usage: null,
  };
}

/** Parses `chunks` (a recording's bytes, in any chunking) and returns its trace and verdict. */
export function traceTurn(
  chunks: Iterable<Uint8Array | string>,
  options: TraceTurnOptions & { readonly recorder?: StreamTraceRecorder; readonly inspect?: (event: InspectionEvent) => void } = {},
): { trace: Trace; result: TurnResult } {
  const recorder = options.recorder ?? createStreamTraceRecorder({ ...(options.title === undefined ? {} : { title: options.title }), ...(options.now === undefined ? {} : { now: options.now }) });
  const turn = new TurnParser({
    strict: options.strict ?? false,
    ...(options.maxEventSize === undefined ? {} : { maxEventSize: options.maxEventSize }),
    actorSteps: 'every-event',
    inspect:
      options.inspect === undefined
        ? recorder.inspect
        : (event: InspectionEvent) => {
            recorder.inspect(event);
            options.inspect!(event);
          },
  });
  recorder.attach(turn);
  try {
    for (const chunk of chunks) turn.write(chunk);
  } catch {
    // The verdict below carries the typed error.
  }
  const result = turn.end();
  return { trace: recorder.finish(result), result };
}
