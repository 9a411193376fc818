/**
 * Controller overhead per turn: wall time of whole runs minus the time spent
 * producing and parsing the model's streams (the model's and the stream
 * layer's share) and inside tools — i.e. the continuation machine, the
 * bookkeeping, the events and the checkpoint writes. Not a timed test: call
 * `benchController()` (or `node --import tsx bench/controller.bench.ts`) and
 * read the numbers.
 *
 * The measured turn is a typical agent turn: tool_use with two parallel tool
 * calls, then end_turn — 2 segments, 2 tool calls, 4 durable checkpoint
 * writes (before each request, the batch's `started` entries, the end).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FileCheckpointStore, startRun, type CheckpointStore, type RunnableTool } from '../src/controller/index.js';
import type { ParseTurn } from '../src/controller/model.js';
import { parseTurn } from '../src/turn/parse.js';
import { messageEvents, type MessageSpec } from '../src/testing/sse.js';

export interface ControllerBenchResult {
  /** Overhead per turn with the default store: a file per run, write-file-atomic (async), fsync on. ms. */
  perTurnMs: number;
  /** The same per segment (one model response and what follows from it). */
  perSegmentMs: number;
  /** Default store, fsync off. */
  perTurnNoFsyncMs: number;
  /** File store with `sync: true` (write-file-atomic's synchronous variant), fsync on. */
  perTurnSyncMs: number;
  /** File store with `sync: true`, fsync off. */
  perTurnSyncNoFsyncMs: number;
  /** A store that serialises each checkpoint to JSON and writes nothing: the controller's own cost. */
  perTurnMemoryMs: number;
  /** Of perTurnMs: time inside CheckpointStore.save. */
  checkpointMsPerTurn: number;
  checkpointsPerTurn: number;
  segmentsPerTurn: number;
  turns: number;
}

const TURN: MessageSpec[] = [
  {
    content: [
      { type: 'text', text: "I'll look both up." },
      { type: 'tool_use', id: 'toolu_A', name: 'lookup', input: { key: 'alpha' } },
      { type: 'tool_use', id: 'toolu_B', name: 'lookup', input: { key: 'beta' } },
    ],
    stopReason: 'tool_use',
  },
  { content: [{ type: 'text', text: 'Alpha is 1 and beta is 2.' }], stopReason: 'end_turn' },
];

interface Measured {
  overheadMs: number;
  saveMs: number;
  saves: number;
  segments: number;
}

async function measure(turns: number, makeStore: (i: number) => CheckpointStore): Promise<Measured> {
  // Pre-built events: producing them is not part of any measured time.
  const streams = TURN.map((spec) => messageEvents(spec));
  let excluded = 0;
  let saveMs = 0;
  let saves = 0;
  let segments = 0;
  const parse: ParseTurn = async (source, options) => {
    const t = performance.now();
    const result = await parseTurn(source, options);
    excluded += performance.now() - t;
    return result;
  };
  const tool: RunnableTool = {
    name: 'lookup',
    run: (input: { key: string }) => {
      const t = performance.now();
      const out = `${input.key} = ${input.key.length}`;
      excluded += performance.now() - t;
      return out;
    },
  };
  const timedStore = (inner: CheckpointStore): CheckpointStore => ({
    save: async (checkpoint) => {
      const t = performance.now();
      await inner.save(checkpoint);
      saveMs += performance.now() - t;
      saves++;
    },
    load: (id) => inner.load(id),
  });
  const start = performance.now();
  for (let i = 0; i < turns; i++) {
    let n = 0;
    const t = performance.now();
    const fresh = streams.map((events) => structuredClone(events)); // the parser may keep (and grow) the objects it is given
    excluded += performance.now() - t;
    const result = await startRun({
      params: { model: 'claude-bench', max_tokens: 1024 },
      messages: 'Look up alpha and beta.',
      tools: [tool],
      createStream: () => fresh[n++]!,
      parse,
      checkpoint: timedStore(makeStore(i)),
      runId: `run_bench_${i % 8}`,
    }).settled;
    if (result.status !== 'completed') throw new Error(`bench turn ended ${result.status}: ${result.error?.message}`);
    segments += result.segments.length;
  }
  const total = performance.now() - start;
  return { overheadMs: (total - excluded) / turns, saveMs: saveMs / turns, saves: saves / turns, segments: segments / turns };
}

export async function benchController(options: { turns?: number } = {}): Promise<ControllerBenchResult> {
  const turns = options.turns ?? 500;
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-bench-'));
  try {
    let last = '';
    const jsonOnly: CheckpointStore = { save: async (checkpoint) => void (last = JSON.stringify(checkpoint)), load: async () => (last ? JSON.parse(last) : null) };
    await measure(Math.min(1000, turns * 2), () => jsonOnly); // warm-up (JIT)
    const memory = await measure(turns, () => jsonOnly);
    const file = (name: string, options: { fsync?: boolean; sync?: boolean }) => {
      const store = new FileCheckpointStore({ dir: join(dir, name), ...options });
      return async () => {
        await measure(Math.min(20, turns), () => store);
        return measure(turns, () => store);
      };
    };
    const asyncFsync = await file('async-fsync', {})();
    const asyncNoFsync = await file('async-nofsync', { fsync: false })();
    const syncFsync = await file('sync-fsync', { sync: true })();
    const syncNoFsync = await file('sync-nofsync', { sync: true, fsync: false })();
    return {
      perTurnMs: round(asyncFsync.overheadMs),
      perSegmentMs: round(asyncFsync.overheadMs / asyncFsync.segments),
      perTurnNoFsyncMs: round(asyncNoFsync.overheadMs),
      perTurnSyncMs: round(syncFsync.overheadMs),
      perTurnSyncNoFsyncMs: round(syncNoFsync.overheadMs),
      perTurnMemoryMs: round(memory.overheadMs),
      checkpointMsPerTurn: round(asyncFsync.saveMs),
      checkpointsPerTurn: asyncFsync.saves,
      segmentsPerTurn: asyncFsync.segments,
      turns,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchController(), null, 2));
}
