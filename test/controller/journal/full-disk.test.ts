/**
 * A3: a full disk. A write that cannot complete is `checkpoint_failed`; the
 * durable journal is never replaced by a shorter one; no tool runs whose
 * `started` is not durable; nothing is left half-written. Failing at EVERY
 * write of a run: on a real tiny tmpfs (root), and with an injected file
 * system that short-writes (always, and the only one when not root).
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore, readCheckpointFile, resume, startRun, type Checkpoint, type RunResult } from '../../../src/controller/index.js';
import { asyncFs, type JournalFs } from '../../../src/controller/journal/fs.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { text, toolUse } from '../helpers.js';

const PAGE = 4096;
// Every record is larger than a page (5 KB texts and tool results), so on tmpfs every write needs a new page.
const BIG = (tag: string) => `${tag} ${'x'.repeat(5000)}`;
const SCRIPT = [
  toolUse([{ id: 'toolu_d1', name: 'note', input: { n: 1 } }], BIG('one')),
  toolUse([{ id: 'toolu_d2', name: 'note', input: { n: 2 } }], BIG('two')),
  toolUse([{ id: 'toolu_d3', name: 'note', input: { n: 3 } }], BIG('three')),
  text(BIG('done')),
];

interface Outcome {
  result: RunResult;
  acknowledged: Checkpoint[];
  effects: string[];
}

async function runOn(path: string, fs?: JournalFs): Promise<Outcome> {
  const effects: string[] = [];
  const acknowledged: Checkpoint[] = [];
  const result = await startRun({
    params: { model: 'm', max_tokens: 10 },
    messages: 'note three times',
    runId: 'run_disk',
    tools: [{ name: 'note', run: (input: { n: number }) => (effects.push(`toolu_d${input.n}`), BIG(`noted ${input.n}`)) }],
    createStream: scriptedModel(SCRIPT, { latency: 'immediate' }).createStream,
    checkpoint: new FileCheckpointStore({ path, ...(fs ? { fs } : {}) }),
    onEvent: (e) => {
      if (e.type === 'checkpoint') acknowledged.push(e as never);
    },
  }).settled;
  return { result, acknowledged, effects };
}

/** What must hold after a run on a disk that filled up at some write. */
async function expectPromisesKept(dir: string, path: string, outcome: Outcome, reference: Outcome, label: string): Promise<void> {
  const { result, acknowledged, effects } = outcome;
  if (result.status === 'completed') {
    expect(result.error, label).toBeNull();
    expect(acknowledged.length, label).toBe(reference.acknowledged.length);
  } else {
    expect(result.status, label).toBe('failed');
    expect(result.error?.code, `${label}: ${result.error?.message}`).toBe('checkpoint_failed');
  }
  const leftovers = (await readdir(dir)).filter((name) => name.endsWith('.tmp') || name.endsWith('.lock'));
  expect(leftovers, label).toEqual([]);
  if (acknowledged.length === 0) {
    expect(effects, label).toEqual([]); // nothing durable, nothing ran
    return;
  }
  // the durable journal is exactly the last acknowledged checkpoint: never shorter, never torn
  const durable = await readCheckpointFile(path);
  expect(durable.seq, label).toBe(acknowledged.length);
  const same = reference.acknowledged.length >= durable.seq ? await referenceState(durable.seq) : null;
  if (same) expect({ messages: durable.state.messages, calls: durable.state.toolCalls.map((c) => [c.id, c.status, c.result]) }, label).toEqual(same);
  // every tool that ran had its `started` durable first
  const journaled = new Set(durable.state.toolCalls.filter((c) => c.status !== 'pending').map((c) => c.id));
  for (const id of effects) expect(journaled.has(id), `${label}: ${id} ran without a durable start`).toBe(true);
  expect(new Set(effects).size, label).toBe(effects.length);
  // and the run can be finished from it, each tool exactly once over both lives
  const copy = join(await mkdtemp(join(tmpdir(), 'turnstate-disk-resume-')), 'run.json');
  await copyFile(path, copy);
  const again: string[] = [];
  const inDoubt = durable.state.toolCalls.filter((c) => c.status === 'started');
  const decisions = Object.fromEntries(inDoubt.map((c) => [c.id, effects.includes(c.id) ? { content: BIG(`noted ${c.id.slice(-1)}`), is_error: false } : ('rerun' as const)]));
  const answered = durable.state.segments.length;
  const finished = await resume(copy, {
    tools: [{ name: 'note', run: (input: { n: number }) => (again.push(`toolu_d${input.n}`), BIG(`noted ${input.n}`)) }],
    createStream: scriptedModel(SCRIPT.slice(answered), { latency: 'immediate' }).createStream,
    decisions,
  });
  expect(finished.status, label).toBe('completed');
  expect([...effects, ...again].sort(), label).toEqual(['toolu_d1', 'toolu_d2', 'toolu_d3']);
  expect(finished.messages, label).toEqual(reference.result.messages);
}

let referenceStates: Checkpoint[] = [];
const referenceState = async (seq: number) => {
  const cp = referenceStates[seq - 1]!;
  return { messages: cp.state.messages, calls: cp.state.toolCalls.map((c) => [c.id, c.status, c.result]) };
};

/**
 * The same run on a roomy disk, counting the bytes of every write call (lock, snapshot, records, and at the end
 * release's takeover guard); `guardWrites` are the indices of the guard's.
 */
async function reference(): Promise<{ outcome: Outcome; writes: number[]; guardWrites: Set<number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-disk-ref-'));
  const writes: number[] = [];
  const guardWrites = new Set<number>();
  const paths = new Map<number, string>();
  let total = 0;
  const counting: JournalFs = {
    ...asyncFs,
    open: async (path, flags) => {
      const fd = await asyncFs.open(path, flags);
      paths.set(fd, path);
      return fd;
    },
    write: async (...args) => {
      const n = await asyncFs.write(...args);
      total += n;
      if (paths.get(args[0])?.includes('.lock.takeover.')) guardWrites.add(writes.length);
      writes.push(total);
      return n;
    },
  };
  const outcome = await runOn(join(dir, 'run.json'), counting);
  expect(outcome.result.status).toBe('completed');
  return { outcome, writes, guardWrites };
}

/** A file system with `budget` bytes left: the write that passes it is short, every later one ENOSPC. */
function fullAfter(budget: number): JournalFs {
  let left = budget;
  return {
    ...asyncFs,
    write: async (fd, data, offset, length, position) => {
      if (left <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = await asyncFs.write(fd, data, offset, Math.min(length, left), position);
      left -= n;
      return n;
    },
  };
}

/** Runs the scenario with a recording store to get the reference checkpoint at every seq. */
async function recordReference(): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-disk-rec-'));
  const path = join(dir, 'run.json');
  const seen: Checkpoint[] = [];
  const effects: string[] = [];
  const inner = new FileCheckpointStore({ path });
  const result = await startRun({
    params: { model: 'm', max_tokens: 10 },
    messages: 'note three times',
    runId: 'run_disk',
    tools: [{ name: 'note', run: (input: { n: number }) => (effects.push(`toolu_d${input.n}`), BIG(`noted ${input.n}`)) }],
    createStream: scriptedModel(SCRIPT, { latency: 'immediate' }).createStream,
    checkpoint: {
      acquire: async (id) => {
        const lease = await inner.acquire(id);
        return { holder: lease.holder, tookOver: lease.tookOver, release: () => lease.release(), save: async (c) => (await lease.save(c), void seen.push(JSON.parse(JSON.stringify(c)))) };
      },
      load: (id) => inner.load(id),
    },
  }).settled;
  referenceStates = seen;
  return { result, acknowledged: seen, effects };
}

describe('a full disk', () => {
  it('injected short writes, failing at every write of the run in turn', async () => {
    const ref = await recordReference();
    const { writes, guardWrites } = await reference();
    expect(writes.length).toBeGreaterThanOrEqual(ref.acknowledged.length + 1); // the lease, the snapshot, every record
    expect([...guardWrites]).toEqual([writes.length - 1]); // release's guard: the last write
    const failedAt = new Set<number>();
    for (let k = 0; k < writes.length; k++) {
      const before = k === 0 ? 0 : writes[k - 1]!;
      const budget = before + Math.floor((writes[k]! - before) / 2); // write k comes up short
      const dir = await mkdtemp(join(tmpdir(), 'turnstate-disk-'));
      const path = join(dir, 'run.json');
      const outcome = await runOn(path, fullAfter(budget));
      // the run is over when release writes its guard: a full disk then still removes the lock (checked below)
      expect(outcome.result.status, `write ${k + 1}`).toBe(guardWrites.has(k) ? 'completed' : 'failed');
      if (outcome.result.status === 'failed') failedAt.add(outcome.acknowledged.length);
      await expectPromisesKept(dir, path, outcome, ref, `short write ${k + 1} of ${writes.length}`);
    }
    // the failure landed before every checkpoint in turn (and before the lease)
    expect([...failedAt].sort((a, b) => a - b)).toEqual(Array.from({ length: ref.acknowledged.length }, (_, i) => i));
  }, 120_000);

  const root = process.getuid?.() === 0;
  const canMount = (() => {
    if (!root) return false;
    try {
      execFileSync('mount', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!canMount) console.log('full-disk tmpfs test skipped: needs root and mount (the injected short-write test above still runs)');

  it.skipIf(!canMount)('a real tmpfs of every size from 1 page up to enough: the run fails at each write in turn, promises kept', async () => {
    const ref = await recordReference();
    const failedAt = new Set<number>();
    let pages = 1;
    for (; pages < 64; pages++) {
      const mount = await mkdtemp(join(tmpdir(), 'turnstate-tmpfs-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${pages * PAGE}`, 'tmpfs', mount]);
      try {
        const path = join(mount, 'run.json');
        const outcome = await runOn(path);
        await expectPromisesKept(mount, path, outcome, ref, `tmpfs of ${pages} pages`);
        if (outcome.result.status === 'completed') break;
        failedAt.add(outcome.acknowledged.length);
      } finally {
        execFileSync('umount', [mount]);
        await rm(mount, { recursive: true, force: true });
      }
    }
    expect(pages).toBeLessThan(64);
    expect([...failedAt].sort((a, b) => a - b)).toEqual(Array.from({ length: ref.acknowledged.length }, (_, i) => i));
  }, 180_000);
});

