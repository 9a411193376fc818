import { expect, it } from 'vitest';
import { benchController } from '../../bench/controller.bench.js';

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
  expect(result.gcMsPerTurn.noStore).toBeGreaterThanOrEqual(0);
  // The long run: two rounds, each pairing early turns of one run with late turns of another, the floor sampled beside them.
  expect(result.long.rounds).toBe(2);
  for (const key of ['earlyMedianMs', 'lateMedianMs', 'earlyCpuMs', 'lateCpuMs', 'appendEarlyMs', 'appendLateMs', 'lateOverEarly', 'lateOverAppend'] as const) {
    expect(result.long[key]).toBeGreaterThan(0);
  }
  expect(result.long.spread.lateOverEarly.min).toBeLessThanOrEqual(result.long.spread.lateOverEarly.max);
  expect(result.long.journalBytes).toBeGreaterThan(60 * 2048); // 60 turns of ~2 KB text went into the journal
}, 120_000);
