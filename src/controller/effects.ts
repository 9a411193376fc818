/**
 * The effect boundary: every side effect of a run, as one interface a
 * durable-execution engine can own. The continuation machine decides (pure
 * steps, src/controller/steps.ts); everything that touches the world goes
 * through a {@link RunEffects}:
 *
 * | effect         | in → out                                                        | default (today's behaviour)          |
 * | -------------- | --------------------------------------------------------------- | ------------------------------------ |
 * | `modelRequest` | {@link ModelRequest} (the exact params) → the assembled segment, or a rejection with a `SegmentFailure` (typed: `kind`, `code`) | `perform()`: the SDK stream, parsed strictly |
 * | `toolCall`     | the call's journal record → its `tool_result` ({@link ToolResult}) | `perform()`: the tool's `run`, timeout, result normalisation |
 * | `sleep`        | ms (the retry backoff) → resolves after it, rejects on `signal`  | `clock.sleep` (a timer)               |
 * | `now`          | → epoch ms (segment times, budgets, event stamps)               | `clock.now` (`Date.now`)             |
 * | `random`       | → [0, 1) (backoff jitter)                                       | `Math.random`                        |
 * | `journal`      | the {@link CheckpointStore}: `acquire(runId)` → a lease (one owner per run) whose `save` is durable before it resolves; `load(runId)` | `FileCheckpointStore` (`checkpoint` option) |
 *
 * `perform` is the controller's own implementation of the step; an engine
 * that executes steps in-process (Restate `ctx.run`, DBOS steps, Inngest
 * `step.run`) wraps it, records its output and, on a retried execution,
 * returns the recorded output instead of calling it. Every input and output
 * is JSON-safe, so it can be journaled as it is; a `SegmentFailure` travels
 * as its `kind`, `code`, `message` and `details` (see `segmentFailureJSON`).
 *
 * What the controller asks of an implementation:
 * - the same inputs in the same order on a replay — they are, as long as
 *   `now` and `random` give back what they gave the first time (the machine's
 *   branches read only the state, the step outputs, `now` and `random`);
 * - `toolCall` is where exactly-once is decided: the default journals the
 *   call `started` in `journal` before `perform` and `done` after, so a call
 *   with `started` and no result is *in doubt* after a crash (re-run only if
 *   the tool is `retrySafe`, otherwise `tool_needs_decision`). An engine with
 *   its own journal must keep that policy: mark the start durably, and when a
 *   replay finds a start without a result, re-run a retry-safe tool and
 *   reject with `ControllerError('tool_needs_decision')` for any other
 *   (turnstate/restate does so). A rejection stops the batch; the call stays
 *   `started` in the run's state;
 * - the journal's lease contract (journal/store.ts) still holds: one writer
 *   per run. An engine that already gives one writer per key (a Restate
 *   virtual object, a Temporal workflow id, a DBOS workflow id) may hand out
 *   a lease that only keeps the latest checkpoint in memory: its own journal
 *   is what makes the run reconstructible.
 *
 * On paper (their servers cannot be had on the machine this was built on):
 * - **Temporal**: the run is the workflow function; `modelRequest` and
 *   `toolCall` call activities (`proxyActivities`) that receive the
 *   JSON-safe input and run turnstate's `requestSegment`/`invokeTool`
 *   themselves (a workflow may not do I/O, so `perform` is not called
 *   there); `sleep` is `workflow.sleep`, `now` is the workflow's
 *   deterministic `Date.now()`, `random` its seeded `Math.random`; `journal`
 *   is an in-memory lease (the workflow id is the one writer; history is the
 *   journal). The in-doubt policy maps onto the activity retry policy:
 *   `maximumAttempts: 1` for tools that are not retry-safe, then the
 *   workflow surfaces `tool_needs_decision` (a signal carries the decision).
 * - **DBOS**: the run is a `@DBOS.workflow()`; `modelRequest` and `toolCall`
 *   are `DBOS.runStep(perform, { name })` (checkpointed in Postgres by step
 *   order, as here); `sleep` is `DBOS.sleep` (durable); `now`/`random` are
 *   steps themselves or values fixed at workflow start; `journal` is an
 *   in-memory lease (the workflow id is the one writer). A step interrupted
 *   mid-way re-runs on recovery: give non-retry-safe tools `retriesAllowed:
 *   false` and a start marker step, as turnstate/restate does.
 * - **Inngest**: the run is a function; `modelRequest` and `toolCall` are
 *   `step.run(id, perform)` with ids that include the segment/attempt and the
 *   tool_use id (Inngest memoises by id, not order); `sleep` is
 *   `step.sleep`; `now`/`random` come from a `step.run` at the start (the
 *   function body re-runs on every step); `journal` is in memory, with
 *   `concurrency: { key: 'event.data.conversationId', limit: 1 }` as the one
 *   writer per conversation.
 */
import type { CheckpointStore } from './journal/store.js';
import type { ReceivedSegment } from './steps.js';
import type { RequestKind, StreamRequestParams, ToolCallRecord, ToolResult } from './types.js';
import { ControllerError } from './errors.js';
import { SegmentFailure } from './retry.js';

/** One model request as the controller makes it. */
export interface ModelRequest {
  readonly runId: string;
  /** Exactly what is sent (the `stream: true` flag aside). */
  readonly params: StreamRequestParams;
  /** The index the segment will have once it succeeds. */
  readonly segment: number;
  /** 0 for the first try of this request, then 1, 2 … for mid-stream retries. */
  readonly attempt: number;
  readonly kind: RequestKind;
}

/** A step the controller would perform itself; the effect decides whether (and when) it runs. */
export type Perform<T> = () => Promise<T>;

/** The controller's side effects (see the module comment for the contract). */
export interface RunEffects {
  /** Resolves with the complete segment or rejects with a `SegmentFailure` (anything else counts as `request_failed`). */
  modelRequest(request: ModelRequest, perform: Perform<ReceivedSegment>): Promise<ReceivedSegment>;
  /** Resolves with the call's result. A rejection stops the batch and leaves the call `started` (in doubt). */
  toolCall(call: ToolCallRecord, perform: Perform<ToolResult>): Promise<ToolResult>;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
  random(): number;
  journal: CheckpointStore;
}

/** The defaults a run falls back to for what `effects` does not give (its `clock`, `random`, `checkpoint` options). */
export interface EffectDefaults {
  readonly now: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random: () => number;
  readonly journal: () => CheckpointStore;
}

/** Which older option each effect stands for: giving both is ambiguous. */
const OVERLAPS: ReadonlyArray<readonly [keyof RunEffects, 'clock' | 'random' | 'checkpoint']> = [
  ['now', 'clock'],
  ['sleep', 'clock'],
  ['random', 'random'],
  ['journal', 'checkpoint'],
];

const performIt = <T>(_input: unknown, perform: Perform<T>): Promise<T> => perform();

/**
 * The effects of a run: `given` where it says, the defaults elsewhere. An
 * effect given together with the option it replaces, or one that is not a
 * function (a store without `acquire`), is an `invalid_options` error.
 */
export function resolveEffects(
  given: Partial<RunEffects> | undefined,
  options: { readonly clock?: unknown; readonly random?: unknown; readonly checkpoint?: unknown },
  defaults: EffectDefaults,
): RunEffects {
  if (given === undefined) {
    return { modelRequest: performIt, toolCall: performIt, now: defaults.now, sleep: defaults.sleep, random: defaults.random, journal: defaults.journal() };
  }
  if (given === null || typeof given !== 'object') throw new ControllerError('invalid_options', 'effects must be an object of effect functions (see RunEffects)');
  for (const [effect, option] of OVERLAPS) {
    if (given[effect] !== undefined && options[option] !== undefined) {
      throw new ControllerError('invalid_options', `effects.${effect} and the \`${option}\` option both say how to do the same thing: give one`);
    }
  }
  for (const name of ['modelRequest', 'toolCall', 'sleep', 'now', 'random'] as const) {
    if (given[name] !== undefined && typeof given[name] !== 'function') throw new ControllerError('invalid_options', `effects.${name} must be a function`);
  }
  if (given.journal !== undefined && typeof (given.journal as { acquire?: unknown })?.acquire !== 'function') {
    throw new ControllerError('invalid_options', 'effects.journal must be a CheckpointStore (acquire(runId) → lease, load(runId))');
  }
  return {
    modelRequest: given.modelRequest ?? performIt,
    toolCall: given.toolCall ?? performIt,
    now: given.now ?? defaults.now,
    sleep: given.sleep ?? defaults.sleep,
    random: given.random ?? defaults.random,
    journal: given.journal ?? defaults.journal(),
  };
}

/** A `SegmentFailure` as JSON, for an engine that journals a failed model request. */
export interface SegmentFailureJSON {
  readonly failure: 'segment';
  readonly kind: SegmentFailure['kind'];
  readonly code: string;
  readonly message: string;
  readonly apiErrorType: string | null;
  readonly requestId: string | null;
  readonly partialUsage: unknown;
  readonly durationMs: number | null;
}

/** The journaled form of a model request's failure; `cause` is not kept (it is rarely plain data). */
export function segmentFailureJSON(failure: SegmentFailure): SegmentFailureJSON {
  const { details } = failure;
  const usage = details.partialUsage;
  return {
    failure: 'segment',
    kind: failure.kind,
    code: failure.code,
    message: failure.message,
    apiErrorType: details.apiErrorType ?? null,
    requestId: details.requestId ?? null,
    partialUsage: usage === undefined ? null : JSON.parse(JSON.stringify(usage)),
    durationMs: details.durationMs ?? null,
  };
}

/** The failure back from its journaled form: the machine's guards branch on it exactly as on the original. */
export function segmentFailureFromJSON(json: SegmentFailureJSON): SegmentFailure {
  return new SegmentFailure(json.kind, json.code, json.message, {
    apiErrorType: json.apiErrorType,
    requestId: json.requestId,
    ...(json.partialUsage === null ? {} : { partialUsage: json.partialUsage }),
    ...(json.durationMs === null ? {} : { durationMs: json.durationMs }),
  });
}
