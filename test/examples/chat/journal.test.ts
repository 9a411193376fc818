import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { firstSaveBehind } from '../../../examples/chat/journal.js';
import { FileCheckpointStore, startRun, type Checkpoint, type RunState } from '../../../src/controller/index.js';
import { asyncFs, type JournalFs } from '../../../src/controller/journal/fs.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { text } from '../../controller/helpers.js';

/** A real, valid state (a finished one-segment run). */
const realState = async (): Promise<RunState> =>
  JSON.parse(JSON.stringify((await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', createStream: scriptedModel([text('hi')]).createStream, checkpoint: false }).settled).state)) as RunState;
const checkpoint = (state: RunState, seq: number): Checkpoint => ({ format: 'turnstate.checkpoint', version: 2, seq, savedAt: `s${seq}`, state });

/** The real file system, except that once `hold` is set each fsync waits for `open()` — or fails, with `fail` set. */
function gatedFs() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const box = { hold: false, fail: null as NodeJS.ErrnoException | null, fsyncs: 0, open: () => open(), io: null as unknown as JournalFs };
  box.io = {
    ...asyncFs,
    fsync: async (fd) => {
      if (!box.hold) return asyncFs.fsync(fd);
      box.fsyncs += 1;
      if (box.fail) throw box.fail;
      await gate;
      return asyncFs.fsync(fd);
    },
  };
  return box;
}

const settledWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> => Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('the chat journal: the first snapshot behind the first request', () => {
  it('the first save returns before its snapshot is durable; the next waits for both, and the journal holds them in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-chat-journal-'));
    const fs = gatedFs();
    const inner = new FileCheckpointStore({ dir, fs: fs.io });
    const store = firstSaveBehind(inner);
    const state = await realState();
    const lease = await store.acquire(state.runId);
    fs.hold = true;
    await lease.save(checkpoint(state, 1));
    // Returned at once; the snapshot reaches its fsync (held) and is not in place.
    await vi.waitFor(() => expect(fs.fsyncs).toBe(1), { timeout: 10_000 });
    expect(existsSync(inner.pathFor(state.runId))).toBe(false);
    const second = lease.save(checkpoint({ ...state, messages: [...state.messages, { role: 'user', content: 'next' }] }, 2));
    expect(await settledWithin(second, 300)).toBe(false);
    fs.open();
    await second;
    const loaded = await store.load(state.runId);
    expect(loaded?.seq).toBe(2);
    expect(loaded?.state.messages.at(-1)).toEqual({ role: 'user', content: 'next' });
    await lease.release();
    expect(existsSync(`${inner.pathFor(state.runId)}.lock`)).toBe(false);
  });

  it('a first snapshot that fails is the next save\'s failure (checkpoint_failed, nothing written), and release still frees the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-chat-journal-'));
    const fs = gatedFs();
    const inner = new FileCheckpointStore({ dir, fs: fs.io });
    const store = firstSaveBehind(inner);
    const state = await realState();
    const lease = await store.acquire(state.runId);
    fs.hold = true;
    fs.fail = Object.assign(new Error('ENOSPC: no space left on device, fsync'), { code: 'ENOSPC' });
    await expect(lease.save(checkpoint(state, 1))).resolves.toBeUndefined();
    await expect(lease.save(checkpoint(state, 2))).rejects.toMatchObject({ code: 'checkpoint_failed', message: expect.stringContaining('ENOSPC') });
    expect(await store.load(state.runId)).toBeNull();
    await lease.release();
    expect(existsSync(`${inner.pathFor(state.runId)}.lock`)).toBe(false);
    // Freed: the run can be taken again at once (a live holder would make this run_locked).
    await (await store.acquire(state.runId)).release();
  });

  it('release waits for a first snapshot still in flight, so the run ends with its journal written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-chat-journal-'));
    const fs = gatedFs();
    const inner = new FileCheckpointStore({ dir, fs: fs.io });
    const store = firstSaveBehind(inner);
    const state = await realState();
    const lease = await store.acquire(state.runId);
    fs.hold = true;
    await lease.save(checkpoint(state, 1));
    const released = lease.release();
    expect(await settledWithin(released, 300)).toBe(false);
    fs.open();
    await released;
    expect((await store.load(state.runId))?.seq).toBe(1);
  });
});
