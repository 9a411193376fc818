/**
 * Whole-process CLI timings (issue 12): each command is spawned N times,
 * interleaved with its baselines (the order rotates every round), so all see
 * the same machine load.
 *
 *   turnstate --help                 vs  node -e 0
 *   turnstate replay --json FILE     vs  the floor script (bench/cli-floor.mjs:
 *                                        read, eventsource-parser, JSON.parse)
 *   --large: replay --json of a generated ~52 MB text stream and a ~37 MB
 *            tool-input stream (16-character input_json_deltas), vs the floor
 *            script and vs the SDK script (bench/cli-sdk.mjs: read the file
 *            through the SDK's MessageStream, print the final message)
 *
 * A ratio is the paired median: the median over rounds of that round's
 * subject time ÷ baseline time (they ran back to back); the verdict uses it.
 * Medians of the times are shown too, and the ratio of those (informational).
 *
 * Options: --runs N (default 15, minimum 15), --warmup N (default 3), --large,
 * --large-runs N (default 7, minimum 5), TURNSTATE_NO_BUNDLE=1 (passed on: the CLI without its bundle).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MiB, textStreamEvents, toolInputJson, toolStreamEvents } from './gen.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/turnstate.js');
const floor = join(root, 'bench/cli-floor.mjs');
const sdk = join(root, 'bench/cli-sdk.mjs');
const small = join(root, 'recordings/tool-use-parallel-3.sse'); // 20 events

const { values } = parseArgs({ options: { runs: { type: 'string' }, warmup: { type: 'string' }, large: { type: 'boolean' }, 'large-runs': { type: 'string' } } });
const runs = Math.max(15, Number(values.runs ?? 15));
const largeRuns = Math.max(5, Number(values['large-runs'] ?? 7));
const warmup = Number(values.warmup ?? 3);

interface Baseline {
  readonly name: string;
  readonly args: readonly string[];
  /** subject ÷ this baseline must be at most this; null: informational. */
  readonly target: number | null;
}

interface Case {
  readonly name: string;
  readonly subject: readonly string[];
  readonly baselines: readonly Baseline[];
  readonly runs: number;
  readonly warmup: number;
}

function time(args: readonly string[]): number {
  const start = performance.now();
  const child = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const ms = performance.now() - start;
  // Exit 0 or 1 (a replay of a broken stream) are both measured runs; anything else is a broken bench.
  if (child.status !== 0 && child.status !== 1) throw new Error(`${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  return ms;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function measure(c: Case) {
  const all = [c.subject, ...c.baselines.map((b) => b.args)];
  const samples = all.map((): number[] => []);
  for (let round = 0; round < c.warmup + c.runs; round++) {
    // Rotate which goes first, so none always runs on a just-warmed cache.
    for (let k = 0; k < all.length; k++) {
      const i = (round + k) % all.length;
      const ms = time(all[i]!);
      if (round >= c.warmup) samples[i]!.push(ms);
    }
  }
  const [subject, ...baselines] = samples as [number[], ...number[][]];
  return {
    subjectMs: median(subject),
    baselines: c.baselines.map((b, i) => {
      const times = baselines[i]!;
      return { ...b, ms: median(times), paired: median(subject.map((s, j) => s / times[j]!)), ofMedians: median(subject) / median(times) };
    }),
  };
}

const cases: Case[] = [
  { name: 'turnstate --help', subject: [bin, '--help'], baselines: [{ name: 'node -e 0', args: ['-e', '0'], target: 1.5 }], runs, warmup },
  { name: 'turnstate replay --json (20 events)', subject: [bin, 'replay', '--json', small], baselines: [{ name: 'floor script', args: [floor, small], target: 1.5 }], runs, warmup },
];

let dir: string | null = null;
if (values.large) {
  dir = mkdtempSync(join(tmpdir(), 'turnstate-cli-bench-'));
  const text = join(dir, 'text-large.sse');
  const tool = join(dir, 'tool-large.sse');
  writeFileSync(text, [...textStreamEvents({ minBytes: 50 * MiB, seed: 1 })].join(''));
  writeFileSync(tool, [...toolStreamEvents(toolInputJson(Math.round(3.65 * MiB)), 16)].join(''));
  for (const [name, file] of [['~52 MB text', text], ['~37 MB tool input', tool]] as const) {
    cases.push({
      name: `turnstate replay --json (${name})`,
      subject: [bin, 'replay', '--json', file],
      baselines: [
        { name: 'floor script', args: [floor, file], target: 1.3 },
        { name: 'SDK script', args: [sdk, file], target: 0.4 },
      ],
      runs: largeRuns,
      warmup: 1,
    });
  }
}

try {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`node ${process.version}; load ${load}${process.env['TURNSTATE_NO_BUNDLE'] ? '; TURNSTATE_NO_BUNDLE=1' : ''}`);
  console.log('times: medians after warm-ups, each run interleaved with its baselines; ratio = paired median (median over rounds of subject ÷ baseline in that round), which the verdict uses');
  for (const c of cases) {
    const r = measure(c);
    console.log(`${c.name} (${c.runs} rounds): ${r.subjectMs.toFixed(1)} ms`);
    for (const b of r.baselines) {
      const verdict = b.target === null ? '(informational)' : b.paired <= b.target ? `target ≤ ${b.target}×: met` : `target ≤ ${b.target}×: NOT met`;
      console.log(`  ÷ ${b.name.padEnd(13)} ${b.ms.toFixed(1).padStart(8)} ms   ${b.paired.toFixed(2)}× (median ÷ median ${b.ofMedians.toFixed(2)}×)  ${verdict}`);
    }
  }
  console.log(`load at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
