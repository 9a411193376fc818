import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { benchController, distController, staleDist } from '../../bench/controller.bench.js';

// Not a timed test: the numbers depend on the machine. It only checks that the benchmark runs and measures what it says.
it('the controller benchmark runs a typical turn and reports its overhead', async () => {
  const result = await benchController({ turns: 6, longTurns: 60, rounds: 2 });
  expect(result.segmentsPerTurn).toBe(2);
  expect(result.checkpointsPerTurn).toBe(5);
  for (const key of ['perTurnMs', 'perSegmentMs', 'perTurnNoFsyncMs', 'perTurnSyncMs', 'perTurnNoStoreMs', 'perTurnMemoryMs', 'checkpointMsPerTurn'] as const) {
    expect(result[key]).toBeGreaterThan(0);
  }
  expect(result.perTurnControllerCpuMs).toBeGreaterThan(0);
  expect(result.perTurnControllerMs).toBeGreaterThan(0);
  expect(result.spread.perTurnControllerMs.min).toBeLessThanOrEqual(result.spread.perTurnControllerMs.max);
  // The A4 figure times the built controller; the same turn from src (through tsx) is measured beside it.
  expect(result.controllerFrom.perTurnControllerMs).toMatch(/^dist\/src/);
  expect(result.perTurnControllerSrcMs).toBeGreaterThan(0);
  expect(result.perTurnControllerSrcCpuMs).toBeGreaterThan(0);
  expect(result.gcMsPerTurn.noStore).toBeGreaterThanOrEqual(0);
  // The long run: two rounds, each pairing early turns of one run with late turns of another, the floor sampled beside them.
  expect(result.long.rounds).toBe(2);
  for (const key of ['earlyMedianMs', 'lateMedianMs', 'earlyCpuMs', 'lateCpuMs', 'appendEarlyMs', 'appendLateMs', 'lateOverEarly', 'lateOverAppend'] as const) {
    expect(result.long[key]).toBeGreaterThan(0);
  }
  expect(result.long.spread.lateOverEarly.min).toBeLessThanOrEqual(result.long.spread.lateOverEarly.max);
  expect(result.long.journalBytes).toBeGreaterThan(60 * 2048); // 60 turns of ~2 KB text went into the journal
}, 120_000);

it('the controller-alone figure refuses a dist older than its source, naming the file and saying to build', async () => {
  const root = await mkdtemp(join(tmpdir(), 'turnstate-stale-'));
  try {
    await mkdir(join(root, 'src', 'controller'), { recursive: true });
    await mkdir(join(root, 'dist', 'src', 'controller'), { recursive: true });
    await writeFile(join(root, 'src', 'controller', 'index.ts'), 'export {};\n');
    expect(staleDist(root)).toBe(`${join('src', 'controller', 'index.ts')} has no ${join('dist', 'src', 'controller', 'index.js')}`);
    await writeFile(join(root, 'dist', 'src', 'controller', 'index.js'), 'export const startRun = () => null;\n');
    const past = new Date(Date.now() - 60_000);
    await utimes(join(root, 'dist', 'src', 'controller', 'index.js'), past, past);
    expect(staleDist(root)).toBe(`${join('src', 'controller', 'index.ts')} is newer than ${join('dist', 'src', 'controller', 'index.js')}`);
    await expect(distController(root)).rejects.toThrow(/dist is stale .*run `npm run build` first/);
    const now = new Date();
    await utimes(join(root, 'dist', 'src', 'controller', 'index.js'), now, now);
    expect(staleDist(root)).toBeNull();
    expect(typeof (await distController(root)).startRun).toBe('function');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
