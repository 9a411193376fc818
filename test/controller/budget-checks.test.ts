import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateId, findStuckLoop } from '../../src/controller/budget.js';
import type { ControllerError } from '../../src/controller/errors.js';
import type { ToolCallRecord } from '../../src/controller/types.js';

type Call = Pick<ToolCallRecord, 'id' | 'name' | 'input'>;
const record = (call: Call): ToolCallRecord => ({ ...call, segment: 0, status: 'done', result: { content: 'ok', is_error: false }, attempts: 1, startedAt: 0, durationMs: 0 });

/*
 * Oracles: the definitions written the plain way — the whole run scanned in
 * order (a streak over every earlier call; a set of every earlier id). The
 * checks the controller runs each turn must give the same answers while only
 * looking at the batch and the streak that runs into it.
 */
const sortedJson = (v: unknown): string =>
  v === null || typeof v !== 'object'
    ? JSON.stringify(v)
    : Array.isArray(v)
      ? `[${v.map(sortedJson).join(',')}]`
      : `{${Object.keys(v).sort().map((key) => `${JSON.stringify(key)}:${sortedJson((v as Record<string, unknown>)[key])}`).join(',')}}`;

function stuckOracle(previous: readonly Call[], batch: readonly Call[], threshold: number): { id: string; streak: number } | null {
  if (threshold <= 0) return null;
  const calls = [...previous, ...batch];
  let streak = 0;
  let last = '';
  for (let i = 0; i < calls.length; i++) {
    const signature = `${calls[i]!.name}\u0000${sortedJson(calls[i]!.input)}`;
    streak = signature === last ? streak + 1 : 1;
    last = signature;
    if (streak >= threshold && i >= previous.length) return { id: calls[i]!.id, streak };
  }
  return null;
}

function duplicateOracle(previous: readonly Call[], batch: readonly Call[]): string | null {
  const seen = new Set(previous.map((call) => call.id));
  for (const call of batch) {
    if (seen.has(call.id)) return call.id;
    seen.add(call.id);
  }
  return null;
}

// Few names, inputs and ids, so streaks and repeats are common; key order varies (canonical JSON must not care).
const callArb = fc.record({
  id: fc.constantFrom('t1', 't2', 't3', 't4', 't5', 't6'),
  name: fc.constantFrom('a', 'b'),
  input: fc.oneof(fc.constant({ x: 1, y: 2 }), fc.constant({ y: 2, x: 1 }), fc.constant({ x: 2 }), fc.constant({})),
});
const caseArb = fc.record({ previous: fc.array(callArb, { maxLength: 12 }), batch: fc.array(callArb, { maxLength: 5 }), threshold: fc.integer({ min: 0, max: 5 }) });

const stuckProperty = (impl: typeof findStuckLoop) =>
  fc.property(caseArb, ({ previous, batch, threshold }) => {
    const got = impl(previous.map(record), batch, threshold);
    const want = stuckOracle(previous, batch, threshold);
    expect(got === null ? null : { id: (got.toolCall as Call).id, streak: Number(/called (\d+) times/.exec(got.message)![1]) }).toEqual(want);
  });

const duplicateProperty = (impl: typeof findDuplicateId) =>
  fc.property(caseArb, ({ previous, batch }) => {
    const got: ControllerError | null = impl(previous.map(record), batch);
    expect(got?.toolUseId ?? null).toBe(duplicateOracle(previous, batch));
  });

describe('the per-turn tool-call checks', () => {
  it('findStuckLoop gives what a scan of the whole run gives (property); a check that ignores the earlier calls is caught', () => {
    fc.assert(stuckProperty(findStuckLoop), { numRuns: 2000 });
    const batchOnly: typeof findStuckLoop = (_previous, batch, threshold) => findStuckLoop([], batch, threshold);
    expect(fc.check(stuckProperty(batchOnly), { numRuns: 2000 }).failed).toBe(true);
    // …and one that looks back only one call (a streak of three needs two earlier ones)
    const oneBack: typeof findStuckLoop = (previous, batch, threshold) => findStuckLoop(previous.slice(-1), batch, threshold);
    expect(fc.check(stuckProperty(oneBack), { numRuns: 2000 }).failed).toBe(true);
  });

  it('findDuplicateId gives what a set of every earlier id gives (property); one that misses repeats inside the batch is caught', () => {
    fc.assert(duplicateProperty(findDuplicateId), { numRuns: 2000 });
    const acrossOnly: typeof findDuplicateId = (previous, batch) => {
      for (const call of batch) if (previous.some((p) => p.id === call.id)) return findDuplicateId(previous, [call]);
      return null;
    };
    expect(fc.check(duplicateProperty(acrossOnly), { numRuns: 2000 }).failed).toBe(true);
  });

  it('the stuck-loop check reads only the streak that runs into the batch, not every earlier input', () => {
    // An early call whose input counts how often it is read: a long run must not canonicalise it again each turn.
    let reads = 0;
    const watched = new Proxy({ q: 1 }, { ownKeys: (target) => (reads++, Reflect.ownKeys(target)) });
    const previous = [record({ id: 't0', name: 'lookup', input: watched }), ...Array.from({ length: 200 }, (_, i) => record({ id: `t${i + 1}`, name: 'lookup', input: { k: i } }))];
    expect(findStuckLoop(previous, [{ id: 'tnew', name: 'lookup', input: { k: 199 } }], 3)).toBeNull();
    expect(reads).toBe(0);
    // The streak itself is still read in full: two earlier identical calls plus this one trip a threshold of 3.
    const streak = [...previous, record({ id: 'tx', name: 'lookup', input: { k: 199 } })];
    expect(findStuckLoop(streak, [{ id: 'tnew', name: 'lookup', input: { k: 199 } }], 3)?.message).toBe("tool 'lookup' called 3 times in a row with identical input");
  });
});
