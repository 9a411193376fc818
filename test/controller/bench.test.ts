import { expect, it } from 'vitest';
import { benchController } from '../../bench/controller.bench.js';

// Not a timed test: the numbers depend on the machine. It only checks that the benchmark runs and measures what it says.
it('the controller benchmark runs a typical turn and reports its overhead', async () => {
  const result = await benchController({ turns: 5 });
  expect(result.segmentsPerTurn).toBe(2);
  expect(result.checkpointsPerTurn).toBe(5);
  for (const key of ['perTurnMs', 'perSegmentMs', 'perTurnNoFsyncMs', 'perTurnSyncMs', 'perTurnNoStoreMs', 'perTurnMemoryMs', 'checkpointMsPerTurn'] as const) {
    expect(result[key]).toBeGreaterThan(0);
  }
});
