import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { ControllerError } from '../errors.js';
import type { LeaseHolder } from '../types.js';
import { parseCheckpoint, type Checkpoint } from './schema.js';

/** A lease that was taken over: its holder, and why it no longer counted. */
export interface StaleLease {
  readonly holder: LeaseHolder;
  /** `holder_dead`: the holder's process is gone (same host); `expired`: not renewed in time; `unreadable`: no holder could be read. */
  readonly reason: 'holder_dead' | 'expired' | 'unreadable';
}

/**
 * The exclusive right to write a run's checkpoints, held from the start of a
 * run (or resume) to its end. Only the lease writes: a store hands out at most
 * one live lease per run.
 */
export interface CheckpointLease {
  readonly holder: LeaseHolder;
  /** The stale lease this one replaced, or null. The controller reports it as a `lease_takeover` event. */
  readonly tookOver: StaleLease | null;
  /**
   * Makes `checkpoint` durable. Must not resolve before it is: the controller
   * runs a tool only after the `started` entry is saved. A save that fails
   * must leave the previous durable checkpoint in place (never a shorter or
   * torn one). The controller never changes a state it has handed to `save`
   * (every step builds a new one), so a store may diff against the last.
   */
  save(checkpoint: Checkpoint): Promise<void>;
  /** Ends the lease. The controller calls it once, when the run has ended. */
  release(): Promise<void>;
}

/**
 * Where checkpoints go. Part of the contract: `acquire` gives one owner per
 * run at a time — across processes and hosts, as far as the store can see —
 * and rejects at once with `ControllerError` `run_locked` (carrying `holder`)
 * when another live owner has it. A stale lease (its holder dead or expired)
 * is taken over.
 */
export interface CheckpointStore {
  acquire(runId: string): Promise<CheckpointLease>;
  /** The latest durable checkpoint of `runId`, or null if there is none. Rejects with `checkpoint_invalid` for a damaged one. */
  load(runId: string): Promise<Checkpoint | null>;
}

/** A holder record for this process. */
export function ownHolder(ttlMs: number, now = Date.now()): LeaseHolder {
  return { pid: process.pid, host: hostname(), token: randomUUID(), acquiredAt: now, expiresAt: now + ttlMs };
}

export function describeHolder(holder: LeaseHolder): string {
  const expires = new Date(holder.expiresAt);
  return `pid ${holder.pid} on ${holder.host} (lease expires ${Number.isNaN(expires.getTime()) ? String(holder.expiresAt) : expires.toISOString()})`;
}

export function runLocked(runId: string, holder: LeaseHolder, detail = ''): ControllerError {
  return new ControllerError('run_locked', `run ${runId} is owned by ${describeHolder(holder)}${detail}: one owner at a time`, { holder });
}

/** Keeps checkpoints in memory (a deep copy each, as a file would). For tests and short-lived runs; leases within this store. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly saved: Checkpoint[] = [];
  readonly #latest = new Map<string, string>();
  readonly #held = new Map<string, LeaseHolder>();

  async acquire(runId: string): Promise<CheckpointLease> {
    const current = this.#held.get(runId);
    if (current !== undefined) throw runLocked(runId, current);
    const holder = ownHolder(100 * 365 * 24 * 3600 * 1000); // held until released: there is no other process to outlive
    this.#held.set(runId, holder);
    let released = false;
    return {
      holder,
      tookOver: null,
      save: async (checkpoint) => {
        if (released) throw new ControllerError('checkpoint_failed', `the lease on run ${runId} was released`);
        const json = JSON.stringify(checkpoint);
        this.#latest.set(runId, json);
        this.saved.push(JSON.parse(json) as Checkpoint);
      },
      release: async () => {
        if (!released && this.#held.get(runId) === holder) this.#held.delete(runId);
        released = true;
      },
    };
  }

  async load(runId: string): Promise<Checkpoint | null> {
    const json = this.#latest.get(runId);
    return json === undefined ? null : parseCheckpoint(json);
  }
}

/** A store that keeps nothing (`checkpoint: false`): nothing is written, so there is nothing to own. */
export const nullCheckpointStore: CheckpointStore = {
  acquire: async () => ({ holder: ownHolder(0), tookOver: null, save: async () => {}, release: async () => {} }),
  load: async () => null,
};
