import type { Checkpoint } from './schema.js';

/**
 * Serialises checkpoint writes of one run. Parallel tools ask for writes at
 * once; each write takes the state *when it starts*, so requests that arrive
 * while one is in flight are coalesced into a single follow-up write that
 * includes all of them, and a write starts only after the current event-loop
 * turn (setImmediate), so calls that start together share one write.
 * `write()` resolves once a write that started after the call has completed —
 * i.e. once the caller's change is durable.
 */
export class CheckpointWriter {
  readonly #target: { save(checkpoint: Checkpoint): Promise<void> };
  readonly #build: (seq: number) => Checkpoint;
  readonly #onWrite: ((checkpoint: Checkpoint) => void) | null;
  #seq: number;
  #busy = false;
  #queued: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** The first failed write: every later write fails with it (a journal with a hole is no journal). */
  #failure: { error: unknown } | null = null;

  constructor(target: { save(checkpoint: Checkpoint): Promise<void> }, build: (seq: number) => Checkpoint, startSeq = 0, onWrite: ((checkpoint: Checkpoint) => void) | null = null) {
    this.#target = target;
    this.#build = build;
    this.#seq = startSeq;
    this.#onWrite = onWrite;
  }

  /** The number of the last checkpoint started. */
  get seq(): number {
    return this.#seq;
  }

  /** Whether a write has failed (every later one fails too). */
  get failed(): boolean {
    return this.#failure !== null;
  }

  write(): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failure.error);
    if (this.#queued === null) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#queued = { promise, resolve, reject };
      if (!this.#busy) {
        this.#busy = true;
        setImmediate(() => void this.#drain());
      }
    }
    return this.#queued.promise;
  }

  async #drain(): Promise<void> {
    while (this.#queued !== null) {
      const job = this.#queued;
      this.#queued = null;
      if (this.#failure !== null) {
        job.reject(this.#failure.error);
        continue;
      }
      try {
        const checkpoint = this.#build(++this.#seq);
        await this.#target.save(checkpoint);
        this.#onWrite?.(checkpoint);
        job.resolve();
      } catch (error) {
        this.#failure = { error };
        job.reject(error);
      }
    }
    this.#busy = false;
  }
}
