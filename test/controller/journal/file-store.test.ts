/**
 * A4: the file store is an append-only journal — one record per step, a
 * snapshot now and then — and `load` rebuilds exactly the state that was
 * saved. Version-1 files are still read; torn tails and a killed writer's temp
 * files are handled on the next open.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore, readCheckpointFile, resume, startRun, type Checkpoint, type CheckpointStore, type RunState } from '../../../src/controller/index.js';
import { applyDelta, diffState, type StateDelta } from '../../../src/controller/journal/delta.js';
import { asyncFs } from '../../../src/controller/journal/fs.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { appendTool, crashModel, RUN_OPTIONS } from '../fixtures/crash-scenario.js';
import { text, toolUse } from '../helpers.js';

const tmp = () => mkdtemp(join(tmpdir(), 'turnstate-journal-'));
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Wraps a store: after every acknowledged save, loads it back and keeps both. */
function tapped(inner: FileCheckpointStore): { store: CheckpointStore; pairs: { saved: Checkpoint; loaded: Checkpoint | null; bytes: number }[] } {
  const pairs: { saved: Checkpoint; loaded: Checkpoint | null; bytes: number }[] = [];
  return {
    pairs,
    store: {
      acquire: async (runId) => {
        const lease = await inner.acquire(runId);
        return {
          holder: lease.holder,
          tookOver: lease.tookOver,
          release: () => lease.release(),
          save: async (checkpoint) => {
            await lease.save(checkpoint);
            const saved = plain(checkpoint);
            pairs.push({ saved, loaded: await inner.load(runId), bytes: (await readFile(inner.pathFor(runId))).length });
          },
        };
      },
      load: (runId) => inner.load(runId),
    },
  };
}

describe('the journal', () => {
  for (const compactAfterBytes of [undefined, 1]) {
    it(`load rebuilds the very state of every checkpoint of a rich run (retries, pause_turn merges, max_tokens continue; compactAfterBytes ${compactAfterBytes ?? 'default'})`, async () => {
      const dir = await tmp();
      const inner = new FileCheckpointStore({ dir, ...(compactAfterBytes === undefined ? {} : { compactAfterBytes }) });
      const { store, pairs } = tapped(inner);
      const result = await startRun({ ...RUN_OPTIONS, tools: [appendTool(join(dir, 'effects.log'))], createStream: crashModel().createStream, checkpoint: store }).settled;
      expect(result.status).toBe('completed');
      expect(pairs.length).toBeGreaterThanOrEqual(10);
      for (const { saved, loaded } of pairs) expect({ seq: loaded?.seq, state: loaded?.state }).toEqual({ seq: saved.seq, state: saved.state });
      const lines = (await readFile(inner.pathFor(result.runId), 'utf8')).split('\n').filter(Boolean);
      expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'turnstate.checkpoint', version: 2 });
      if (compactAfterBytes === undefined) expect(lines).toHaveLength(pairs.length); // one snapshot, then one line per step
      else expect(lines.length).toBeLessThan(pairs.length); // snapshots replaced the file along the way
      expect(await readdir(dir)).toEqual(['effects.log', `${result.runId}.json`]);
    });
  }

  it('a step appends what it changed, not the transcript: late records stay as small as early ones', async () => {
    const turns = 60;
    const script = Array.from({ length: turns }, (_, i) => toolUse([{ id: `toolu_${i}`, name: 'note', input: { i } }], `${'words '.repeat(340)}${i}`));
    const model = scriptedModel([...script, text('done')], { latency: 'immediate' });
    const inner = new FileCheckpointStore({ dir: await tmp() });
    const { store, pairs } = tapped(inner);
    const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'go', tools: [{ name: 'note', run: () => 'ok' }], createStream: model.createStream, checkpoint: store }).settled;
    expect(result.status).toBe('completed');
    const appended = pairs.slice(1).map((p, i) => p.bytes - pairs[i]!.bytes);
    const early = Math.max(...appended.slice(3, 12));
    const late = Math.max(...appended.slice(-12, -3));
    expect(pairs.at(-1)!.bytes).toBeGreaterThan(200_000); // the transcript is large …
    expect(late).toBeLessThan(early * 1.2); // … and a late step still costs what an early one does
    expect(late).toBeLessThan(6_000);
  });

  it('the delta is exact where history is rewritten in place (a pause_turn merge) — a length-only diff is caught losing it', async () => {
    const states: RunState[] = [];
    const spy: CheckpointStore = {
      acquire: async () => ({ holder: { pid: 0, host: '', token: '', acquiredAt: 0, expiresAt: 0 }, tookOver: null, release: async () => {}, save: async (c) => void states.push(c.state) }),
      load: async () => null,
    };
    await startRun({ ...RUN_OPTIONS, tools: [appendTool(join(await tmp(), 'e.log'))], createStream: crashModel().createStream, checkpoint: spy }).settled;
    const replay = (diff: (a: RunState, b: RunState) => StateDelta) => {
      const rebuilt = plain(states[0]!) as unknown as Record<string, unknown>;
      for (let i = 1; i < states.length; i++) applyDelta(rebuilt, plain(diff(states[i - 1]!, states[i]!)));
      return rebuilt;
    };
    expect(replay(diffState)).toEqual(plain(states.at(-1)));
    const lengthOnly = (a: RunState, b: RunState): StateDelta => {
      const d = diffState(a, b);
      for (const [key, change] of Object.entries(d.splice ?? {})) {
        const before = (a as unknown as Record<string, unknown[]>)[key]!.length;
        (d.splice as Record<string, [number, unknown[]]>)[key] = [before, change[1].slice(before - change[0])];
      }
      return d;
    };
    expect(replay(lengthOnly)).not.toEqual(plain(states.at(-1)));
  });

  it('reads a version-1 file (one JSON object) and goes on as version 2', async () => {
    const dir = await tmp();
    const path = join(dir, 'old.json');
    const script = [toolUse([{ id: 'toolu_v1', name: 'note' }]), text('done')];
    const first = await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', tools: [{ name: 'note', run: () => 'noted' }], createStream: scriptedModel(script).createStream, checkpoint: false, budgets: { maxContinuations: 0 } }).settled;
    expect(first.status).toBe('budget_exceeded');
    await writeFile(path, JSON.stringify({ format: 'turnstate.checkpoint', version: 1, seq: 7, savedAt: new Date().toISOString(), state: first.state }));
    const loaded = await readCheckpointFile(path);
    expect(loaded.version).toBe(1);
    expect(loaded.state).toEqual(plain(first.state));
    const runs: string[] = [];
    const done = await resume(path, { tools: [{ name: 'note', run: () => (runs.push('x'), 'again') }], createStream: scriptedModel([script[1]!]).createStream, budgets: { maxContinuations: 1 } });
    expect(done.status).toBe('completed');
    expect(runs).toEqual([]); // the v1 journal's recorded result was reused
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2, seq: 8 });
    expect((await readCheckpointFile(path)).seq).toBeGreaterThan(8);
  });

  it('a torn last record (never acknowledged) is left out; a damaged middle line is checkpoint_invalid naming the line', async () => {
    const dir = await tmp();
    const store = new FileCheckpointStore({ dir });
    const result = await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', tools: [{ name: 'note', run: () => 'ok' }], createStream: scriptedModel([toolUse([{ id: 't1', name: 'note' }]), text('done')]).createStream, checkpoint: store }).settled;
    const path = store.pathFor(result.runId);
    const whole = await readFile(path, 'utf8');
    const before = await readCheckpointFile(path);
    await appendFile(path, '{"seq":99,"savedAt":"x","set":{"pha');
    expect(await readCheckpointFile(path)).toEqual(before);
    const lines = whole.split('\n');
    lines[2] = lines[2]!.slice(0, 10);
    await writeFile(path, lines.join('\n'));
    await expect(readCheckpointFile(path)).rejects.toMatchObject({ code: 'checkpoint_invalid', message: expect.stringMatching(/line 3 is not JSON/) });
    lines[2] = '{"seq":3,"set":{"__proto__":{"polluted":true}}}';
    await writeFile(path, lines.join('\n'));
    await expect(readCheckpointFile(path)).rejects.toMatchObject({ code: 'checkpoint_invalid', message: expect.stringMatching(/line 3: set of unknown field "__proto__"/) });
  });

  it("a killed writer's temp files are removed when its lease is next taken over", async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json');
    const first = await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', createStream: scriptedModel([text('a', 'max_tokens')]).createStream, checkpoint: { path } }).settled;
    expect(first.status).toBe('incomplete');
    // what a writer SIGKILLed mid-snapshot (pid 2^22+1: no such process) leaves behind: its lease and its temp files
    await writeFile(join(dir, 'run.json.lock'), JSON.stringify({ pid: 4194305, host: hostname(), token: 'killed', acquiredAt: 0, expiresAt: Date.now() + 60_000 }));
    await writeFile(join(dir, 'run.json.4194305-deadbeef.tmp'), '{"format":"turnstate.checkpoint","ver');
    await writeFile(join(dir, 'run.json.lock.4194305-deadbeef.tmp'), '{"pid":4194305');
    await writeFile(join(dir, 'other.json.4194305-deadbeef.tmp'), 'not ours');
    const store = new FileCheckpointStore({ path });
    const lease = await store.acquire(first.runId);
    expect(lease.tookOver?.reason).toBe('holder_dead');
    expect((await readdir(dir)).sort()).toEqual(['other.json.4194305-deadbeef.tmp', 'run.json', 'run.json.lock']);
    await lease.release();
    expect(existsSync(join(dir, 'run.json.lock'))).toBe(false);
  });

  it('a lease taken fresh (the last holder released) does not list the directory: acquiring costs the same however many runs it holds', async () => {
    const dir = await tmp();
    const listed: string[] = [];
    const io = { ...asyncFs, readdir: async (path: string) => (listed.push(path), asyncFs.readdir(path)) };
    for (let i = 0; i < 50; i++) await writeFile(join(dir, `run_${i}.json`), '{}');
    const store = new FileCheckpointStore({ dir, fs: io });
    for (let turn = 0; turn < 3; turn++) {
      const lease = await store.acquire('run_7');
      expect(lease.tookOver).toBeNull();
      await lease.release();
    }
    expect(listed).toEqual([]);
    // a taken-over lease (its holder died) is when leftovers can exist: then, and only then, they are looked for
    await writeFile(join(dir, 'run_7.json.lock'), JSON.stringify({ pid: 4194305, host: hostname(), token: 'killed', acquiredAt: 0, expiresAt: Date.now() + 60_000 }));
    const lease = await store.acquire('run_7');
    expect(lease.tookOver?.reason).toBe('holder_dead');
    expect(listed).toEqual([dir]);
    await lease.release();
  });
});
