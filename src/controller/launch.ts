/**
 * One run, start to settled: its lease, its journal writer, its event hub,
 * its abort and deadline, and the continuation machine that drives it —
 * through the table driver (drive.ts) or, when XState inspection is asked
 * for or the machine is one the driver does not run, an XState actor.
 */
import { createActor, type InspectionEvent } from 'xstate';
import { continuationMachine, continuationStateName, type ContinuationContext } from '../../machines/continuation.machine.js';
import { continuationTable, drive } from './drive.js';
import { resolveEffects } from './effects.js';
import { continuationEnv } from './env.js';
import { ControllerError } from './errors.js';
import { EventHub } from './events.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointWriter,
  FileCheckpointStore,
  nullCheckpointStore,
  type CheckpointLease,
  type CheckpointStore,
  type FileCheckpointStoreOptions,
} from './journal.js';
import { defaultParseTurn } from './model.js';
import { systemClock, type CommonRunOptions, type LaunchContext, type ResumeOptions, type RunHandle } from './options.js';
import { resultFromState, resumedState } from './run-state.js';
import { finish } from './steps.js';
import { setLongTimeout } from './timers.js';
import { toolMap } from './tools.js';
import type { RunResult, RunState } from './types.js';

const nullLeaseTarget = { save: async (): Promise<void> => {} };

/** What the run writes its checkpoints through: the lease's {@link CheckpointWriter}, or, with no store, {@link NoStoreWriter}. */
interface Writer {
  write(): Promise<void>;
  readonly failed: boolean;
}

const written: Promise<void> = Promise.resolve();

/**
 * The writer of a run with no store (`checkpoint: false`): nothing is written, so a write is only its
 * `checkpoint` event, at once. The lease's writer builds a checkpoint and waits a `setImmediate` to
 * coalesce the writes of one tick into one save; with nothing to save that hop through the event loop
 * is the biggest part of what a write costs. (Writes are not coalesced here: two calls that start
 * together give two `checkpoint` events.)
 */
class NoStoreWriter implements Writer {
  readonly failed = false;
  #seq: number;
  readonly #onWrite: (seq: number) => void;
  constructor(seq: number, onWrite: (seq: number) => void) {
    this.#seq = seq;
    this.#onWrite = onWrite;
  }
  write(): Promise<void> {
    this.#onWrite(++this.#seq);
    return written;
  }
}

function storeFrom(option: CommonRunOptions['checkpoint']): CheckpointStore {
  if (option === false) return nullCheckpointStore;
  if (option === undefined) return new FileCheckpointStore();
  if (typeof (option as CheckpointStore).acquire === 'function') return option as CheckpointStore;
  if (typeof (option as { save?: unknown }).save === 'function') {
    throw new TypeError('a CheckpointStore needs acquire(runId) → lease { save, release } and load(runId); see CheckpointStore');
  }
  return new FileCheckpointStore(option as FileCheckpointStoreOptions);
}

export function launch(initial: RunState, launchContext: LaunchContext): RunHandle {
  const { options } = launchContext;
  const clock = options.clock ?? systemClock;
  const effects = resolveEffects(options.effects, options, {
    now: () => clock.now(),
    sleep: (ms, signal) => clock.sleep(ms, signal),
    random: options.random ?? Math.random,
    journal: () => storeFrom(options.checkpoint),
  });
  const now = effects.now;
  const runId = initial.runId;
  const hub = new EventHub(options.on ?? {}, options.onEvent, options.eventLog, { runId, now });
  const store = effects.journal;
  /** No store: no lease to take, nothing to write (see NoStoreWriter). */
  const noStore = store === nullCheckpointStore;
  const tools = toolMap(options.tools ?? []);
  const parse = options.parse ?? defaultParseTurn;

  const runAbort = new AbortController();
  let abortCause: 'deadline' | 'caller' | null = null;
  /** Told when the run aborts, after the signal's listeners: the open tool batch's (one EventTarget listener per batch costs as much as a step). */
  let abortHooks: Set<() => void> | null = null;
  const whenAborted = (listener: () => void): (() => void) => {
    (abortHooks ??= new Set()).add(listener);
    return () => void abortHooks!.delete(listener);
  };
  const abort = (cause: 'deadline' | 'caller', reason: unknown): void => {
    if (runAbort.signal.aborted) return;
    abortCause = cause;
    runAbort.abort(reason);
    if (abortHooks !== null) for (const hook of [...abortHooks]) hook();
    abortHooks = null;
  };
  const onCallerAbort = (): void => abort('caller', options.signal?.reason);

  /** The newest state: what the next checkpoint write stores. */
  let latest = initial;
  /** The run's lease on its store, taken before anything runs; every write goes through it. */
  let lease: CheckpointLease | null = null;
  let writer: Writer = new CheckpointWriter(nullLeaseTarget, () => {
    throw new Error('no checkpoint before the lease');
  });
  const openWriter = (owned: CheckpointLease | null, seq: number): void => {
    if (owned === null) {
      writer = new NoStoreWriter(seq, (next) => {
        if (hub.active) hub.emit({ type: 'checkpoint', runId, at: now(), seq: next, phase: latest.phase });
      });
      return;
    }
    lease = owned;
    writer = new CheckpointWriter(
      owned,
      (next) => ({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, seq: next, savedAt: new Date(now()).toISOString(), state: latest }),
      seq,
      (checkpoint) => hub.emit({ type: 'checkpoint', runId, at: now(), seq: checkpoint.seq, phase: checkpoint.state.phase }),
    );
  };

  /** A write the next step depends on; its failure is the run's `checkpoint_failed`. */
  const durableWrite = noStore
    ? (): Promise<void> => writer.write()
    : (): Promise<void> =>
        writer.write().catch((cause: unknown) => {
          throw new ControllerError('checkpoint_failed', `writing the checkpoint failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
        });

  const env = continuationEnv({
    runId,
    launchContext,
    effects,
    hub,
    tools,
    parse,
    signal: runAbort.signal,
    whenAborted,
    abortCause: () => abortCause,
    setLatest: (state) => {
      latest = state;
    },
    durableWrite,
  });

  const machine = options.machine ?? continuationMachine;

  let lastStateName = '';
  /** A `state` event for each state the machine moves to. */
  const stateReached = (name: string): void => {
    if (name === lastStateName) return;
    lastStateName = name;
    if (hub.active) hub.emit({ type: 'state', runId, at: now(), state: name });
  };
  const userInspect = options.inspect;
  const inspect = (event: InspectionEvent): void => {
    if (typeof userInspect === 'function') userInspect(event);
    else userInspect?.next?.(event);
    // The root actor's own steps (its invoked children report too). Compared by session id because the
    // first microsteps are inspected while `createActor` is still constructing the actor.
    if (event.type === '@xstate.microstep' && event.actorRef.sessionId === event.rootId) {
      stateReached(continuationStateName((event.snapshot as { value?: unknown }).value));
    }
  };

  let resolveSettled!: (result: RunResult) => void;
  const settled = new Promise<RunResult>((res) => {
    resolveSettled = res;
  });

  let cancelDeadline = (): void => {};
  const cleanup = (): void => {
    cancelDeadline();
    options.signal?.removeEventListener('abort', onCallerAbort);
  };

  let settledOnce = false;
  /** The one way a run ends: whatever went wrong, `settled` resolves (never rejects). */
  const finishWith = async (context: Pick<ContinuationContext, 'state' | 'error'>, journal = true): Promise<void> => {
    if (settledOnce) return;
    settledOnce = true;
    let state = context.state;
    let error = context.error;
    try {
      latest = state;
      if (journal && !writer.failed) {
        try {
          await writer.write();
        } catch (cause) {
          if (error === null || error.code !== 'checkpoint_failed') {
            // The end could not be journaled: the durable state is the one before it. Say so; keep the answer.
            const failure = cause instanceof ControllerError ? cause : new ControllerError('checkpoint_failed', `writing the final checkpoint failed: ${(cause as Error).message}`, { cause });
            if (error === null) {
              error = failure;
              state = finish(state, 'failed', { error });
            }
          }
        }
      }
    } finally {
      const held: CheckpointLease | null = lease;
      lease = null;
      if (held !== null) await held.release().catch(() => {});
    }
    let result: RunResult;
    try {
      result = resultFromState(state.outcome === null ? finish(state, 'failed', { error }) : state, error, hub.listenerErrors);
    } catch (cause) {
      const fallback = new ControllerError('checkpoint_invalid', `the run's state cannot be reported: ${(cause as Error).message}`, { cause });
      result = resultFromState(finish(initial, 'failed', { error: fallback }), fallback, hub.listenerErrors);
    }
    cleanup();
    if (hub.active) hub.emit({ type: 'run_end', runId, at: now(), status: result.status, stopReason: result.stopReason, errorCode: result.error?.code ?? null });
    await hub.close().catch(() => {});
    resolveSettled(result);
  };
  /** Ends the run before its machine started (no lease, a lease lost, a store that failed). */
  const failEarly = (state: RunState, error: ControllerError, journal = false): Promise<void> =>
    finishWith({ state: finish({ ...state, outcome: null }, 'failed', { error }), error }, journal);

  const begin = async (): Promise<void> => {
    if (hub.active) hub.emit({ type: 'run_start', runId, at: now(), resumed: launchContext.resumed, phase: initial.phase });
    if (initial.phase === 'done') {
      // A finished run: give its result back, run nothing, write nothing.
      return finishWith({ state: initial, error: null }, false);
    }
    if (noStore) {
      // Nothing to own, load or write.
      openWriter(null, launchContext.seq);
      return startMachine(initial);
    }
    // One owner per run: take the lease before anything runs or is written.
    let owned: CheckpointLease;
    try {
      owned = await store.acquire(runId);
    } catch (cause) {
      const error = cause instanceof ControllerError ? cause : new ControllerError('checkpoint_failed', `taking the run's lease failed: ${(cause as Error).message}`, { cause });
      return failEarly(initial, error);
    }
    lease = owned;
    if (owned.tookOver) hub.emit({ type: 'lease_takeover', runId, at: now(), previous: owned.tookOver.holder, reason: owned.tookOver.reason });
    let start = initial;
    let seq = launchContext.seq;
    if (launchContext.resumed) {
      // What was read before the lease may be stale: the previous owner may have gone on writing since.
      try {
        const stored = await store.load(runId);
        if (stored !== null && stored.state.runId === runId && stored.seq > seq) {
          start = resumedState(stored, options as ResumeOptions);
          seq = stored.seq;
          latest = start;
        }
      } catch (cause) {
        const error = cause instanceof ControllerError ? cause : new ControllerError('checkpoint_invalid', (cause as Error).message, { cause });
        return failEarly(initial, error);
      }
      if (start.phase === 'done') return finishWith({ state: start, error: null }, false);
    }
    openWriter(owned, seq);
    startMachine(start);
  };

  const startMachine = (initial: RunState): void => {
    if (options.signal?.aborted) abort('caller', options.signal.reason);
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const deadlineAt = initial.settings.budgets.deadlineAt;
    if (deadlineAt !== null) {
      // Chained past setTimeout's 2^31-1 ms: a run may outlive 24.8 days (waiting on a slow tool, say).
      cancelDeadline = setLongTimeout(() => abort('deadline', new ControllerError('budget_exceeded', 'deadline', { budget: 'deadline' })), Math.max(0, deadlineAt - now()));
    }
    lastStateName = 'starting';
    if (hub.active) hub.emit({ type: 'state', runId, at: now(), state: lastStateName });
    /** A bug in a step or the machine, not a run outcome: still a typed, settled result. */
    const failed = (cause: unknown): void => {
      const error = cause instanceof ControllerError ? cause : new ControllerError('request_failed', `the controller failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      void failEarly(latest, error, true);
    };
    // XState inspection is XState's own: a run that asks for it runs in an actor, as does a machine the driver cannot run.
    const table = userInspect === undefined ? continuationTable(machine) : null;
    if (table !== null) {
      drive(table, { state: initial, env }, { onState: stateReached, onDone: (context) => void finishWith(context), onError: failed });
      return;
    }
    // State events come from XState's inspection; skip the hook when nobody can see them.
    const observed = hub.active || userInspect !== undefined;
    const actor = createActor(machine, observed ? { input: { state: initial, env }, inspect } : { input: { state: initial, env } });
    actor.subscribe({
      complete: () => {
        void finishWith(actor.getSnapshot().context);
      },
      error: failed,
    });
    actor.start();
  };
  // Start on a later tick, so `handle.events()` called right after `startRun` sees `run_start`.
  queueMicrotask(() => {
    begin().catch((cause: unknown) => failEarly(latest, new ControllerError('request_failed', `the controller failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })));
  });

  const result = settled.then((r) => {
    if (r.error && (r.status === 'failed' || r.status === 'budget_exceeded')) throw r.error;
    return r;
  });
  result.catch(() => {}); // the caller may only use `settled`

  return {
    runId,
    result,
    settled,
    events: () => hub.iterate(),
    abort: (reason?: unknown) => abort('caller', reason ?? new Error('aborted')),
  };
}
