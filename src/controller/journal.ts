/**
 * The controller's journal: checkpoint format and validation (journal/schema),
 * the store contract with its lease (journal/store), the default file store
 * (journal/file-store: an append-only journal, journal/lease: the lock file),
 * and the writer that serialises a run's writes (journal/writer). The
 * exactly-once argument is written down in journal/delta.ts.
 */
export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, parseCheckpoint, type Checkpoint, type CheckpointVersion } from './journal/schema.js';
export { MemoryCheckpointStore, nullCheckpointStore, type CheckpointLease, type CheckpointStore, type StaleLease } from './journal/store.js';
export { FileCheckpointStore, type FileCheckpointStoreOptions } from './journal/file-store.js';
export { CheckpointWriter } from './journal/writer.js';
export type { JournalFs } from './journal/fs.js';
import { asyncFs } from './journal/fs.js';
import { readJournal } from './journal/file-store.js';
import type { Checkpoint } from './journal/schema.js';

/** Reads and validates a checkpoint file (a version-2 journal or a version-1 file). */
export async function readCheckpointFile(path: string): Promise<Checkpoint> {
  return (await readJournal(asyncFs, path, false))!;
}
