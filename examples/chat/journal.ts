/**
 * The chat's run journal: turnstate's file store, with one write moved off
 * the path to the first model request.
 *
 * The controller saves a checkpoint before every model request and waits for
 * it (the store's contract: `save` resolves once durable). The first of a new
 * turn is the journal's snapshot: a temp file, fsync, rename, fsync of the
 * directory. At a thousand sessions those fsyncs queue in libuv's pool and
 * the first request left seconds after the person's message. Here that one
 * save is started and not waited for; every later save (and the release)
 * waits for it first, then runs as the store's own.
 *
 * Why that loses nothing. What must be durable, and when:
 * - Before the POST of the message is answered: the conversation file (the
 *   person's message, and the turn naming its run id). backend.ts writes it
 *   before `startRun` and before the 202.
 * - Before the first model request: nothing more. The request has no effect
 *   but its answer; a server killed while it is in flight re-issues it on
 *   restart either way. A server killed before this snapshot is on disk
 *   leaves the turn with no journal (or, renamed atomically, a whole one):
 *   the restarted server finds the turn in the conversation file and, with no
 *   journal, starts the run again under its id from the conversation's
 *   messages — the same state the snapshot would have held (backend.ts,
 *   `#resume`; tested by the SIGKILL test at segment_start).
 * - Before a tool runs: its `started` record. That is a later save, so it
 *   waits for this snapshot first and then for itself: the journal holds
 *   both, in order, before the tool runs — the exactly-once argument is
 *   unchanged. If the deferred snapshot failed (a full disk), that later save
 *   fails with the snapshot's error, so the run ends `checkpoint_failed`
 *   before any tool runs, as it would have before the request.
 *
 * Only runs the chat starts take this path: a resumed run's first save is an
 * ordinary one (it replaces a journal that exists).
 */
import type { Checkpoint, CheckpointStore } from 'turnstate/controller';

type CheckpointLease = Awaited<ReturnType<CheckpointStore['acquire']>>;

/** A lease whose first save is written behind the caller. */
class FirstSaveBehind implements CheckpointLease {
  readonly #inner: CheckpointLease;
  #first = true;
  /** The first save while it may still be in flight; its failure is the next save's. */
  #pending: Promise<void> | null = null;

  constructor(inner: CheckpointLease) {
    this.#inner = inner;
  }

  get holder() {
    return this.#inner.holder;
  }
  get tookOver() {
    return this.#inner.tookOver;
  }

  save(checkpoint: Checkpoint): Promise<void> {
    if (this.#first) {
      this.#first = false;
      const pending = this.#inner.save(checkpoint);
      // Reported by the next save (or dropped by release, when the run ends with no other save): never unhandled.
      pending.catch(() => {});
      this.#pending = pending;
      return Promise.resolve();
    }
    return this.#afterPending().then(() => this.#inner.save(checkpoint));
  }

  async #afterPending(): Promise<void> {
    const pending = this.#pending;
    this.#pending = null;
    if (pending) await pending;
  }

  async release(): Promise<void> {
    await this.#afterPending().catch(() => {});
    await this.#inner.release();
  }
}

/** `store`, with the first save of each lease taken behind the first request. */
export function firstSaveBehind(store: CheckpointStore): CheckpointStore {
  return {
    acquire: async (runId) => new FirstSaveBehind(await store.acquire(runId)),
    load: (runId) => store.load(runId),
  };
}
