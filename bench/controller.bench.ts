/**
 * Controller cost per turn: wall time of runs minus the time spent producing
 * and parsing the model's streams and inside tools — i.e. the continuation
 * machine, the bookkeeping, the events and the journal writes. Not a timed
 * test: call `benchController()` (or `node --import tsx bench/controller.bench.ts`)
 * and read the numbers. Everything is measured side by side in one process,
 * on the same disk (the OS temp dir).
 *
 * 1. A typical turn (tool_use with two parallel calls, then end_turn), with no
 *    store, with the in-memory store, and with the default file store.
 * 2. A long run: 300 tool turns in ONE run, each one segment with ~2 KB of
 *    text and one tool call, with the default durable store. Per-turn cost
 *    early (turns 10–30) and late (270–290): an append-only journal must cost
 *    the same at both ends.
 * 3. The floor: one fdatasync'd 1 KiB append (write + fdatasync on an open
 *    file, node's async calls, as the store makes them), before and after 2.
 */
import { closeSync, fdatasync, openSync, write } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FileCheckpointStore, MemoryCheckpointStore, startRun, type CheckpointStore, type RunnableTool } from '../src/controller/index.js';
import type { ParseTurn } from '../src/controller/model.js';
import { parseTurn } from '../src/turn/parse.js';
import { messageEvents, type MessageSpec } from '../src/testing/sse.js';

export interface ControllerBenchResult {
  /** Typical turn, default file store (async calls, fdatasync on). ms. */
  perTurnMs: number;
  /** The same per segment. */
  perSegmentMs: number;
  /** Typical turn, file store with fsync off. */
  perTurnNoFsyncMs: number;
  /** Typical turn, file store with `sync: true`, fsync on. */
  perTurnSyncMs: number;
  /** Typical turn, `checkpoint: false`: the controller's own work (wall time). */
  perTurnNoStoreMs: number;
  /** The same in CPU time of this process (user + system): what the work costs whatever else the machine runs. */
  perTurnNoStoreCpuMs: number;
  /** Typical turn, MemoryCheckpointStore (a JSON copy of the whole state per write). */
  perTurnMemoryMs: number;
  /** Of perTurnMs: time inside the lease's save. */
  checkpointMsPerTurn: number;
  checkpointsPerTurn: number;
  segmentsPerTurn: number;
  turns: number;
  long: {
    turns: number;
    /** Mean cost of one tool turn over turns 10–30 / 270–290 (scaled to the run's length). ms. */
    earlyMs: number;
    lateMs: number;
    earlyMedianMs: number;
    lateMedianMs: number;
    lateOverEarly: number;
    /** One fdatasync'd 1 KiB append, median of the runs before and after. ms. */
    appendMs: number;
    lateOverAppend: number;
    /** Size of the journal file at the end (bytes) and how long `load` took on it (ms). */
    journalBytes: number;
    loadMs: number;
  };
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
  cpuMs: number;
  saveMs: number;
  saves: number;
  segments: number;
}

interface Timers {
  excluded: number;
  /** CPU ms spent where `excluded` is counted. */
  excludedCpu: number;
  saveMs: number;
  saves: number;
}

function instruments(timers: Timers): { parse: ParseTurn; tool: RunnableTool; timed: (inner: CheckpointStore) => CheckpointStore } {
  const parse: ParseTurn = async (source, options) => {
    const t = performance.now();
    const c = process.cpuUsage();
    const result = await parseTurn(source, options);
    timers.excludedCpu += cpuMs(process.cpuUsage(c));
    timers.excluded += performance.now() - t;
    return result;
  };
  const tool: RunnableTool = {
    name: 'lookup',
    run: (input: { key: string }) => {
      const t = performance.now();
      const out = `${input.key} = ${String(input.key).length}`;
      timers.excluded += performance.now() - t;
      return out;
    },
  };
  const timed = (inner: CheckpointStore): CheckpointStore => ({
    acquire: async (runId) => {
      const lease = await inner.acquire(runId);
      return {
        holder: lease.holder,
        tookOver: lease.tookOver,
        save: async (checkpoint) => {
          const t = performance.now();
          await lease.save(checkpoint);
          timers.saveMs += performance.now() - t;
          timers.saves++;
        },
        release: () => lease.release(),
      };
    },
    load: (id) => inner.load(id),
  });
  return { parse, tool, timed };
}

async function measure(turns: number, makeStore: (() => CheckpointStore) | false): Promise<Measured> {
  // Pre-built events: producing them is not part of any measured time.
  const streams = TURN.map((spec) => messageEvents(spec));
  const timers: Timers = { excluded: 0, excludedCpu: 0, saveMs: 0, saves: 0 };
  const { parse, tool, timed } = instruments(timers);
  let segments = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < turns; i++) {
    let n = 0;
    const t = performance.now();
    const c = process.cpuUsage();
    const fresh = streams.map((events) => structuredClone(events)); // the parser may keep (and grow) the objects it is given
    timers.excludedCpu += cpuMs(process.cpuUsage(c));
    timers.excluded += performance.now() - t;
    const result = await startRun({
      params: { model: 'claude-bench', max_tokens: 1024 },
      messages: 'Look up alpha and beta.',
      tools: [tool],
      createStream: () => fresh[n++]!,
      parse,
      checkpoint: makeStore === false ? false : timed(makeStore()),
      runId: `run_bench_${i % 8}`,
    }).settled;
    if (result.status !== 'completed') throw new Error(`bench turn ended ${result.status}: ${result.error?.message}`);
    segments += result.segments.length;
  }
  const total = performance.now() - start;
  const cpu = cpuMs(process.cpuUsage(cpuStart));
  return { overheadMs: (total - timers.excluded) / turns, cpuMs: (cpu - timers.excludedCpu) / turns, saveMs: timers.saveMs / turns, saves: timers.saves / turns, segments: segments / turns };
}

/** One fdatasync'd 1 KiB append, as the store makes it (async write at the end, then fdatasync). Median ms. */
async function appendFloor(dir: string, count: number): Promise<number> {
  const writeAsync = promisify(write);
  const syncAsync = promisify(fdatasync);
  const fd = openSync(join(dir, `floor-${Math.random()}.log`), 'w');
  const data = Buffer.alloc(1024, 'x');
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await writeAsync(fd, data, 0, data.length, i * data.length);
      await syncAsync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  return median(times);
}

/** A text of about `bytes` characters, different per turn (so nothing is shared by accident). */
const prose = (turn: number, bytes: number): string => {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'ünïcode', 'quote"d', 'tab\there', 'line\nbreak'];
  let out = `Turn ${turn}: `;
  for (let i = 0; out.length < bytes; i++) out += `${words[(i * 7 + turn) % words.length]} `;
  return out;
};

/** {@link longRun} three times, each beside its own floor measurement; medians over the rounds (the machine's load varies). */
async function measureLong(dir: string, turns: number): Promise<ControllerBenchResult['long']> {
  const rounds: ControllerBenchResult['long'][] = [];
  for (let r = 0; r < 3; r++) rounds.push(await longRun(join(dir, `long-${r}`), turns));
  const pick = (key: keyof ControllerBenchResult['long']) => round(median(rounds.map((x) => x[key])));
  return {
    turns,
    earlyMs: pick('earlyMs'),
    lateMs: pick('lateMs'),
    earlyMedianMs: pick('earlyMedianMs'),
    lateMedianMs: pick('lateMedianMs'),
    lateOverEarly: pick('lateOverEarly'),
    appendMs: pick('appendMs'),
    lateOverAppend: pick('lateOverAppend'),
    journalBytes: pick('journalBytes'),
    loadMs: pick('loadMs'),
  };
}

async function longRun(dir: string, turns: number): Promise<ControllerBenchResult['long']> {
  const streams = Array.from({ length: turns + 1 }, (_, i) =>
    messageEvents(
      i < turns
        ? { content: [{ type: 'text', text: prose(i, 2048) }, { type: 'tool_use', id: `toolu_long_${i}`, name: 'lookup', input: { key: `k${i}` } }], stopReason: 'tool_use', chunkSize: 64 }
        : { content: [{ type: 'text', text: 'All looked up.' }], stopReason: 'end_turn' },
    ),
  );
  const timers: Timers = { excluded: 0, excludedCpu: 0, saveMs: 0, saves: 0 };
  const { parse, tool } = instruments(timers);
  const marks: { at: number; excluded: number }[] = [];
  let n = 0;
  const store = new FileCheckpointStore({ dir });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const before = await appendFloor(dir, 200);
  const result = await startRun({
    params: { model: 'claude-bench', max_tokens: 1024 },
    messages: 'Look everything up.',
    tools: [tool],
    createStream: () => {
      marks.push({ at: performance.now(), excluded: timers.excluded });
      return streams[n++]!;
    },
    parse,
    checkpoint: store,
    runId: 'run_bench_long',
  }).settled;
  if (result.status !== 'completed') throw new Error(`long run ended ${result.status}: ${result.error?.message}`);
  const after = await appendFloor(dir, 200);
  // Turn i: from request i to request i+1 — the segment's bookkeeping, the tool's two records, the request's record.
  const turnMs = marks.slice(1).map((m, i) => m.at - marks[i]!.at - (m.excluded - marks[i]!.excluded));
  const window = (from: number, to: number) => turnMs.slice(Math.round((from / 300) * turns), Math.round((to / 300) * turns));
  const early = window(10, 30);
  const late = window(270, 290);
  const appendMs = median([before, after]);
  const t = performance.now();
  const loaded = await store.load('run_bench_long');
  const loadMs = performance.now() - t;
  if (loaded?.state.messages.length !== result.messages.length) throw new Error('the long run did not load back');
  const { statSync } = await import('node:fs');
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    turns,
    earlyMs: round(mean(early)),
    lateMs: round(mean(late)),
    earlyMedianMs: round(median(early)),
    lateMedianMs: round(median(late)),
    lateOverEarly: round(mean(late) / mean(early)),
    appendMs: round(appendMs),
    lateOverAppend: round(mean(late) / appendMs),
    journalBytes: statSync(store.pathFor('run_bench_long')).size,
    loadMs: round(loadMs),
  };
}

export async function benchController(options: { turns?: number; longTurns?: number } = {}): Promise<ControllerBenchResult> {
  const turns = options.turns ?? 500;
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-bench-'));
  try {
    await measure(Math.min(1000, turns * 2), false); // warm-up (JIT)
    const noStore = await measure(turns, false);
    const memory = await measure(turns, () => new MemoryCheckpointStore());
    const file = async (name: string, options: { fsync?: boolean; sync?: boolean }) => {
      const store = new FileCheckpointStore({ dir: join(dir, name), ...options });
      await measure(Math.min(20, turns), () => store);
      return measure(turns, () => store);
    };
    const asyncFsync = await file('async-fsync', {});
    const asyncNoFsync = await file('async-nofsync', { fsync: false });
    const syncFsync = await file('sync-fsync', { sync: true });
    const long = await measureLong(dir, options.longTurns ?? 300);
    return {
      perTurnMs: round(asyncFsync.overheadMs),
      perSegmentMs: round(asyncFsync.overheadMs / asyncFsync.segments),
      perTurnNoFsyncMs: round(asyncNoFsync.overheadMs),
      perTurnSyncMs: round(syncFsync.overheadMs),
      perTurnNoStoreMs: round(noStore.overheadMs),
      perTurnNoStoreCpuMs: round(noStore.cpuMs),
      perTurnMemoryMs: round(memory.overheadMs),
      checkpointMsPerTurn: round(asyncFsync.saveMs),
      checkpointsPerTurn: asyncFsync.saves,
      segmentsPerTurn: asyncFsync.segments,
      turns,
      long,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;
const round = (ms: number): number => Math.round(ms * 1000) / 1000;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchController(), null, 2));
}
