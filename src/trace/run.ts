/**
 * Records a controller run for the trace page: the continuation machine's
 * steps (state before → after, the transitions taken, from XState's
 * inspection) and the controller's events (segments, stop reasons, tool
 * calls, retries, continuations, budgets, checkpoints) on one timeline.
 *
 *   const recorder = createRunTraceRecorder({ title: 'my run' });
 *   const result = await runTurn({ ...options, inspect: recorder.inspect, onEvent: recorder.onEvent });
 *   const trace = recorder.finish(result);
 */
import type { InspectionEvent } from 'xstate';
import { continuationMachine, continuationStateName } from '../../machines/continuation.machine.js';
import { machineGraph, transitionIndexer } from '../diagram/graph.js';
import type { ControllerEvent } from '../controller/events.js';
import type { RunResult } from '../controller/types.js';
import { capText, capValue } from './cap.js';
import type { Trace, TraceStep } from './types.js';

const indexOf = transitionIndexer(continuationMachine);
const graph = machineGraph(continuationMachine);

/** What moved the machine: the event, or `always` when every transition taken was eventless. */
function stepType(eventType: string, transitions: readonly number[]): string {
  if (transitions.length > 0 && transitions.every((i) => graph.transitions[i]?.trigger.kind === 'always')) return 'always';
  if (eventType.startsWith('xstate.done.actor')) return 'done';
  if (eventType.startsWith('xstate.error.actor')) return 'error';
  return eventType === 'xstate.init' ? 'init' : eventType;
}

/** One line for a controller event on the timeline. */
export function describeControllerEvent(event: ControllerEvent): string {
  switch (event.type) {
    case 'run_start':
      return `${event.resumed ? 'resumed' : 'new run'} (phase ${event.phase})`;
    case 'segment_start':
      return `segment ${event.segment}: ${event.kind}, attempt ${event.attempt}, max_tokens ${event.maxTokens}`;
    case 'segment_end':
      return `segment ${event.segment}: stop_reason ${JSON.stringify(event.stopReason)}, ${event.usage.output_tokens} output tokens, ${Math.round(event.durationMs)} ms`;
    case 'block':
      return `${event.blockType}${event.name ? ` ${event.name}` : ''}${event.id ? ` ${event.id}` : ''}`;
    case 'tool_start':
      return `${event.name} ${event.id} ${capText(safeJson(event.input), 120)}`;
    case 'tool_end':
      return `${event.name} ${event.id} ${event.isError ? `error: ${capText(event.error ?? '', 120)}` : 'ok'} in ${Math.round(event.durationMs)} ms`;
    case 'tool_approval':
      return `${event.name} ${event.id} ${event.decision}${event.message === null ? '' : `: ${capText(event.message, 120)}`} (${event.source})`;
    case 'retry':
      return `segment ${event.segment} attempt ${event.attempt}: ${event.code}${event.apiErrorType ? ` ${event.apiErrorType}` : ''}, backoff ${Math.round(event.delayMs)} ms`;
    case 'continuation':
      return `${event.kind} (#${event.count})`;
    case 'budget':
      return `${event.budget}: limit ${String(event.limit)}, used ${String(event.used)}`;
    case 'checkpoint':
      return `seq ${event.seq} (phase ${event.phase})`;
    case 'lease_takeover':
      return `took over the lease of pid ${event.previous.pid} on ${event.previous.host} (${event.reason})`;
    case 'run_end':
      return `${event.status}${event.stopReason ? ` (${event.stopReason})` : ''}${event.errorCode ? ` ${event.errorCode}` : ''}`;
    case 'text':
      return capText(event.delta, 60);
    case 'state':
      return event.state;
    case 'observer_failed':
      return `${event.observer} ${event.path}: ${event.code}`;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(capValue(value)) ?? String(value);
  } catch {
    return String(value);
  }
}

export interface RunTraceRecorder {
  /** Pass as the controller's `inspect` option. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Pass as the controller's `onEvent` option (or call it from yours). */
  readonly onEvent: (event: ControllerEvent) => void;
  /** Steps so far (the live page reads these as they come). */
  readonly steps: readonly TraceStep[];
  /** Called with each new step (live feeds). */
  onStep: ((step: TraceStep) => void) | null;
  /** The whole trace, once the run has settled. */
  finish(result: RunResult | null): Trace;
}

export function createRunTraceRecorder(options: { title?: string; now?: () => number } = {}): RunTraceRecorder {
  const now = options.now ?? (() => performance.now());
  const start = now();
  const steps: TraceStep[] = [];
  let state = '';
  const recorder: RunTraceRecorder = {
    steps,
    onStep: null,
    inspect(event) {
      // The root actor's own steps: the continuation machine (its invoked promises report too).
      if (event.type !== '@xstate.microstep' || event.actorRef.sessionId !== event.rootId || event.event.type === 'xstate.stop') return;
      const after = continuationStateName((event.snapshot as { value?: unknown }).value);
      const transitions = event._transitions.map(indexOf).filter((i): i is number => i !== null);
      push({
        machine: 'continuation',
        kind: 'event',
        eventIndex: null,
        byteOffset: null,
        type: stepType(event.event.type, transitions),
        detail: '',
        before: state === '' ? null : state,
        after,
        transitions,
        ms: now() - start,
      });
      state = after;
    },
    onEvent(event) {
      // Streamed text is in the messages; state changes are machine steps already.
      if (event.type === 'text' || event.type === 'state') return;
      push({ machine: 'controller', kind: 'note', eventIndex: null, byteOffset: null, type: event.type, detail: describeControllerEvent(event), before: null, after: null, transitions: [], ms: now() - start });
    },
    finish(result) {
      return {
        format: 'turnstate.trace',
        version: 1,
        kind: 'run',
        title: options.title ?? 'run',
        machines: { continuation: graph },
        steps,
        verdict: result?.status ?? 'unknown',
        stopReason: result?.stopReason ?? null,
        failure:
          result?.error == null
            ? null
            : { code: result.error.code, message: result.error.message, eventIndex: null, byteOffset: null, state: null, expected: null, got: null },
        message: capValue(result?.messages ?? null),
        dropped: capValue(result?.dropped ?? []) as unknown[],
        diagnostics: [],
        segments: capValue(result?.segments ?? []) as unknown[],
        toolCalls: capValue(result?.toolCalls ?? []) as unknown[],
        usage: capValue(result?.usage ?? null),
      };
    },
  };
  const push = (step: TraceStep): void => {
    steps.push(step);
    recorder.onStep?.(step);
  };
  return recorder;
}
