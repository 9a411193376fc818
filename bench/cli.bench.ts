/**
 * Whole-process CLI start-up (issue 12): each command is spawned N times,
 * interleaved with its baseline, so both see the same machine load.
 *
 *   turnstate --help                 vs  node -e 0
 *   turnstate replay --json FILE     vs  the floor script (bench/cli-floor.mjs:
 *                                        read, eventsource-parser, JSON.parse)
 *   --large: the same on a generated ~50 MiB text stream (informational)
 *
 * Options: --runs N (default 15, minimum 15), --warmup N (default 3), --large.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MiB, textStreamEvents } from './gen.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/turnstate.js');
const floor = join(root, 'bench/cli-floor.mjs');
const small = join(root, 'recordings/tool-use-parallel-3.sse'); // 20 events

const { values } = parseArgs({ options: { runs: { type: 'string' }, warmup: { type: 'string' }, large: { type: 'boolean' } } });
const runs = Math.max(15, Number(values.runs ?? 15));
const warmup = Number(values.warmup ?? 3);

interface Pair {
  readonly name: string;
  readonly target: number | null;
  readonly subject: readonly string[];
  readonly baseline: readonly string[];
  readonly baselineName: string;
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

function measure(pair: Pair) {
  for (let i = 0; i < warmup; i++) {
    time(pair.subject);
    time(pair.baseline);
  }
  const subject: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs on a just-warmed cache.
    if (i % 2) {
      baseline.push(time(pair.baseline));
      subject.push(time(pair.subject));
    } else {
      subject.push(time(pair.subject));
      baseline.push(time(pair.baseline));
    }
  }
  const ratio = median(subject) / median(baseline);
  const paired = median(subject.map((s, i) => s / baseline[i]!));
  return { ...pair, subjectMs: median(subject), baselineMs: median(baseline), ratio, paired, samples: { subject, baseline } };
}

const pairs: Pair[] = [
  { name: 'turnstate --help', target: 1.5, subject: [bin, '--help'], baseline: ['-e', '0'], baselineName: 'node -e 0' },
  { name: 'turnstate replay --json (20 events)', target: 1.5, subject: [bin, 'replay', '--json', small], baseline: [floor, small], baselineName: 'floor script' },
];

let dir: string | null = null;
if (values.large) {
  dir = mkdtempSync(join(tmpdir(), 'turnstate-cli-bench-'));
  const large = join(dir, 'text-large.sse');
  writeFileSync(large, [...textStreamEvents({ minBytes: 50 * MiB, seed: 1 })].join(''));
  pairs.push({ name: 'turnstate replay --json (~50 MiB text)', target: null, subject: [bin, 'replay', '--json', large], baseline: [floor, large], baselineName: 'floor script' });
}

try {
  console.log(`node ${process.version}; median of ${runs} after ${warmup} warm-ups, each run interleaved with its baseline`);
  for (const pair of pairs) {
    const r = measure(pair);
    const verdict = r.target === null ? '(informational)' : r.ratio <= r.target ? `target ≤ ${r.target}×: met` : `target ≤ ${r.target}×: NOT met`;
    console.log(`${r.name.padEnd(40)} ${r.subjectMs.toFixed(1).padStart(7)} ms   ${r.baselineName.padEnd(13)} ${r.baselineMs.toFixed(1).padStart(7)} ms   ${r.ratio.toFixed(2)}× (paired ${r.paired.toFixed(2)}×)  ${verdict}`);
  }
} finally {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
