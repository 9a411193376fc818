/**
 * The journal reader on hand-written files (a snapshot line, then delta lines), and the file store's write
 * path where the snapshot/append choice and its failures show: what `load` returns, and the message of each
 * `checkpoint_invalid`.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore, readCheckpointFile, startRun, type Checkpoint, type RunState } from '../../../src/controller/index.js';
import { asyncFs, type JournalFs } from '../../../src/controller/journal/fs.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { text } from '../helpers.js';

const tmp = () => mkdtemp(join(tmpdir(), 'turnstate-readjournal-'));
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let base: RunState | null = null;
/** A real, valid state (a finished one-segment run) to build files from. */
async function realState(): Promise<RunState> {
  base ??= (await startRun({ params: { model: 'm', max_tokens: 5 }, messages: 'x', createStream: scriptedModel([text('hi')]).createStream, checkpoint: false }).settled).state;
  return plain(base);
}

const snapshotLine = (state: RunState, seq = 4) => JSON.stringify({ format: 'turnstate.checkpoint', version: 2, seq, savedAt: 's4', state });

async function journal(lines: string[]): Promise<string> {
  const path = join(await tmp(), 'run.json');
  await writeFile(path, lines.join('\n'));
  return path;
}

describe('reading a journal', () => {
  it('applies each complete delta line in order and takes seq and savedAt from the last', async () => {
    const state = await realState();
    const path = await journal([snapshotLine(state), '{"seq":5,"savedAt":"s5","set":{"continuations":7}}', '{"seq":6,"savedAt":"s6","splice":{"messages":[1,[{"role":"assistant","content":"replaced"}]]}}', '']);
    const loaded = await readCheckpointFile(path);
    expect(loaded).toMatchObject({ version: 2, seq: 6, savedAt: 's6' });
    expect(loaded.state.continuations).toBe(7);
    expect(loaded.state.messages).toEqual([state.messages[0], { role: 'assistant', content: 'replaced' }]);
  });

  it('a snapshot without a newline is read; a torn last line is left out (never acknowledged)', async () => {
    const state = await realState();
    expect(await readCheckpointFile(await journal([snapshotLine(state)]))).toMatchObject({ seq: 4, savedAt: 's4' });
    const torn = await readCheckpointFile(await journal([snapshotLine(state), '{"seq":5,"savedAt":"s5","set":{"continuations":7}}', '{"seq":6,"savedAt":"s6","set":{"contin']));
    expect(torn).toMatchObject({ seq: 5, savedAt: 's5' });
    expect(torn.state.continuations).toBe(7);
  });

  it('a missing file: load gives null, readCheckpointFile a checkpoint_invalid naming it', async () => {
    const dir = await tmp();
    expect(await new FileCheckpointStore({ dir }).load('run_none')).toBeNull();
    const path = join(dir, 'none.json');
    await expect(readCheckpointFile(path)).rejects.toMatchObject({ code: 'checkpoint_invalid', message: expect.stringMatching(/^cannot read checkpoint .*none\.json: ENOENT/) });
  });

  for (const [name, lines, message] of [
    ['a first line that is not JSON', ['{"format":', '{"seq":5}'], 'checkpoint run.json is not JSON (line 1): '],
    ['a one-line file that is not JSON', ['not json'], 'checkpoint run.json is not JSON: '],
    ['a delta line that is not JSON', ['SNAPSHOT', 'nope', ''], 'checkpoint run.json line 2 is not JSON: '],
    ['a record out of sequence', ['SNAPSHOT', '{"seq":6,"savedAt":"x"}', ''], 'checkpoint run.json line 2: expected record seq 5, got 6'],
    ['a record that is not an object', ['SNAPSHOT', '{"seq":5}', '7', ''], 'checkpoint run.json line 3: expected record seq 6, got undefined'],
    ['a record that is null', ['SNAPSHOT', 'null', ''], 'checkpoint run.json line 2: expected record seq 5, got undefined'],
    ['a set that is an array', ['SNAPSHOT', '{"seq":5,"set":[1]}', ''], 'checkpoint run.json line 2: set/splice are not objects'],
    ['a splice that is null', ['SNAPSHOT', '{"seq":5,"splice":null}', ''], 'checkpoint run.json line 2: set/splice are not objects'],
    ['a splice that is a string', ['SNAPSHOT', '{"seq":5,"splice":"x"}', ''], 'checkpoint run.json line 2: set/splice are not objects'],
    ['a splice past the end', ['SNAPSHOT', '{"seq":5,"splice":{"messages":[9,[]]}}', ''], 'checkpoint run.json line 2: splice of messages at 9 does not fit (length 2)'],
  ] as const) {
    it(`${name}: checkpoint_invalid "${message}…"`, async () => {
      const state = await realState();
      const path = await journal(lines.map((l) => (l === 'SNAPSHOT' ? snapshotLine(state) : l)));
      const error = await readCheckpointFile(path).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'checkpoint_invalid' });
      expect((error as Error).message.startsWith(message)).toBe(true);
    });
  }

  it('a version-2 head without a state object is judged by the schema (a clear field error)', async () => {
    const path = await journal([JSON.stringify({ format: 'turnstate.checkpoint', version: 2, seq: 1, savedAt: 'x', state: 5 })]);
    await expect(readCheckpointFile(path)).rejects.toMatchObject({ code: 'checkpoint_invalid', message: expect.stringMatching(/^invalid checkpoint run\.json: state: /) });
  });

  it('deltas that break the state are caught by the schema after they are applied', async () => {
    const state = await realState();
    const path = await journal([snapshotLine(state), '{"seq":5,"savedAt":"s5","set":{"continuations":-1}}', '']);
    await expect(readCheckpointFile(path)).rejects.toMatchObject({ code: 'checkpoint_invalid', message: expect.stringMatching(/^invalid checkpoint run\.json: state\.continuations: /) });
  });
});

/** node's file system, with renames that fail once `failRenames` is set (a compaction that cannot finish). */
function renameFails(): { io: JournalFs; failRenames: boolean } {
  const box = { failRenames: false, io: null as unknown as JournalFs };
  box.io = {
    ...asyncFs,
    rename: async (from, to) => {
      if (box.failRenames) throw Object.assign(new Error('EIO: rename failed'), { code: 'EIO' });
      return asyncFs.rename(from, to);
    },
  };
  return box;
}

describe('the file store writing', () => {
  const checkpoint = (state: RunState, seq: number): Checkpoint => ({ format: 'turnstate.checkpoint', version: 2, seq, savedAt: `s${seq}`, state });

  it('the first save is a snapshot; later ones append a line each until the deltas outgrow the snapshot', async () => {
    const dir = await tmp();
    const store = new FileCheckpointStore({ dir, compactAfterBytes: 0, fsync: false });
    const state = await realState();
    const lease = await store.acquire(state.runId);
    await lease.save(checkpoint(state, 1));
    const lines = async () => (await readFile(store.pathFor(state.runId), 'utf8')).split('\n').filter(Boolean);
    expect(await lines()).toHaveLength(1);
    const snapshotSize = (await readFile(store.pathFor(state.runId))).length;
    // each step appends a delta far smaller than the snapshot: no compaction while they add up to less than it
    let current = state;
    let seq = 1;
    let appended = 0;
    while (appended < snapshotSize) {
      current = { ...current, continuations: current.continuations + 1 };
      await lease.save(checkpoint(current, ++seq));
      appended += `${JSON.stringify({ seq, savedAt: `s${seq}`, set: { continuations: current.continuations } })}\n`.length;
      expect(await lines()).toHaveLength(seq);
    }
    // the deltas now exceed the snapshot: the next save compacts into one snapshot line
    current = { ...current, continuations: current.continuations + 1 };
    await lease.save(checkpoint(current, ++seq));
    expect(await lines()).toHaveLength(1);
    expect(await store.load(state.runId)).toMatchObject({ seq, state: { continuations: current.continuations } });
    await lease.release();
  });

  it('a compaction that fails is skipped: the step is appended to the journal as it was', async () => {
    const dir = await tmp();
    const box = renameFails();
    const store = new FileCheckpointStore({ dir, compactAfterBytes: 0, fsync: false, fs: box.io });
    const state = await realState();
    const lease = await store.acquire(state.runId);
    await lease.save(checkpoint(state, 1));
    const big = { ...state, params: { ...state.params, system: 'x'.repeat(5_000) } };
    await lease.save(checkpoint(big, 2)); // a delta larger than the snapshot
    box.failRenames = true;
    await lease.save(checkpoint({ ...big, continuations: 9 }, 3));
    const lines = (await readFile(store.pathFor(state.runId), 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!)).toEqual({ seq: 3, savedAt: 's3', set: { continuations: 9 } });
    expect(await store.load(state.runId)).toMatchObject({ seq: 3, state: { continuations: 9 } });
    await lease.release();
  });

  it('the first snapshot failing is checkpoint_failed, the file untouched', async () => {
    const dir = await tmp();
    const box = renameFails();
    box.failRenames = true;
    const store = new FileCheckpointStore({ dir, fs: box.io });
    const state = await realState();
    const lease = await store.acquire(state.runId);
    const error = await lease.save(checkpoint(state, 1)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'checkpoint_failed' });
    expect((error as Error).message).toBe(`writing the checkpoint snapshot ${store.pathFor(state.runId)} failed (the previous one is untouched): EIO: rename failed`);
    expect(await store.load(state.runId)).toBeNull();
    await lease.release();
  });

  it('one file per run under dir, or the one path given', async () => {
    const dir = await tmp();
    expect(new FileCheckpointStore({ dir }).pathFor('run_a')).toBe(join(dir, 'run_a.json'));
    expect(new FileCheckpointStore({ dir, path: join(dir, 'fixed.json') }).pathFor('run_a')).toBe(join(dir, 'fixed.json'));
  });
});
