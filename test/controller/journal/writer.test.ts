/**
 * CheckpointWriter: numbering, the onWrite hook, and what a failed write does to every later one (a journal with
 * a hole is no journal). Coalescing is in test/controller/journal.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../../src/controller/index.js';
import { CheckpointWriter } from '../../../src/controller/journal/writer.js';

const build = (seq: number): Checkpoint => ({ format: 'turnstate.checkpoint', version: 2, seq, savedAt: `t${seq}`, state: {} as never });

function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('CheckpointWriter', () => {
  it('numbers checkpoints on from startSeq and reports each after it is saved', async () => {
    const saved: number[] = [];
    const written: number[] = [];
    const writer = new CheckpointWriter({ save: async (cp) => void saved.push(cp.seq) }, build, 41, (cp) => written.push(cp.seq));
    expect(writer.seq).toBe(41);
    await writer.write();
    await writer.write();
    expect(saved).toEqual([42, 43]);
    expect(written).toEqual([42, 43]);
    expect(writer.seq).toBe(43);
    expect(writer.failed).toBe(false);
  });

  it('a write does not start in the caller’s turn: the caller can finish its change first', async () => {
    let saves = 0;
    const writer = new CheckpointWriter({ save: async () => void saves++ }, build);
    const pending = writer.write();
    expect(saves).toBe(0);
    expect(writer.seq).toBe(0);
    await pending;
    expect(saves).toBe(1);
  });

  it('after a failed save every write fails with that same error, nothing more is saved, onWrite is not called', async () => {
    const boom = new Error('ENOSPC');
    const saved: number[] = [];
    const written: number[] = [];
    let fail = false;
    const writer = new CheckpointWriter(
      {
        save: async (cp) => {
          if (fail) throw boom;
          saved.push(cp.seq);
        },
      },
      build,
      0,
      (cp) => written.push(cp.seq),
    );
    await writer.write();
    fail = true;
    await expect(writer.write()).rejects.toBe(boom);
    expect(writer.failed).toBe(true);
    fail = false; // the store would work again: the writer still refuses
    await expect(writer.write()).rejects.toBe(boom);
    await expect(writer.write()).rejects.toBe(boom);
    expect(saved).toEqual([1]);
    expect(written).toEqual([1]);
    expect(writer.seq).toBe(2);
  });

  it('a write queued behind the one that fails is rejected with its error, not attempted', async () => {
    const boom = new Error('EIO');
    const gate = deferred();
    let saves = 0;
    const writer = new CheckpointWriter(
      {
        save: async () => {
          saves++;
          await gate.promise;
        },
      },
      build,
    );
    const first = writer.write();
    await new Promise((r) => setImmediate(r)); // the first save is in flight
    const second = writer.write();
    expect(second).not.toBe(first);
    gate.reject(boom);
    await expect(first).rejects.toBe(boom);
    await expect(second).rejects.toBe(boom);
    expect(saves).toBe(1);
  });

  it('an onWrite that throws fails that write (the controller’s hook must not)', async () => {
    const boom = new Error('hook');
    const writer = new CheckpointWriter({ save: async () => {} }, build, 0, () => {
      throw boom;
    });
    await expect(writer.write()).rejects.toBe(boom);
    expect(writer.failed).toBe(true);
  });

  it('never has two saves in flight: a write asked for during one waits for it', async () => {
    let inFlight = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const writer = new CheckpointWriter(
      {
        save: async () => {
          most = Math.max(most, ++inFlight);
          await new Promise<void>((resolve) => gates.push(resolve));
          inFlight--;
        },
      },
      build,
    );
    const first = writer.write();
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    const second = writer.write(); // while the first save is in flight
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(gates).toHaveLength(1); // the second has not started
    gates.shift()!();
    await first;
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
    await second;
    expect(most).toBe(1);
    expect(writer.seq).toBe(2);
  });
});
