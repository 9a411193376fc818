import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { ControllerError } from './errors.js';
import type { RunState } from './types.js';

/** Identifies a turnstate checkpoint file. */
export const CHECKPOINT_FORMAT = 'turnstate.checkpoint';
/**
 * Bumped on any change a version-1 reader would misread. A reader refuses other
 * versions with `checkpoint_invalid` instead of guessing.
 */
export const CHECKPOINT_VERSION = 1;

/**
 * A run's journal at one step: the complete {@link RunState} (request params,
 * messages, summed usage, counters, segment log, tool calls with their results
 * so far), numbered by `seq`. Written after every step — the exactly-once
 * promise rests on it, not on XState's persisted snapshots, which re-run
 * invoked promises on restore.
 */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** 1, 2, 3 … within one process; a resume goes on from the loaded value. */
  seq: number;
  savedAt: string;
  state: RunState;
}

/**
 * Where checkpoints go. `save` must not resolve before the checkpoint is
 * durable: the controller runs a tool only after the `started` entry is saved.
 */
export interface CheckpointStore {
  save(checkpoint: Checkpoint): Promise<void>;
  /** The latest checkpoint of `runId`, or null if there is none. */
  load(runId: string): Promise<Checkpoint | null>;
}

export interface FileCheckpointStoreOptions {
  /** One file for the run (the CLI's `--checkpoint FILE`). */
  readonly path?: string;
  /** A directory holding `<runId>.json` per run. Default `.turnstate/runs` under the cwd. */
  readonly dir?: string;
  /**
   * fsync the temp file before the rename (default true). Off, a checkpoint
   * still survives the process being killed (the rename is atomic and the page
   * cache outlives the process); only a power loss or kernel crash can then
   * lose the last few.
   */
  readonly fsync?: boolean;
  /**
   * Write with write-file-atomic's synchronous variant (default false). About
   * 2–3× faster per checkpoint (no thread-pool round trips), but it blocks the
   * event loop for the duration of the write, fsync included: fine for a CLI
   * or a single agent, not for a server running many runs at once.
   */
  readonly sync?: boolean;
}

/**
 * The default store: one JSON file per run, replaced atomically by
 * write-file-atomic (temp file, fsync, rename), so a crash at any instant
 * leaves either the previous checkpoint or the new one, never a torn file.
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly #path: string | null;
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #sync: boolean;
  #madeDir = false;

  constructor(options: FileCheckpointStoreOptions = {}) {
    this.#path = options.path === undefined ? null : resolve(options.path);
    this.#dir = resolve(options.dir ?? join('.turnstate', 'runs'));
    this.#fsync = options.fsync ?? true;
    this.#sync = options.sync ?? false;
  }

  /** The file a run's checkpoint goes to. */
  pathFor(runId: string): string {
    return this.#path ?? join(this.#dir, `${runId}.json`);
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const path = this.pathFor(checkpoint.state.runId);
    if (!this.#madeDir) {
      await mkdir(dirname(path), { recursive: true });
      this.#madeDir = true;
    }
    const json = JSON.stringify(checkpoint);
    if (this.#sync) writeFileAtomic.sync(path, json, { fsync: this.#fsync });
    else await writeFileAtomic(path, json, { fsync: this.#fsync });
  }

  async load(runId: string): Promise<Checkpoint | null> {
    let text: string;
    try {
      text = await readFile(this.pathFor(runId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return parseCheckpoint(text);
  }
}

/** Keeps checkpoints in memory (a deep copy each, as a file would). For tests and short-lived runs. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly saved: Checkpoint[] = [];
  readonly #latest = new Map<string, string>();

  async save(checkpoint: Checkpoint): Promise<void> {
    const json = JSON.stringify(checkpoint);
    this.#latest.set(checkpoint.state.runId, json);
    this.saved.push(JSON.parse(json) as Checkpoint);
  }

  async load(runId: string): Promise<Checkpoint | null> {
    const json = this.#latest.get(runId);
    return json === undefined ? null : parseCheckpoint(json);
  }
}

/** A store that keeps nothing (`checkpoint: false`). */
export const nullCheckpointStore: CheckpointStore = {
  save: async () => {},
  load: async () => null,
};

/** Reads and validates a checkpoint file. */
export async function readCheckpointFile(path: string): Promise<Checkpoint> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ControllerError('checkpoint_invalid', `cannot read checkpoint ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseCheckpoint(text);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates a checkpoint (JSON text or parsed value) and returns it typed.
 * Checks the envelope and every field the controller reads; message contents
 * are the API's business and pass through.
 */
export function parseCheckpoint(input: unknown): Checkpoint {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new ControllerError('checkpoint_invalid', `checkpoint is not JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  const fail = (what: string): never => {
    throw new ControllerError('checkpoint_invalid', `invalid checkpoint: ${what}`);
  };
  if (!isObject(value)) return fail('not an object');
  if (value['format'] !== CHECKPOINT_FORMAT) return fail(`format is ${JSON.stringify(value['format'])}, expected "${CHECKPOINT_FORMAT}"`);
  if (value['version'] !== CHECKPOINT_VERSION) return fail(`version ${JSON.stringify(value['version'])} is not supported (this reader knows ${CHECKPOINT_VERSION})`);
  if (typeof value['seq'] !== 'number') return fail('seq is not a number');
  const state = value['state'];
  if (!isObject(state)) return fail('state is missing');
  const need = (key: string, type: 'string' | 'number' | 'object' | 'array'): void => {
    const field = state[key];
    const ok = type === 'array' ? Array.isArray(field) : type === 'object' ? isObject(field) : typeof field === type;
    if (!ok) fail(`state.${key} is not ${type === 'array' || type === 'object' ? `an ${type}` : `a ${type}`}`);
  };
  need('runId', 'string');
  need('startedAt', 'number');
  need('params', 'object');
  need('maxTokens', 'number');
  need('messages', 'array');
  need('phase', 'string');
  need('nextRequest', 'string');
  need('continuations', 'number');
  need('toolCallCount', 'number');
  need('usage', 'object');
  need('segments', 'array');
  need('retries', 'array');
  need('toolCalls', 'array');
  need('batch', 'array');
  need('dropped', 'array');
  need('settings', 'object');
  if (!['requesting', 'running_tools', 'done'].includes(state['phase'] as string)) fail(`state.phase ${JSON.stringify(state['phase'])} is unknown`);
  for (const message of state['messages'] as unknown[]) {
    if (!isObject(message) || !['user', 'assistant', 'system'].includes(message['role'] as string) || !(typeof message['content'] === 'string' || Array.isArray(message['content']))) {
      fail('state.messages holds something that is not a message');
    }
  }
  const ids = new Set<string>();
  for (const call of state['toolCalls'] as unknown[]) {
    if (!isObject(call) || typeof call['id'] !== 'string' || typeof call['name'] !== 'string') fail('state.toolCalls holds an entry without id/name');
    const c = call as Record<string, unknown>;
    if (!['pending', 'started', 'done'].includes(c['status'] as string)) fail(`tool call ${String(c['id'])} has status ${JSON.stringify(c['status'])}`);
    if (c['status'] === 'done' && !isObject(c['result'])) fail(`tool call ${String(c['id'])} is done without a result`);
    ids.add(c['id'] as string);
  }
  for (const id of state['batch'] as unknown[]) {
    if (typeof id !== 'string' || !ids.has(id)) fail(`state.batch names ${JSON.stringify(id)}, which is not a journaled tool call`);
  }
  const usage = state['usage'] as Record<string, unknown>;
  for (const key of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens']) {
    if (typeof usage[key] !== 'number') fail(`state.usage.${key} is not a number`);
  }
  const settings = state['settings'] as Record<string, unknown>;
  if (!isObject(settings['budgets']) || !isObject(settings['retry'])) fail('state.settings is incomplete');
  return value as unknown as Checkpoint;
}

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
  readonly #store: CheckpointStore;
  readonly #build: (seq: number) => Checkpoint;
  readonly #onWrite: ((checkpoint: Checkpoint) => void) | null;
  #seq: number;
  #busy = false;
  #queued: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** The first failed write: every later write fails with it (a journal with a hole is no journal). */
  #failure: { error: unknown } | null = null;

  constructor(store: CheckpointStore, build: (seq: number) => Checkpoint, startSeq = 0, onWrite: ((checkpoint: Checkpoint) => void) | null = null) {
    this.#store = store;
    this.#build = build;
    this.#seq = startSeq;
    this.#onWrite = onWrite;
  }

  /** The number of the last checkpoint started. */
  get seq(): number {
    return this.#seq;
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
        await this.#store.save(checkpoint);
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
