/**
 * The file store's options and the file calls it makes: the lease lifetime, when it syncs (records, snapshots,
 * the directory), that every descriptor it opens is closed, and the typed error for each call that fails.
 * The journal's content is in file-store.test.ts and read-journal.test.ts, a full disk in full-disk.test.ts.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore, startRun, type Checkpoint, type RunState } from '../../../src/controller/index.js';
import { asyncFs, type JournalFs } from '../../../src/controller/journal/fs.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { text } from '../helpers.js';

const tmp = () => mkdtemp(join(tmpdir(), 'turnstate-storecalls-'));
const failure = (code: string) => Object.assign(new Error(`injected ${code}`), { code });
const rejection = (p: Promise<unknown>) => p.then(() => null, (error: unknown) => error);
const checkpoint = (state: RunState, seq: number): Checkpoint => ({ format: 'turnstate.checkpoint', version: 2, seq, savedAt: `s${seq}`, state });

let base: RunState | null = null;
async function realState(): Promise<RunState> {
  base ??= (await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', createStream: scriptedModel([text('hi')]).createStream, checkpoint: false }).settled).state;
  return JSON.parse(JSON.stringify(base)) as RunState;
}

/** node's file system, logging each call as `name path-or-fd`, and failing the calls `fail` picks. */
function logged(fail: (call: string, arg: string | number) => string | null = () => null) {
  const calls: string[] = [];
  const open = new Set<number>();
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      calls.push(`${name} ${String(args[0])}`);
      const code = fail(name, args[0] as string | number);
      if (code !== null) throw failure(code);
      return fn(...args);
    };
  const io: JournalFs = {
    ...asyncFs,
    open: async (path, flags) => {
      const fd = await wrap('open', asyncFs.open)(path, flags);
      open.add(fd);
      return fd;
    },
    close: async (fd) => (open.delete(fd), wrap('close', asyncFs.close)(fd)),
    fsync: wrap('fsync', asyncFs.fsync),
    fdatasync: wrap('fdatasync', asyncFs.fdatasync),
    write: wrap('write', asyncFs.write),
    ftruncate: wrap('ftruncate', asyncFs.ftruncate),
    rename: wrap('rename', asyncFs.rename),
    mkdir: wrap('mkdir', asyncFs.mkdir),
  };
  return { io, calls, open };
}

describe('the file store’s options', () => {
  it('the lease lasts 30 s unless leaseTtlMs says otherwise', async () => {
    const dir = await tmp();
    const lease = await new FileCheckpointStore({ dir }).acquire('run_a');
    expect(lease.holder.expiresAt - lease.holder.acquiredAt).toBe(30_000);
    expect(lease.holder).toMatchObject({ pid: process.pid, host: hostname() });
    await lease.release();
    const short = await new FileCheckpointStore({ dir, leaseTtlMs: 4_000 }).acquire('run_a');
    expect(short.holder.expiresAt - short.holder.acquiredAt).toBe(4_000);
    await short.release();
  });

  it('by default each record is fdatasynced, each snapshot fsynced and its directory fsynced after the rename; fsync: false makes none', async () => {
    const state = await realState();
    for (const fsync of [undefined, false]) {
      const dir = await tmp();
      const { io, calls } = logged();
      const store = new FileCheckpointStore({ dir, fs: io, ...(fsync === undefined ? {} : { fsync }) });
      const lease = await store.acquire(state.runId);
      await lease.save(checkpoint(state, 1));
      await lease.save(checkpoint({ ...state, continuations: 1 }, 2));
      await lease.save(checkpoint({ ...state, continuations: 2 }, 3));
      await lease.release();
      const syncs = calls.filter((c) => /^(fsync|fdatasync|open \/[^ ]*$)/.test(c) && !c.includes('.tmp') && !c.includes('.lock'));
      if (fsync === undefined) {
        // snapshot: fsync of its temp file, then the directory opened and fsynced; then one fdatasync per record
        expect(calls.filter((c) => c.startsWith('fsync') || c.startsWith('fdatasync')).map((c) => c.split(' ')[0])).toEqual(['fsync', 'fsync', 'fdatasync', 'fdatasync']);
        expect(syncs).toContain(`open ${dirname(store.pathFor(state.runId))}`);
      } else {
        expect(calls.filter((c) => c.startsWith('fsync') || c.startsWith('fdatasync'))).toEqual([]);
        expect(syncs).not.toContain(`open ${dirname(store.pathFor(state.runId))}`);
      }
      expect(await store.load(state.runId)).toMatchObject({ seq: 3, state: { continuations: 2 } });
    }
  });

  it('every descriptor opened is closed by release — the first snapshot’s, and each compaction’s predecessor', async () => {
    const state = await realState();
    const { io, open, calls } = logged();
    const store = new FileCheckpointStore({ dir: await tmp(), fs: io, compactAfterBytes: 0, fsync: false });
    const lease = await store.acquire(state.runId);
    await lease.save(checkpoint(state, 1));
    const big = { ...state, params: { ...state.params, system: 'x'.repeat(5_000) } };
    await lease.save(checkpoint(big, 2)); // a delta larger than the snapshot: the next save compacts
    await lease.save(checkpoint({ ...big, continuations: 3 }, 3));
    expect(calls.filter((c) => c.startsWith('rename') && !c.includes('.lock'))).toHaveLength(2); // two snapshots
    expect(open.size).toBe(1); // the journal's current descriptor only
    await lease.release();
    expect(open.size).toBe(0);
  });
});

describe('the file store’s errors', () => {
  it('the directory cannot be made: checkpoint_failed naming it, with the cause', async () => {
    const dir = join(await tmp(), 'runs');
    const { io } = logged((call) => (call === 'mkdir' ? 'EACCES' : null));
    const error = await rejection(new FileCheckpointStore({ dir, fs: io }).acquire('run_a'));
    expect(error).toMatchObject({ code: 'checkpoint_failed', message: `cannot create the checkpoint directory ${dir}: injected EACCES`, cause: { code: 'EACCES' } });
  });

  it('the lease cannot be written: checkpoint_failed naming the lock; a live holder is run_locked as it is', async () => {
    const dir = await tmp();
    const path = join(dir, 'run_a.json');
    const { io } = logged((call) => (call === 'write' ? 'EIO' : null));
    const error = await rejection(new FileCheckpointStore({ dir, fs: io }).acquire('run_a'));
    expect(error).toMatchObject({ code: 'checkpoint_failed', message: `cannot take the lease ${path}.lock: injected EIO`, cause: { code: 'EIO' } });
    const holder = { pid: process.pid, host: hostname(), token: 'other', acquiredAt: 0, expiresAt: Date.now() + 60_000 };
    await writeFile(`${path}.lock`, JSON.stringify(holder));
    expect(await rejection(new FileCheckpointStore({ dir }).acquire('run_a'))).toMatchObject({ code: 'run_locked', holder });
  });

  it('a save after the lease was taken over is run_locked naming the new owner, and writes nothing', async () => {
    const state = await realState();
    const reads: string[] = [];
    const io: JournalFs = { ...asyncFs, readFile: async (path) => (reads.push(path), asyncFs.readFile(path)) };
    const store = new FileCheckpointStore({ dir: await tmp(), fs: io, leaseTtlMs: 30 });
    const lease = await store.acquire(state.runId);
    await lease.save(checkpoint(state, 1));
    const journal = store.pathFor(state.runId);
    const before = await readFile(journal, 'utf8');
    const thief = { pid: 1, host: 'elsewhere.example', token: 'stolen', acquiredAt: 0, expiresAt: Date.now() + 600_000 };
    await writeFile(`${journal}.lock.thief`, JSON.stringify(thief));
    await asyncFs.rename(`${journal}.lock.thief`, `${journal}.lock`); // renamed into place, as a real taker does
    // a renewal (every 10 ms) reads the lock, finds the thief's token and looks for the thief's renewal file
    for (let i = 0; i < 1_000 && !reads.includes(`${journal}.lock.renewed-stolen`); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    const error = await rejection(lease.save(checkpoint({ ...state, continuations: 1 }, 2)));
    expect(error).toMatchObject({ code: 'run_locked', holder: thief });
    expect((error as Error).message).toBe(`run ${state.runId} was taken over by pid 1 on elsewhere.example (lease expires ${new Date(thief.expiresAt).toISOString()}): this process stops writing`);
    expect(await readFile(journal, 'utf8')).toBe(before);
    await lease.release();
    expect(JSON.parse(await readFile(`${journal}.lock`, 'utf8'))).toEqual(thief);
  });

  it('an append that fails is cut back off and is checkpoint_failed saying what the journal keeps; the same save retried lands', async () => {
    const state = await realState();
    let failWrites = false;
    const { io, calls } = logged((call) => (call === 'write' && failWrites ? 'ENOSPC' : null));
    const store = new FileCheckpointStore({ dir: await tmp(), fs: io, fsync: false });
    const lease = await store.acquire(state.runId);
    await lease.save(checkpoint(state, 1));
    const size = (await readFile(store.pathFor(state.runId))).length;
    failWrites = true;
    const error = await rejection(lease.save(checkpoint({ ...state, continuations: 1 }, 2)));
    expect(error).toMatchObject({ code: 'checkpoint_failed', message: `appending checkpoint 2 to ${store.pathFor(state.runId)} failed (the journal keeps checkpoint 1): injected ENOSPC` });
    expect(calls.filter((c) => c.startsWith('ftruncate'))).toHaveLength(1);
    expect((await readFile(store.pathFor(state.runId))).length).toBe(size);
    failWrites = false;
    await lease.save(checkpoint({ ...state, continuations: 1 }, 2));
    expect(await store.load(state.runId)).toMatchObject({ seq: 2, state: { continuations: 1 } });
    await lease.release();
  });
});
