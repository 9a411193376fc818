/**
 * Controller cost per turn: wall time of runs minus the time spent producing
 * and parsing the model's streams and inside tools — i.e. the continuation
 * machine, the bookkeeping, the events and the journal writes. Not a timed
 * test: call `benchController()` (or `node --import tsx bench/controller.bench.ts`)
 * and read the numbers. Everything is measured side by side in one process,
 * on the same disk (the OS temp dir), after a warm-up, in several rounds;
 * figures are medians over the rounds, `spread` gives the lowest and highest.
 *
 * 1. A typical turn (tool_use with two parallel calls, then end_turn), with no
 *    store, with the in-memory store, and with the default file store; the
 *    variants take turns within each round. Also the controller alone: the
 *    same turn with its two segments parsed beforehand (no parser at all, so
 *    none of its garbage is collected on the controller's time), no store.
 *    That one is the controller's own work (issue 6 A4's "≤ 0.5 ms"), and it
 *    runs the BUILT controller (dist/src, what users run: tsc's output, no
 *    transform at load) — `npm run build` first; a dist older than its source
 *    fails the bench with a message saying so (see {@link distController}).
 *    Beside it, in the same rounds, the same turn on src through tsx (the
 *    figure before: esbuild's keepNames wraps every function in `__name()`),
 *    so the two can be compared. Every other variant runs src through tsx. With
 *    the real parser, the parse itself is left out of the time, but the
 *    garbage it leaves is collected later, on whatever runs then — the
 *    `gcMs` figures (node's `gc` performance entries) show how much.
 * 2. A long run: 300 tool turns in ONE run, each one segment with ~2 KB of
 *    text and one tool call, with the default durable store. Per-turn cost
 *    early (turns 10–30) and late (270–290), wall and CPU: an append-only
 *    journal must cost the same at both ends.
 * 3. The floor: one fdatasync'd 1 KiB append (write + fdatasync on an open
 *    file, node's async calls, as the store makes them), sampled before every
 *    request of the long run, so it is compared with turns measured at the
 *    same moments.
 */
import { closeSync, existsSync, fdatasync, openSync, readdirSync, statSync, write } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as srcController from '../src/controller/index.js';
import { FileCheckpointStore, MemoryCheckpointStore, startRun, type CheckpointStore, type RunnableTool } from '../src/controller/index.js';
import type { ParseTurn } from '../src/controller/model.js';
import { parseTurn, parseTurnSync } from '../src/turn/parse.js';
import type { TurnResult } from '../src/turn/types.js';
import { messageEvents, type MessageSpec } from '../src/testing/sse.js';

/** Lowest, median and highest over the rounds. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface ControllerBenchResult {
  /** Measured rounds (each variant once per round). */
  rounds: number;
  /** The 1-minute load average when the bench started and ended (2 cores here: above 2, other work shares them). */
  loadAverage: { start: number; end: number };
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
  /** Typical turn, no store, segments parsed beforehand: the controller alone, as built (dist/src), wall ms — the A4 figure. */
  perTurnControllerMs: number;
  /** The same in CPU ms (this process's user + system: GC helper threads included, so it can exceed wall time). */
  perTurnControllerCpuMs: number;
  /** The controller alone again, from src through tsx (what this figure measured before), in the same rounds. */
  perTurnControllerSrcMs: number;
  perTurnControllerSrcCpuMs: number;
  /** What each controller-alone figure ran: the built files and the source. */
  controllerFrom: { perTurnControllerMs: string; perTurnControllerSrcMs: string };
  /** Garbage collection per turn (ms, node's `gc` performance entries) with the real parser and with the segments parsed beforehand, no store. */
  gcMsPerTurn: { noStore: number; controller: number; controllerSrc: number };
  /** Typical turn, MemoryCheckpointStore (a JSON copy of the whole state per write). */
  perTurnMemoryMs: number;
  /** Of perTurnMs: time inside the lease's save. */
  checkpointMsPerTurn: number;
  checkpointsPerTurn: number;
  segmentsPerTurn: number;
  turns: number;
  spread: {
    perTurnMs: Spread;
    perTurnNoStoreMs: Spread;
    perTurnNoStoreCpuMs: Spread;
    perTurnControllerMs: Spread;
    perTurnControllerCpuMs: Spread;
    perTurnControllerSrcMs: Spread;
    perTurnControllerSrcCpuMs: Spread;
  };
  long: {
    turns: number;
    rounds: number;
    /** Mean cost of one tool turn over turns 10–30 / 270–290 (scaled to the run's length). ms. */
    earlyMs: number;
    lateMs: number;
    /** Median cost of one tool turn over the same windows: the headline (a compaction or a GC pause in a window moves the mean). */
    earlyMedianMs: number;
    lateMedianMs: number;
    /** Median CPU time of one turn in the windows (less disturbed by other work on the machine). */
    earlyCpuMs: number;
    lateCpuMs: number;
    /** lateMedianMs ÷ earlyMedianMs, per round; the median round. */
    lateOverEarly: number;
    /** The same with means. */
    lateOverEarlyMean: number;
    /** lateCpuMs ÷ earlyCpuMs. */
    lateOverEarlyCpu: number;
    /** One fdatasync'd 1 KiB append: median of every sample of the run, of those before the early turns, of those before the late turns. ms. */
    appendMs: number;
    appendEarlyMs: number;
    appendLateMs: number;
    /** lateMedianMs ÷ appendLateMs (turns and floor sampled at the same moments). */
    lateOverAppend: number;
    earlyOverAppend: number;
    /** Size of the journal file at the end (bytes) and how long `load` took on it (ms). */
    journalBytes: number;
    loadMs: number;
    spread: { lateOverEarly: Spread; lateOverEarlyCpu: Spread; lateOverAppend: Spread; earlyOverAppend: Spread; appendMs: Spread };
  };
}

/** A full, synchronous GC between rounds, whether or not node got --expose-gc. */
const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** The typical turn (tool_use with two parallel calls, then end_turn); test/controller/no-store.test.ts counts its mechanisms. */
export const TURN: MessageSpec[] = [
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
  gcMs: number;
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

/** Segments parsed once, up front, by the real parser: what `parse` returns when the bench leaves the parser out. */
const PARSED: TurnResult[] = TURN.map((spec) => parseTurnSync(messageEvents(spec) as Iterable<unknown>));

type Controller = Pick<typeof srcController, 'startRun'>;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The built controller (dist/src/controller), checked against its source
 * first: every .ts under src/ and machines/ must have its dist .js, no older
 * than it. Otherwise the figure would time code that is not the source's —
 * so this throws, naming the file and saying to run `npm run build`.
 */
export async function distController(root = ROOT): Promise<Controller> {
  const stale = staleDist(root);
  if (stale !== null) {
    throw new Error(`dist is stale (${stale}): the controller-alone figure times the built controller, what users run — run \`npm run build\` first`);
  }
  return (await import(pathToFileURL(join(root, 'dist', 'src', 'controller', 'index.js')).href)) as Controller;
}

/** The first source file whose build is missing or older than it, or null when dist is up to date. */
export function staleDist(root: string): string | null {
  const walk = (dir: string): string | null => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, name.name);
      if (name.isDirectory()) {
        const found = walk(path);
        if (found !== null) return found;
      } else if (name.name.endsWith('.ts') && !name.name.endsWith('.d.ts')) {
        const rel = relative(root, path);
        const built = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(built)) return `${rel} has no ${relative(root, built)}`;
        if (statSync(built).mtimeMs < statSync(path).mtimeMs) return `${rel} is newer than ${relative(root, built)}`;
      }
    }
    return null;
  };
  for (const dir of ['src', 'machines']) {
    if (!existsSync(join(root, dir))) continue;
    const found = walk(join(root, dir));
    if (found !== null) return found;
  }
  return null;
}

async function measure(turns: number, makeStore: (() => CheckpointStore) | false, parser: 'real' | 'preparsed' = 'real', controller: Controller = srcController): Promise<Measured> {
  // Pre-built events: producing them is not part of any measured time.
  const streams = TURN.map((spec) => messageEvents(spec));
  const timers: Timers = { excluded: 0, excludedCpu: 0, saveMs: 0, saves: 0 };
  const { parse: realParse, tool, timed } = instruments(timers);
  let fresh: unknown[] = [];
  let n = 0;
  const parse: ParseTurn = parser === 'real' ? realParse : async () => fresh[n++] as TurnResult;
  let segments = 0;
  let gcMs = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gcs.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < turns; i++) {
    n = 0;
    const t = performance.now();
    const c = process.cpuUsage();
    // The parser may keep (and grow) the objects it is given; the controller keeps the messages it is given. Fresh copies each turn.
    fresh = parser === 'real' ? streams.map((events) => structuredClone(events)) : structuredClone(PARSED);
    timers.excludedCpu += cpuMs(process.cpuUsage(c));
    timers.excluded += performance.now() - t;
    const result = await controller.startRun({
      params: { model: 'claude-bench', max_tokens: 1024 },
      messages: 'Look up alpha and beta.',
      tools: [tool],
      createStream: () => (parser === 'real' ? fresh[n++]! : {}) as never,
      parse,
      checkpoint: makeStore === false ? false : timed(makeStore()),
      runId: `run_bench_${i % 8}`,
    }).settled;
    if (result.status !== 'completed') throw new Error(`bench turn ended ${result.status}: ${result.error?.message}`);
    segments += result.segments.length;
  }
  const total = performance.now() - start;
  const cpu = cpuMs(process.cpuUsage(cpuStart));
  // gc entries are delivered on a later tick: let them arrive before counting.
  await new Promise((resolve) => setImmediate(resolve));
  gcs.disconnect();
  return { overheadMs: (total - timers.excluded) / turns, cpuMs: (cpu - timers.excludedCpu) / turns, gcMs: gcMs / turns, saveMs: timers.saveMs / turns, saves: timers.saves / turns, segments: segments / turns };
}

/** An fdatasync'd 1 KiB appender on its own file in `dir`, as the store appends (async write at the end, then fdatasync). */
function appender(dir: string): { append: () => Promise<number>; close: () => void } {
  const writeAsync = promisify(write);
  const syncAsync = promisify(fdatasync);
  const fd = openSync(join(dir, `floor-${process.pid}-${Math.random()}.log`), 'w');
  const data = Buffer.alloc(1024, 'x');
  let position = 0;
  return {
    append: async () => {
      const t = performance.now();
      await writeAsync(fd, data, 0, data.length, position);
      await syncAsync(fd);
      position += data.length;
      return performance.now() - t;
    },
    close: () => closeSync(fd),
  };
}

/** A text of about `bytes` characters, different per turn (so nothing is shared by accident). */
const prose = (turn: number, bytes: number): string => {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'ünïcode', 'quote"d', 'tab\there', 'line\nbreak'];
  let out = `Turn ${turn}: `;
  for (let i = 0; out.length < bytes; i++) out += `${words[(i * 7 + turn) % words.length]} `;
  return out;
};

type LongRound = Omit<ControllerBenchResult['long'], 'turns' | 'rounds' | 'spread'>;

/**
 * {@link longRun} `rounds` times after one shorter warm-up run (JIT), a full GC
 * before each; every figure is the median over the rounds, and `spread` gives
 * the lowest and highest round for the ratios (the machine's load varies from
 * one second to the next: one round says little).
 */
async function measureLong(dir: string, turns: number, rounds: number): Promise<ControllerBenchResult['long']> {
  await longRun(join(dir, 'long-warm'), Math.max(40, Math.round(turns / 5)));
  const results: LongRound[] = [];
  for (let r = 0; r < rounds; r++) {
    gc();
    results.push(await longRun(join(dir, `long-${r}`), turns));
  }
  const pick = (key: keyof LongRound) => round(median(results.map((x) => x[key])));
  const range = (key: keyof LongRound): Spread => spreadOf(results.map((x) => x[key]));
  return {
    turns,
    rounds,
    earlyMs: pick('earlyMs'),
    lateMs: pick('lateMs'),
    earlyMedianMs: pick('earlyMedianMs'),
    lateMedianMs: pick('lateMedianMs'),
    earlyCpuMs: pick('earlyCpuMs'),
    lateCpuMs: pick('lateCpuMs'),
    lateOverEarly: pick('lateOverEarly'),
    lateOverEarlyMean: pick('lateOverEarlyMean'),
    lateOverEarlyCpu: pick('lateOverEarlyCpu'),
    appendMs: pick('appendMs'),
    appendEarlyMs: pick('appendEarlyMs'),
    appendLateMs: pick('appendLateMs'),
    lateOverAppend: pick('lateOverAppend'),
    earlyOverAppend: pick('earlyOverAppend'),
    journalBytes: pick('journalBytes'),
    loadMs: pick('loadMs'),
    spread: {
      lateOverEarly: range('lateOverEarly'),
      lateOverEarlyCpu: range('lateOverEarlyCpu'),
      lateOverAppend: range('lateOverAppend'),
      earlyOverAppend: range('earlyOverAppend'),
      appendMs: range('appendMs'),
    },
  };
}

/** Passes the right to run between the two runs of {@link longRun}, so exactly one of them works at any moment. */
class Baton {
  #holder: 'early' | 'late' = 'early';
  readonly #waiting = new Map<string, () => void>();
  pass(to: 'early' | 'late'): void {
    this.#holder = to;
    const wake = this.#waiting.get(to);
    this.#waiting.delete(to);
    wake?.();
  }
  take(who: 'early' | 'late'): Promise<void> {
    return this.#holder === who ? Promise.resolve() : new Promise((resolve) => this.#waiting.set(who, resolve));
  }
}

/** The long run's tool turns, streamed in 64-character deltas: `turns` turns with ~2 KB of text and one call, then end_turn. */
const longStreams = (turns: number, tag: string) =>
  Array.from({ length: turns + 1 }, (_, i) =>
    messageEvents(
      i < turns
        ? { content: [{ type: 'text', text: prose(i, 2048) }, { type: 'tool_use', id: `toolu_${tag}_${i}`, name: 'lookup', input: { key: `k${i}` } }], stopReason: 'tool_use', chunkSize: 64 }
        : { content: [{ type: 'text', text: 'All looked up.' }], stopReason: 'end_turn' },
    ),
  );

/**
 * One round. Two runs of the same tool turns, each with its own journal in
 * `dir` (the default durable store): the long one (`turns` turns) goes alone
 * up to just before its late window; then the short one starts, and the two
 * take turns — early turn k of the short run, then late turn k of the long one,
 * never both at once (a baton handed over in `createStream`, outside the
 * measured time). So an early and a late turn are measured seconds apart, not
 * a whole run apart, and a change in the machine's load moves both. Before
 * each of these turns one fdatasync'd 1 KiB append goes to a file beside the
 * journals (outside the measured time, like the model and the tool): the floor,
 * sampled at the same moments. Turn i runs from request i to request i+1 —
 * the segment's bookkeeping, the tool's two records, the request's record.
 */
async function longRun(dir: string, turns: number): Promise<LongRound> {
  // Windows of 20 turns, scaled to the run's length: early 10–30, late 270–290 of 300.
  const scale = (at: number) => Math.round((at / 300) * turns);
  const pairs = scale(30);
  const lateFrom = scale(270) - scale(10); // the long run's first paired turn
  const measuredFrom = scale(10); // pairs before this one are the paired phase's warm-up
  await mkdir(dir, { recursive: true });
  const store = new FileCheckpointStore({ dir });
  const disk = appender(dir);
  const baton = new Baton();
  type Side = { name: 'early' | 'late'; first: number; timers: Timers; marks: Map<number, { at: number; cpu: number; excluded: number; excludedCpu: number }>; ends: Map<number, { at: number; cpu: number; excluded: number; excludedCpu: number }>; floor: Map<number, number> };
  const side = (name: 'early' | 'late', first: number): Side => ({ name, first, timers: { excluded: 0, excludedCpu: 0, saveMs: 0, saves: 0 }, marks: new Map(), ends: new Map(), floor: new Map() });
  const early = side('early', 0);
  const late = side('late', lateFrom);
  const snap = (s: Side) => ({ at: performance.now(), cpu: cpuMs(process.cpuUsage()), excluded: s.timers.excluded, excludedCpu: s.timers.excludedCpu });
  let earlyRun: Promise<unknown> | null = null;
  const run = (s: Side, count: number) => {
    const streams = longStreams(count, s.name);
    const { parse, tool } = instruments(s.timers);
    let n = 0;
    const other = s.name === 'early' ? 'late' : 'early';
    return startRun({
      params: { model: 'claude-bench', max_tokens: 1024 },
      messages: 'Look everything up.',
      tools: [tool],
      createStream: async () => {
        const i = n++;
        s.ends.set(i - 1, snap(s)); // the end of turn i − 1
        const k = i - s.first; // the pair this request opens (k = pairs: the one after the last)
        if (k >= 0 && k <= pairs) {
          if (s.name === 'late' && k === 0) earlyRun = run(early, pairs + 1);
          if (k > 0 || s.name === 'late') {
            if (k > 0) baton.pass(other);
            // The long run goes on alone after the last pair; the short one waits until it has.
            if (!(s.name === 'late' && k === pairs)) await baton.take(s.name);
          }
          if (k < pairs) {
            const c = process.cpuUsage();
            s.floor.set(i, await disk.append());
            s.timers.excludedCpu += cpuMs(process.cpuUsage(c));
          }
        }
        s.marks.set(i, snap(s)); // the start of turn i
        return streams[i]!;
      },
      parse,
      checkpoint: store,
      runId: `run_bench_${s.name}`,
    }).settled.then((result) => {
      if (result.status !== 'completed') throw new Error(`long run (${s.name}) ended ${result.status}: ${result.error?.message}`);
      return result;
    });
  };
  let lateResult;
  try {
    lateResult = await run(late, turns);
    await earlyRun;
  } finally {
    disk.close();
  }
  const turnOf = (s: Side, k: number) => {
    const i = s.first + k;
    const start = s.marks.get(i)!;
    const end = s.ends.get(i)!;
    return { ms: end.at - start.at - (end.excluded - start.excluded), cpu: end.cpu - start.cpu - (end.excludedCpu - start.excludedCpu), floor: s.floor.get(i)! };
  };
  const window = (s: Side) => Array.from({ length: pairs - measuredFrom }, (_, j) => turnOf(s, measuredFrom + j));
  const e = window(early);
  const l = window(late);
  const med = (xs: { ms: number; cpu: number; floor: number }[], key: 'ms' | 'cpu' | 'floor') => median(xs.map((x) => x[key]));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const t = performance.now();
  const loaded = await store.load('run_bench_late');
  const loadMs = performance.now() - t;
  if (loaded?.state.messages.length !== lateResult.messages.length) throw new Error('the long run did not load back');
  return {
    earlyMs: round(mean(e.map((x) => x.ms))),
    lateMs: round(mean(l.map((x) => x.ms))),
    earlyMedianMs: round(med(e, 'ms')),
    lateMedianMs: round(med(l, 'ms')),
    earlyCpuMs: round(med(e, 'cpu')),
    lateCpuMs: round(med(l, 'cpu')),
    lateOverEarly: round(med(l, 'ms') / med(e, 'ms')),
    lateOverEarlyMean: round(mean(l.map((x) => x.ms)) / mean(e.map((x) => x.ms))),
    lateOverEarlyCpu: round(med(l, 'cpu') / med(e, 'cpu')),
    appendMs: round(median([...e, ...l].map((x) => x.floor))),
    appendEarlyMs: round(med(e, 'floor')),
    appendLateMs: round(med(l, 'floor')),
    lateOverAppend: round(med(l, 'ms') / med(l, 'floor')),
    earlyOverAppend: round(med(e, 'ms') / med(e, 'floor')),
    journalBytes: statSync(store.pathFor('run_bench_late')).size,
    loadMs: round(loadMs),
  };
}

export async function benchController(options: { turns?: number; longTurns?: number; rounds?: number } = {}): Promise<ControllerBenchResult> {
  const turns = options.turns ?? 500;
  const rounds = Math.max(1, options.rounds ?? 5);
  const perRound = Math.max(1, Math.round(turns / rounds));
  const loadStart = loadavg()[0]!;
  const built = await distController();
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-bench-'));
  try {
    const files = new Map<string, FileCheckpointStore>();
    const file = (name: string, options: { fsync?: boolean; sync?: boolean }) => () => {
      let store = files.get(name);
      if (store === undefined) files.set(name, (store = new FileCheckpointStore({ dir: join(dir, name), ...options })));
      return store;
    };
    const variants = {
      noStore: (count: number) => measure(count, false),
      controller: (count: number) => measure(count, false, 'preparsed', built),
      controllerSrc: (count: number) => measure(count, false, 'preparsed'),
      memory: (count: number) => measure(count, () => new MemoryCheckpointStore()),
      asyncFsync: (count: number) => measure(count, file('async-fsync', {})),
      asyncNoFsync: (count: number) => measure(count, file('async-nofsync', { fsync: false })),
      syncFsync: (count: number) => measure(count, file('sync-fsync', { sync: true })),
    };
    type Variant = keyof typeof variants;
    const names = Object.keys(variants) as Variant[];
    // Warm-up (JIT): many turns with no store, a few of every variant. Then rounds in which the variants take turns (the order rotates).
    await measure(Math.min(1000, turns * 2), false);
    await measure(Math.min(1000, turns * 2), false, 'preparsed', built);
    for (const name of names) await variants[name](Math.min(20, turns));
    const measured = Object.fromEntries(names.map((name) => [name, [] as Measured[]])) as Record<Variant, Measured[]>;
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length]!;
        gc();
        measured[name].push(await variants[name](perRound));
      }
    }
    const med = (name: Variant, key: keyof Measured) => round(median(measured[name].map((m) => m[key])));
    const spread = (name: Variant, key: keyof Measured) => spreadOf(measured[name].map((m) => m[key]));
    const long = await measureLong(dir, options.longTurns ?? 300, rounds);
    return {
      rounds,
      loadAverage: { start: round(loadStart), end: round(loadavg()[0]!) },
      perTurnMs: med('asyncFsync', 'overheadMs'),
      perSegmentMs: round(med('asyncFsync', 'overheadMs') / med('asyncFsync', 'segments')),
      perTurnNoFsyncMs: med('asyncNoFsync', 'overheadMs'),
      perTurnSyncMs: med('syncFsync', 'overheadMs'),
      perTurnNoStoreMs: med('noStore', 'overheadMs'),
      perTurnNoStoreCpuMs: med('noStore', 'cpuMs'),
      perTurnControllerMs: med('controller', 'overheadMs'),
      perTurnControllerCpuMs: med('controller', 'cpuMs'),
      perTurnControllerSrcMs: med('controllerSrc', 'overheadMs'),
      perTurnControllerSrcCpuMs: med('controllerSrc', 'cpuMs'),
      controllerFrom: { perTurnControllerMs: 'dist/src (built by npm run build)', perTurnControllerSrcMs: 'src through tsx' },
      gcMsPerTurn: { noStore: med('noStore', 'gcMs'), controller: med('controller', 'gcMs'), controllerSrc: med('controllerSrc', 'gcMs') },
      perTurnMemoryMs: med('memory', 'overheadMs'),
      checkpointMsPerTurn: med('asyncFsync', 'saveMs'),
      checkpointsPerTurn: med('asyncFsync', 'saves'),
      segmentsPerTurn: med('asyncFsync', 'segments'),
      turns: perRound * rounds,
      spread: {
        perTurnMs: spread('asyncFsync', 'overheadMs'),
        perTurnNoStoreMs: spread('noStore', 'overheadMs'),
        perTurnNoStoreCpuMs: spread('noStore', 'cpuMs'),
        perTurnControllerMs: spread('controller', 'overheadMs'),
        perTurnControllerCpuMs: spread('controller', 'cpuMs'),
        perTurnControllerSrcMs: spread('controllerSrc', 'overheadMs'),
        perTurnControllerSrcCpuMs: spread('controllerSrc', 'cpuMs'),
      },
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
const spreadOf = (xs: number[]): Spread => ({ min: round(Math.min(...xs)), median: round(median(xs)), max: round(Math.max(...xs)) });

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchController(), null, 2));
}
