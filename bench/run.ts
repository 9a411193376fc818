/**
 * turnstate benchmark — `npm run bench` (= `tsx bench/run.ts`).
 *
 * 1. Throughput, as ratios from ONE interleaved run (rounds rotate the order;
 *    ≥ 7 measured rounds after warm-up; each ratio is the paired median — the
 *    median over rounds of that round's turnstate ÷ contender; a full GC before each timed
 *    run) on (a) ≥ 20 MiB of SSE with 1–30-char text deltas, fed in 64 KiB
 *    Uint8Array chunks, and (b) a ≥ 2 MiB tool input in 16-unit
 *    input_json_deltas: turnstate vs the floor (TextDecoder + eventsource-parser
 *    + JSON.parse) vs the SDK's MessageStream and BetaMessageStream.
 * 2. Partial tool input: an inputJson listener (jsonSnapshot) that
 *    reads the value on every delta, at 0.5/1/2/4 MiB: time per MiB must stay
 *    flat. The SDK's inputJson (a full re-parse per delta) only at 16–64 KiB.
 * 3. Peak memory on the 20 MiB stream, in child processes (bench/memory-child.ts).
 * 4. bench/controller.bench.ts's `benchController()` (another engineer's file).
 *
 * Options: --runs N (measured rounds, default 9, min 7), --warmup N (default 2),
 * --quick (smoke test: small streams, 3 rounds — numbers not meaningful),
 * --no-memory, --no-sdk-partial, --out FILE (default bench/results.json).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { benchController } from './controller.bench.js';
import { parsedEvents, runCopyOnly, runFloor, runFloorAssemble, runSdk, runTurnstate, runTurnstateEvents, type Chunks, type Outcome } from './contenders.js';
import { collect, MiB, TEXT_CHUNK, textStreamEvents, toolInputJson, toolStreamEvents, type Stream } from './gen.js';

// ---------------------------------------------------------------------------
// Options and environment
// ---------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string, fallback: string): string => {
  const at = argv.indexOf(`--${name}`);
  return at === -1 ? fallback : (argv[at + 1] ?? fallback);
};
const QUICK = flag('quick');
const RUNS = QUICK ? 3 : Math.max(7, Number(option('runs', '9')));
const WARMUP = Math.max(1, Number(option('warmup', QUICK ? '1' : '2')));
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const OUT = option('out', join(HERE, 'results.json'));
const TEXT_MIB = QUICK ? 2 : 20;
const TOOL_MIB = QUICK ? 0.25 : 2;
const PARTIAL_MIB = QUICK ? [0.0625, 0.125, 0.25, 0.5] : [0.5, 1, 2, 4];
const SDK_PARTIAL_KIB = QUICK ? [8, 16] : [16, 32, 64];
const SDK_PARTIAL_RUNS = 3;
const FLATTEN_KIB = QUICK ? [16, 32] : [64, 128, 256];
const TOOL_PIECE = 16;

/** Issue 12's targets, per stream: turnstate ÷ the floor and ÷ the SDK's MessageStream (and BetaMessageStream). */
interface Targets {
  readonly floor: number;
  readonly sdk: number;
}
const TARGETS_TEXT: Targets = { floor: 1.0, sdk: 0.3 };
const TARGETS_TOOL: Targets = { floor: 1.1, sdk: 0.25 };
const TARGET_LINEAR = 1.5;
const TARGET_MEMORY = 3;

/** A full, synchronous GC between timed runs, whether or not node got --expose-gc. */
const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

const startedAt = performance.now();
const loadStart = os.loadavg();

function srcDigest(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) hash.update(relative(ROOT, path)).update(readFileSync(path));
    }
  };
  for (const dir of ['src', 'machines']) if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir));
  return hash.digest('hex').slice(0, 12);
}

function gitHead(): string | null {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// ---------------------------------------------------------------------------
// Statistics and output helpers
// ---------------------------------------------------------------------------

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const x2 = (x: number): string => `${x.toFixed(2)}×`;
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
const log = (line = ''): void => void process.stdout.write(`${line}\n`);
const table = (rows: readonly (readonly string[])[]): void => {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows) log(`  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')}`);
};

interface Task {
  readonly name: string;
  readonly run: () => Outcome | Promise<Outcome>;
}

/**
 * Runs every task once per round, rotating the order each round so no task
 * always runs first (or right after the SDK's garbage); the first `warmup`
 * rounds are not recorded. Returns the times per task, in ms.
 */
async function interleave(tasks: readonly Task[], warmup: number, runs: number): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(tasks.map((t) => [t.name, []]));
  for (let round = 0; round < warmup + runs; round++) {
    for (let k = 0; k < tasks.length; k++) {
      const task = tasks[(round + k) % tasks.length] as Task;
      gc();
      const t0 = performance.now();
      const pending = task.run();
      if (pending instanceof Promise) await pending;
      const elapsed = performance.now() - t0;
      if (round >= warmup) times.get(task.name)?.push(elapsed);
    }
  }
  return times;
}

function check(name: string, expected: Outcome, got: Outcome): void {
  if (expected.size !== got.size) throw new Error(`${name} assembled ${got.size} chars where turnstate assembled ${expected.size}: the streams disagree`);
}

// ---------------------------------------------------------------------------
// 1. Throughput: turnstate vs floor vs SDK
// ---------------------------------------------------------------------------

interface ThroughputRow {
  readonly stream: string;
  readonly bytes: number;
  readonly events: number;
  readonly medianMs: Record<string, number>;
  readonly minMs: Record<string, number>;
  readonly usPerEvent: Record<string, number>;
  readonly samplesMs: Record<string, number[]>;
  /**
   * The figures the targets are checked against: the paired median — each
   * round's turnstate time ÷ the contender's in the same round (they ran back
   * to back, under the same load), median over the rounds.
   */
  readonly vsFloor: number;
  readonly vsSdk: number;
  readonly vsSdkBeta: number;
  /** Informational: median turnstate time ÷ median contender time (rounds mixed: drifts with the machine's load). */
  readonly vsFloorOfMedians: number;
  readonly vsSdkOfMedians: number;
  readonly targets: Targets;
  /** Informational: vs the floor plus the joins and the tool-input JSON.parse any assembler needs. */
  readonly vsFloorAssemble: number;
  readonly vsFloorMin: number;
  readonly pass: { floor: boolean; sdk: boolean; sdkBeta: boolean };
}

/** Median over rounds of `a[i] / b[i]`: the two ran in the same round. */
const paired = (a: readonly number[], b: readonly number[]): number => median(a.map((t, i) => t / (b[i] ?? NaN)));

async function throughput(stream: Stream, targets: Targets): Promise<ThroughputRow> {
  const reference = runTurnstate(stream.chunks);
  check('floor events', { events: 0, size: reference.events }, { events: 0, size: runFloor(stream.chunks).events });
  check('floor+assemble', reference, runFloorAssemble(stream.chunks));
  check('SDK MessageStream', reference, await runSdk(stream.chunks, false));
  check('SDK BetaMessageStream', reference, await runSdk(stream.chunks, true));
  const tasks: Task[] = [
    { name: 'turnstate', run: () => runTurnstate(stream.chunks) },
    { name: 'floor', run: () => runFloor(stream.chunks) },
    { name: 'floorAssemble', run: () => runFloorAssemble(stream.chunks) },
    { name: 'sdk', run: () => runSdk(stream.chunks, false) },
    { name: 'sdkBeta', run: () => runSdk(stream.chunks, true) },
  ];
  const times = await interleave(tasks, WARMUP, RUNS);
  const samplesMs = Object.fromEntries(times) as Record<string, number[]>;
  const medianMs = Object.fromEntries([...times].map(([k, v]) => [k, median(v)])) as Record<string, number>;
  const minMs = Object.fromEntries([...times].map(([k, v]) => [k, Math.min(...v)])) as Record<string, number>;
  const usPerEvent = Object.fromEntries(Object.entries(medianMs).map(([k, v]) => [k, (v * 1000) / reference.events]));
  const m = (k: string): number => medianMs[k] ?? NaN;
  const s = (k: string): number[] => samplesMs[k] ?? [];
  const vsFloor = paired(s('turnstate'), s('floor'));
  const vsSdk = paired(s('turnstate'), s('sdk'));
  const vsSdkBeta = paired(s('turnstate'), s('sdkBeta'));
  return {
    stream: stream.name,
    bytes: stream.bytes,
    events: reference.events,
    medianMs,
    minMs,
    usPerEvent,
    samplesMs,
    vsFloor,
    vsSdk,
    vsSdkBeta,
    vsFloorOfMedians: m('turnstate') / m('floor'),
    vsSdkOfMedians: m('turnstate') / m('sdk'),
    targets,
    vsFloorAssemble: paired(s('turnstate'), s('floorAssemble')),
    vsFloorMin: (minMs['turnstate'] ?? NaN) / (minMs['floor'] ?? NaN),
    pass: { floor: vsFloor <= targets.floor, sdk: vsSdk <= targets.sdk, sdkBeta: vsSdkBeta <= targets.sdk },
  };
}

// ---------------------------------------------------------------------------
// 2. Partial tool input
// ---------------------------------------------------------------------------

/** What a UI might do per delta: look at the value's shape and the long string's length (no copy). */
function makeReader(): { listener: (partialJson: string, soFar: unknown) => void; reads: () => number } {
  let reads = 0;
  let sink = 0;
  return {
    listener: (_partialJson, soFar) => {
      if (soFar === undefined) return;
      reads++;
      if (typeof soFar === 'object' && soFar !== null && !Array.isArray(soFar)) {
        const value = soFar as Record<string, unknown>;
        const content = value['content'];
        const rows = value['rows'];
        sink += (typeof content === 'string' ? content.length : 0) + (Array.isArray(rows) ? rows.length : 0) + (value['meta'] === undefined ? 0 : 1);
      }
    },
    reads: () => reads + (sink < 0 ? 1 : 0),
  };
}

function runPartial(chunks: Chunks): Outcome {
  const reader = makeReader();
  const outcome = runTurnstate(chunks, { on: { inputJson: reader.listener } });
  if (reader.reads() === 0) throw new Error('the inputJson listener never saw a partial value');
  return outcome;
}

interface PartialRow {
  readonly mib: number;
  readonly events: number;
  readonly medianMs: number;
  readonly msPerMiB: number;
  readonly plainMs: number;
  readonly plainMsPerMiB: number;
  readonly samplesMs: number[];
}

async function partial(): Promise<{ rows: PartialRow[]; growth: number; pass: boolean }> {
  const streams = PARTIAL_MIB.map((mib) => ({ mib, stream: collect(`tool ${mib} MiB`, toolStreamEvents(toolInputJson(mib * MiB), TOOL_PIECE), TEXT_CHUNK) }));
  const tasks: Task[] = streams.flatMap(({ mib, stream }) => [
    { name: `partial ${mib}`, run: () => runPartial(stream.chunks) },
    { name: `plain ${mib}`, run: () => runTurnstate(stream.chunks) },
  ]);
  const times = await interleave(tasks, WARMUP, RUNS);
  const rows = streams.map(({ mib, stream }) => {
    const t = median(times.get(`partial ${mib}`) ?? []);
    const p = median(times.get(`plain ${mib}`) ?? []);
    return { mib, events: stream.events, medianMs: t, msPerMiB: t / mib, plainMs: p, plainMsPerMiB: p / mib, samplesMs: times.get(`partial ${mib}`) ?? [] };
  });
  const first = rows[0] as PartialRow;
  const last = rows[rows.length - 1] as PartialRow;
  const growth = last.msPerMiB / first.msPerMiB;
  return { rows, growth, pass: growth <= TARGET_LINEAR };
}

/**
 * Informational: a listener that reads the long string's characters on every
 * delta (`content.slice(-16)`, as a live preview would) makes V8 flatten the
 * parser's growing rope each time — O(length) per delta, quadratic overall.
 * One run per size, small sizes only.
 */
function flattening(): { kib: number; ms: number; msPerMiB: number }[] {
  return FLATTEN_KIB.map((kib) => {
    const stream = collect(`tool ${kib} KiB`, toolStreamEvents(toolInputJson(kib * 1024), TOOL_PIECE), TEXT_CHUNK);
    let sink = 0;
    const listener = (_partialJson: string, soFar: unknown): void => {
      const content = (soFar as { content?: unknown } | undefined)?.content;
      if (typeof content === 'string') sink += content.slice(-16).length;
    };
    gc();
    const t0 = performance.now();
    runTurnstate(stream.chunks, { on: { inputJson: listener } });
    const ms = performance.now() - t0;
    if (sink === 0) throw new Error('the flattening listener never read a string');
    return { kib, ms, msPerMiB: ms / (kib / 1024) };
  });
}

interface SdkPartialRow {
  readonly kib: number;
  readonly sdkMs: number;
  readonly sdkBetaMs: number;
  readonly turnstateMs: number;
  readonly sdkMsPerMiB: number;
  readonly sdkBetaMsPerMiB: number;
  readonly turnstateMsPerMiB: number;
}

async function sdkPartial(): Promise<SdkPartialRow[]> {
  const streams = SDK_PARTIAL_KIB.map((kib) => ({ kib, stream: collect(`tool ${kib} KiB`, toolStreamEvents(toolInputJson(kib * 1024), TOOL_PIECE), TEXT_CHUNK) }));
  const sdkTask = (chunks: Chunks, beta: boolean) => async (): Promise<Outcome> => {
    const reader = makeReader();
    const outcome = await runSdk(chunks, beta, (partialJson, soFar) => reader.listener(partialJson, soFar));
    if (reader.reads() === 0) throw new Error('the SDK inputJson listener never saw a value');
    return outcome;
  };
  // The SDK re-parses the whole buffer on each delta (quadratic): few, small runs; the smallest size warms up.
  const smallest = streams[0]?.stream.chunks ?? [];
  await sdkTask(smallest, false)();
  await sdkTask(smallest, true)();
  const tasks: Task[] = streams.flatMap(({ kib, stream }) => [
    { name: `sdk ${kib}`, run: sdkTask(stream.chunks, false) },
    { name: `sdkBeta ${kib}`, run: sdkTask(stream.chunks, true) },
    { name: `turnstate ${kib}`, run: () => runPartial(stream.chunks) },
  ]);
  const times = await interleave(tasks, 0, SDK_PARTIAL_RUNS);
  return streams.map(({ kib }) => {
    const get = (k: string): number => median(times.get(`${k} ${kib}`) ?? []);
    const perMiB = (t: number): number => t / (kib / 1024);
    return {
      kib,
      sdkMs: get('sdk'),
      sdkBetaMs: get('sdkBeta'),
      turnstateMs: get('turnstate'),
      sdkMsPerMiB: perMiB(get('sdk')),
      sdkBetaMsPerMiB: perMiB(get('sdkBeta')),
      turnstateMsPerMiB: perMiB(get('turnstate')),
    };
  });
}

// ---------------------------------------------------------------------------
// 3. Memory, in child processes
// ---------------------------------------------------------------------------

interface ChildReport {
  readonly who: string;
  readonly mode: string;
  readonly textUtf16Bytes: number;
  readonly messageJsonChars: number;
  readonly peakLiveAboveBaseline: number | null;
  readonly peakBriefAboveBaseline: number | null;
  readonly peakRawHeapAboveBaseline: number | null;
  readonly peakRssAboveBaseline: number;
  readonly retainedAfterEnd: number;
  readonly baseline: { live: number; rss: number; rssBeforeWarmup: number };
  readonly peakRss: number;
  readonly [field: string]: unknown;
}

function child(mode: 'gc' | 'raw', who: 'turnstate' | 'floor'): ChildReport {
  const tsx = import.meta.resolve('tsx');
  const script = join(HERE, 'memory-child.ts');
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', tsx, script, mode, String(TEXT_MIB), '4', who], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`memory child (${mode}, ${who}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as ChildReport;
}

interface MemoryResult {
  readonly liveRatio: number;
  readonly liveRatioVsJson: number;
  readonly rssRatio: number;
  readonly pass: boolean;
  readonly turnstateGc: ChildReport;
  readonly turnstateRaw: ChildReport;
  readonly floorGc: ChildReport;
  readonly floorRaw: ChildReport;
}

function memory(): MemoryResult {
  const turnstateGc = child('gc', 'turnstate');
  const turnstateRaw = child('raw', 'turnstate');
  const floorGc = child('gc', 'floor');
  const floorRaw = child('raw', 'floor');
  const live = turnstateGc.peakLiveAboveBaseline ?? NaN;
  const liveRatio = live / turnstateGc.textUtf16Bytes;
  return {
    liveRatio,
    liveRatioVsJson: live / turnstateGc.messageJsonChars,
    rssRatio: turnstateRaw.peakRssAboveBaseline / turnstateRaw.textUtf16Bytes,
    pass: liveRatio <= TARGET_MEMORY,
    turnstateGc,
    turnstateRaw,
    floorGc,
    floorRaw,
  };
}

// ---------------------------------------------------------------------------
// 4. The controller bench (another engineer's file), if present
// ---------------------------------------------------------------------------

/**
 * bench/controller.bench.ts is owned by the controller's engineer; its
 * `benchController()` result is printed and stored under `controller`. A
 * failure there is reported, not fatal: the parser numbers above still stand.
 */
async function controller(): Promise<{ status: 'ok' | 'error'; seconds: number; result?: unknown; error?: string }> {
  const t0 = performance.now();
  try {
    const result = await benchController(QUICK ? { turns: 50 } : {});
    return { status: 'ok', seconds: (performance.now() - t0) / 1000, result };
  } catch (error) {
    return { status: 'error', seconds: (performance.now() - t0) / 1000, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

const kb = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;
const mbs = (n: number): string => `${(n / MiB).toFixed(2)} MiB`;

log(`turnstate bench — node ${process.version}, ${os.cpus().length} cpus, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}, git ${gitHead() ?? '?'} + src digest ${srcDigest()}${QUICK ? ', QUICK (numbers not meaningful)' : ''}`);
log(`rounds: ${WARMUP} warm-up + ${RUNS} measured, interleaved, full GC before each run; times are medians; a ratio A ÷ B is the paired median: median over rounds of that round's A time ÷ B time`);

const text = collect(`text ${TEXT_MIB} MiB`, textStreamEvents({ minBytes: TEXT_MIB * MiB }), TEXT_CHUNK);
const tool = collect(`tool ${TOOL_MIB} MiB`, toolStreamEvents(toolInputJson(TOOL_MIB * MiB), TOOL_PIECE), TEXT_CHUNK);
log(`streams: (a) ${text.name}: ${mbs(text.bytes)}, ${text.events} events, ${text.chunks.length} × 64 KiB chunks; (b) ${tool.name} input: ${mbs(tool.bytes)} of SSE, ${tool.events} events`);

log('\n[1] throughput (median ms; µs/event)');
const rows = [await throughput(text, TARGETS_TEXT), await throughput(tool, TARGETS_TOOL)];
const cell = (r: ThroughputRow, k: string): string => `${ms(r.medianMs[k] ?? NaN)} ms  ${(r.usPerEvent[k] ?? NaN).toFixed(3)}`;
table([
  ['stream', 'turnstate', 'floor', 'floor+assemble*', 'SDK MessageStream', 'SDK beta', 'ts/floor', 'ts/SDK', 'ts/beta', 'ts/floor+asm*'],
  ...rows.map((r) => [r.stream, cell(r, 'turnstate'), cell(r, 'floor'), cell(r, 'floorAssemble'), cell(r, 'sdk'), cell(r, 'sdkBeta'), x2(r.vsFloor), x2(r.vsSdk), x2(r.vsSdkBeta), x2(r.vsFloorAssemble)]),
]);
log('  * informational: the floor plus joining deltas and one JSON.parse of the tool input (what assembly cannot avoid)');
for (const r of rows) {
  log(`  ${r.stream}: turnstate ≤ ${r.targets.floor}× floor: ${verdict(r.pass.floor)} (${x2(r.vsFloor)}; informational: median ÷ median ${x2(r.vsFloorOfMedians)}, min ÷ min ${x2(r.vsFloorMin)})` +
    `; ≤ ${r.targets.sdk}× SDK: ${verdict(r.pass.sdk)} (${x2(r.vsSdk)}; median ÷ median ${x2(r.vsSdkOfMedians)}); ≤ ${r.targets.sdk}× SDK beta: ${verdict(r.pass.sdkBeta)} (${x2(r.vsSdkBeta)})`);
}

log('\n[1b] events in: writeEvent of already-parsed events (the same objects every round), and the copying it does to leave them unchanged');
const eventsIn = await Promise.all([text, tool].map(async (stream) => {
  const events = parsedEvents(stream.chunks);
  check('events in', runTurnstate(stream.chunks), runTurnstateEvents(events));
  const times = await interleave([
    { name: 'bytes', run: () => runTurnstate(stream.chunks) },
    { name: 'events', run: () => runTurnstateEvents(events) },
    { name: 'copy', run: () => runCopyOnly(events) },
  ], WARMUP, RUNS);
  const t = (k: string): number => median(times.get(k) ?? []);
  return { stream: stream.name, events: events.length, bytesMs: t('bytes'), eventsMs: t('events'), copyMs: t('copy'), copied: runCopyOnly(events).size };
}));
table([
  ['stream', 'bytes in', 'events in', 'of which copying', 'events copied'],
  ...eventsIn.map((r) => [r.stream, `${ms(r.bytesMs)} ms`, `${ms(r.eventsMs)} ms`, `${ms(r.copyMs)} ms (${((100 * r.copyMs) / r.eventsMs).toFixed(1)}%)`, `${r.copied} of ${r.events}`]),
]);

log(`\n[2] partial tool input: inputJson listener reading jsonSnapshot the value every delta (${TOOL_PIECE}-unit deltas)`);
const part = await partial();
table([
  ['input', 'events', 'partial ms', 'ms/MiB', 'plain ms', 'plain ms/MiB'],
  ...part.rows.map((r) => [`${r.mib} MiB`, String(r.events), ms(r.medianMs), ms(r.msPerMiB), ms(r.plainMs), ms(r.plainMsPerMiB)]),
]);
log(`  linear: ms/MiB at ${PARTIAL_MIB.at(-1)} MiB ÷ at ${PARTIAL_MIB[0]} MiB = ${x2(part.growth)} ≤ ${TARGET_LINEAR}×: ${verdict(part.pass)}`);

const flat = flattening();
log(`  caveat (informational, 1 run each): a listener that reads the string's characters every delta (content.slice(-16)) flattens the rope each time:`);
log(`  ${flat.map((f) => `${f.kib} KiB ${ms(f.ms)} ms (${ms(f.msPerMiB)} ms/MiB)`).join('; ')} — quadratic`);

let sdkRows: SdkPartialRow[] = [];
if (!flag('no-sdk-partial')) {
  log(`  SDK inputJson listener (re-parses the whole buffer per delta — quadratic), capped at ${SDK_PARTIAL_KIB.map((k) => `${k}`).join('/')} KiB, median of ${SDK_PARTIAL_RUNS}:`);
  sdkRows = await sdkPartial();
  table([
    ['input', 'SDK ms', 'SDK ms/MiB', 'beta ms', 'beta ms/MiB', 'turnstate ms', 'ts ms/MiB'],
    ...sdkRows.map((r) => [kb(r.kib * 1024), ms(r.sdkMs), ms(r.sdkMsPerMiB), ms(r.sdkBetaMs), ms(r.sdkBetaMsPerMiB), ms(r.turnstateMs), ms(r.turnstateMsPerMiB)]),
  ]);
}

let mem: MemoryResult | null = null;
if (!flag('no-memory')) {
  log(`\n[3] memory on the ${TEXT_MIB} MiB text stream (child processes, stream generated on the fly, never held)`);
  mem = memory();
  const g = mem.turnstateGc;
  const w = mem.turnstateRaw;
  table([
    ['', 'turnstate', 'floor (reference)'],
    ['live peak above baseline (gc every 4 chunks)', mbs(g.peakLiveAboveBaseline ?? NaN), mbs(mem.floorGc.peakLiveAboveBaseline ?? NaN)],
    ['retained after end() (the message)', mbs(g.retainedAfterEnd), mbs(mem.floorGc.retainedAfterEnd)],
    ['RSS peak above baseline (no forced gc)', mbs(w.peakRssAboveBaseline), mbs(mem.floorRaw.peakRssAboveBaseline)],
    ['heap+external peak above baseline (no forced gc)', mbs(w.peakRawHeapAboveBaseline ?? NaN), mbs(mem.floorRaw.peakRawHeapAboveBaseline ?? NaN)],
  ]);
  log(`  text ${g.textUtf16Bytes / 2} chars = ${mbs(g.textUtf16Bytes)} as UTF-16; JSON.stringify(message).length = ${g.messageJsonChars}`);
  log(`  live peak ÷ text UTF-16 bytes = ${x2(mem.liveRatio)} ≤ ${TARGET_MEMORY}×: ${verdict(mem.pass)}  (÷ JSON chars: ${x2(mem.liveRatioVsJson)}; RSS peak ÷ text UTF-16 bytes: ${x2(mem.rssRatio)}, informational)`);
}

log('\n[4] controller bench (bench/controller.bench.ts, benchController())');
const ctl = await controller();
if (ctl.status === 'error') log(`  ERROR: ${ctl.error}`);
else log(`  ${JSON.stringify(ctl.result)}  (${ctl.seconds.toFixed(1)} s)`);

const loadEnd = os.loadavg();
const totalS = (performance.now() - startedAt) / 1000;
const summary = {
  throughputText: rows[0]?.pass,
  throughputTool: rows[1]?.pass,
  partialLinear: part.pass,
  memory: mem?.pass ?? null,
};
log(`\nsummary: text ts/floor ${verdict(rows[0]?.pass.floor ?? false)} ts/SDK ${verdict(rows[0]?.pass.sdk ?? false)} ts/beta ${verdict(rows[0]?.pass.sdkBeta ?? false)}` +
  ` | tool ts/floor ${verdict(rows[1]?.pass.floor ?? false)} ts/SDK ${verdict(rows[1]?.pass.sdk ?? false)} ts/beta ${verdict(rows[1]?.pass.sdkBeta ?? false)}` +
  ` | partial linear ${verdict(part.pass)} | memory ${mem === null ? 'skipped' : verdict(mem.pass)}`);
log(`load ${loadStart.map((l) => l.toFixed(2)).join(' ')} → ${loadEnd.map((l) => l.toFixed(2)).join(' ')}; total ${totalS.toFixed(1)} s`);

writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: { start: loadStart, end: loadEnd },
      git: gitHead(),
      srcDigest: srcDigest(),
      quick: QUICK,
      rounds: { warmup: WARMUP, measured: RUNS },
      targets: { text: TARGETS_TEXT, tool: TARGETS_TOOL, partialGrowth: TARGET_LINEAR, memory: TARGET_MEMORY },
      ratios: 'paired median: median over measured rounds of (turnstate ms ÷ contender ms) in the same round',
      throughput: rows,
      eventsIn,
      partial: part,
      partialFlatteningListener: flat,
      sdkPartial: sdkRows,
      memory: mem,
      controller: ctl,
      summary,
      totalSeconds: totalS,
    },
    null,
    2,
  )}\n`,
);
log(`results: ${relative(process.cwd(), OUT) || OUT} (not in git unless you add it)`);
