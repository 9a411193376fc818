/**
 * The default store: one append-only journal file per run (format version 2).
 *
 *   line 1      {"format":"turnstate.checkpoint","version":2,"seq":S,"savedAt":…,"state":{…}}   a snapshot
 *   line 2…     {"seq":S+1,"savedAt":…,"set":{…},"splice":{…}}                                  one delta per step
 *
 * A step costs one positional write of its delta and one fdatasync. Every
 * lease starts with a snapshot (which also upgrades a version-1 file and drops
 * a torn tail), and once the deltas outgrow the snapshot (and
 * `compactAfterBytes`) a new snapshot replaces the file, so `load` reads at
 * most about twice the state. See delta.ts for why this keeps every tool run
 * exactly once.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { ControllerError } from '../errors.js';
import type { RunState } from '../types.js';
import { applyDelta, diffState, type StateDelta } from './delta.js';
import { asyncFs, errno, syncDir, syncFs, writeAll, type JournalFs } from './fs.js';
import { acquireFileLease, FileLease, removeLeftovers, tempName } from './lease.js';
import { CHECKPOINT_FORMAT, invalidCheckpoint, parseCheckpoint, type Checkpoint } from './schema.js';
import { describeHolder, type CheckpointLease, type CheckpointStore } from './store.js';

export interface FileCheckpointStoreOptions {
  /** One file for the run (the CLI's `--checkpoint FILE`). */
  readonly path?: string;
  /** A directory holding `<runId>.json` per run. Default `.turnstate/runs` under the cwd. */
  readonly dir?: string;
  /**
   * fdatasync each record (default true). Off, a record still survives the
   * process being killed (the page cache outlives it); only a power loss or
   * kernel crash can then lose the last few.
   */
  readonly fsync?: boolean;
  /**
   * Synchronous file calls (default false): no thread-pool round trips, but
   * the event loop waits for the disk — fine for a CLI or a single agent, not
   * for a server running many runs at once.
   */
  readonly sync?: boolean;
  /** Lease lifetime without renewal (default 30 000 ms; renewed every third of it). */
  readonly leaseTtlMs?: number;
  /** Deltas since the last snapshot may grow to max(this, the snapshot's size) before the next snapshot. Default 1 MiB. */
  readonly compactAfterBytes?: number;
  /** The file system (tests inject faults). Default: node's. */
  readonly fs?: JournalFs;
}

const failed = (what: string, cause: unknown): ControllerError =>
  new ControllerError('checkpoint_failed', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });

export class FileCheckpointStore implements CheckpointStore {
  readonly #path: string | null;
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #io: JournalFs;
  readonly #ttlMs: number;
  readonly #compactAfter: number;

  constructor(options: FileCheckpointStoreOptions = {}) {
    this.#path = options.path === undefined ? null : resolve(options.path);
    this.#dir = resolve(options.dir ?? join('.turnstate', 'runs'));
    this.#fsync = options.fsync ?? true;
    this.#io = options.fs ?? (options.sync ? syncFs : asyncFs);
    this.#ttlMs = options.leaseTtlMs ?? 30_000;
    this.#compactAfter = options.compactAfterBytes ?? 1024 * 1024;
  }

  /** The file a run's journal goes to. */
  pathFor(runId: string): string {
    return this.#path ?? join(this.#dir, `${runId}.json`);
  }

  async acquire(runId: string): Promise<CheckpointLease> {
    const path = this.pathFor(runId);
    try {
      await this.#io.mkdir(dirname(path));
    } catch (error) {
      throw failed(`cannot create the checkpoint directory ${dirname(path)}`, error);
    }
    let lease: FileLease;
    try {
      lease = await acquireFileLease(this.#io, `${path}.lock`, runId, { ttlMs: this.#ttlMs });
    } catch (error) {
      if (error instanceof ControllerError) throw error;
      throw failed(`cannot take the lease ${path}.lock`, error);
    }
    // Temp files are left only by a holder that never released (killed, or stalled past its expiry), and such a
    // lease is taken over: only then is the directory listed — on every acquire it cost O(runs in it) per turn.
    if (lease.tookOver !== null) await removeLeftovers(this.#io, path);
    return new JournalSession(this.#io, path, runId, lease, this.#fsync, this.#compactAfter);
  }

  async load(runId: string): Promise<Checkpoint | null> {
    return readJournal(this.#io, this.pathFor(runId), true);
  }
}

class JournalSession implements CheckpointLease {
  readonly #io: JournalFs;
  readonly #path: string;
  readonly #runId: string;
  readonly #lease: FileLease;
  readonly #fsync: boolean;
  readonly #compactAfter: number;
  /** The state the file holds now (what the next delta is taken against); null before the first snapshot. */
  #prev: RunState | null = null;
  #fd: number | null = null;
  #size = 0;
  #snapshotBytes = 0;

  constructor(io: JournalFs, path: string, runId: string, lease: FileLease, fsync: boolean, compactAfter: number) {
    this.#io = io;
    this.#path = path;
    this.#runId = runId;
    this.#lease = lease;
    this.#fsync = fsync;
    this.#compactAfter = compactAfter;
  }

  get holder() {
    return this.#lease.holder;
  }
  get tookOver() {
    return this.#lease.tookOver;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const lost = this.#lease.lostTo;
    if (lost !== null) throw new ControllerError('run_locked', `run ${this.#runId} was taken over by ${describeHolder(lost)}: this process stops writing`, { holder: lost });
    const prev = this.#prev;
    if (prev === null || this.#size - this.#snapshotBytes > Math.max(this.#compactAfter, this.#snapshotBytes)) {
      try {
        await this.#snapshot(checkpoint);
        return;
      } catch (error) {
        if (prev === null) throw failed(`writing the checkpoint snapshot ${this.#path} failed (the previous one is untouched)`, error);
        // compaction is an optimisation: the journal as it is stays valid, so append to it instead
      }
    }
    await this.#append(checkpoint, prev!);
  }

  async #append(checkpoint: Checkpoint, prev: RunState): Promise<void> {
    const delta: StateDelta & { seq: number; savedAt: string } = { seq: checkpoint.seq, savedAt: checkpoint.savedAt, ...diffState(prev, checkpoint.state) };
    const data = Buffer.from(`${JSON.stringify(delta)}\n`);
    const fd = this.#fd!;
    try {
      await writeAll(this.#io, fd, data, this.#size);
      if (this.#fsync) await this.#io.fdatasync(fd);
    } catch (error) {
      // Cut a partial record back off, so the file ends with the last acknowledged one.
      await this.#io.ftruncate(fd, this.#size).catch(() => {});
      throw failed(`appending checkpoint ${checkpoint.seq} to ${this.#path} failed (the journal keeps checkpoint ${checkpoint.seq - 1})`, error);
    }
    this.#size += data.length;
    this.#prev = checkpoint.state;
  }

  /** A full snapshot in a temp file, made durable, renamed over the journal: the old file or the new, never half of one. */
  async #snapshot(checkpoint: Checkpoint): Promise<void> {
    const data = Buffer.from(`${JSON.stringify({ ...checkpoint, format: CHECKPOINT_FORMAT, version: 2 })}\n`);
    const temp = tempName(this.#path);
    let fd: number | null = null;
    try {
      fd = await this.#io.open(temp, 'wx');
      await writeAll(this.#io, fd, data, 0);
      if (this.#fsync) await this.#io.fsync(fd);
      await this.#io.rename(temp, this.#path);
    } catch (error) {
      if (fd !== null) await this.#io.close(fd).catch(() => {});
      await this.#io.unlink(temp).catch(() => {});
      throw error;
    }
    if (this.#fsync) await syncDir(this.#io, dirname(this.#path)).catch(() => {});
    // Appends go on through the temp file's descriptor: it is the journal now.
    if (this.#fd !== null) await this.#io.close(this.#fd).catch(() => {});
    this.#fd = fd;
    this.#size = data.length;
    this.#snapshotBytes = data.length;
    this.#prev = checkpoint.state;
  }

  async release(): Promise<void> {
    const fd = this.#fd;
    this.#fd = null;
    if (fd !== null) await this.#io.close(fd).catch(() => {});
    await this.#lease.release();
  }
}

/**
 * Reads a journal (version 2) or a version-1 checkpoint file. A last line
 * that is incomplete was never acknowledged (a crash tore it) and is left out;
 * any other defect is `checkpoint_invalid` saying where.
 */
export async function readJournal(io: JournalFs, path: string, missingIsNull: boolean): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await io.readFile(path);
  } catch (error) {
    if (missingIsNull && errno(error) === 'ENOENT') return null;
    throw invalidCheckpoint(`cannot read checkpoint ${path}: ${(error as Error).message}`, error);
  }
  const name = basename(path);
  const firstEnd = text.indexOf('\n');
  const first = firstEnd === -1 ? text : text.slice(0, firstEnd);
  let head: unknown;
  try {
    head = JSON.parse(first);
  } catch (error) {
    throw invalidCheckpoint(`checkpoint ${name} is not JSON${firstEnd === -1 ? '' : ' (line 1)'}: ${(error as Error).message}`, error);
  }
  const version = (head as { version?: unknown } | null)?.version;
  if (version !== 2) return parseCheckpoint(head, `checkpoint ${name}`); // version 1 (one object), or a clear refusal
  const snapshot = head as { seq: unknown; savedAt: unknown; state: unknown };
  const state = snapshot.state as Record<string, unknown>;
  if (typeof state !== 'object' || state === null) return parseCheckpoint(head, `checkpoint ${name}`);
  let seq = snapshot.seq as number;
  let savedAt = snapshot.savedAt;
  let at = firstEnd === -1 ? text.length : firstEnd + 1;
  let line = 1;
  while (at < text.length) {
    line++;
    const end = text.indexOf('\n', at);
    if (end === -1) break; // torn last record: never acknowledged
    const raw = text.slice(at, end);
    at = end + 1;
    let record: { seq?: unknown; savedAt?: unknown; set?: unknown; splice?: unknown };
    try {
      record = JSON.parse(raw);
    } catch (error) {
      throw invalidCheckpoint(`checkpoint ${name} line ${line} is not JSON: ${(error as Error).message}`, error);
    }
    if (typeof record !== 'object' || record === null || record.seq !== seq + 1) {
      throw invalidCheckpoint(`checkpoint ${name} line ${line}: expected record seq ${seq + 1}, got ${JSON.stringify((record as { seq?: unknown } | null)?.seq)}`);
    }
    const shapeOk = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
    if (!shapeOk(record.set) || !shapeOk(record.splice)) throw invalidCheckpoint(`checkpoint ${name} line ${line}: set/splice are not objects`);
    const problem = applyDelta(state, record as StateDelta);
    if (problem !== null) throw invalidCheckpoint(`checkpoint ${name} line ${line}: ${problem}`);
    seq = record.seq as number;
    savedAt = record.savedAt;
  }
  return parseCheckpoint({ format: CHECKPOINT_FORMAT, version: 2, seq, savedAt, state }, `checkpoint ${name}`);
}
