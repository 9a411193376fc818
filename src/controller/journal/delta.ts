/**
 * One journal record per durable step: what changed in the {@link RunState}
 * since the previous record, so a write costs what the step added — not the
 * whole transcript again.
 *
 * WHY THIS GIVES EXACTLY-ONCE TOOL RUNS (the argument the controller rests on):
 *
 * 1. Every step builds a new RunState from the old one (src/controller/steps.ts
 *    never mutates), so "what changed" is exactly the top-level fields whose
 *    value is a different object, and for the append-mostly arrays the suffix
 *    from the first element that is a different object. Applying those deltas
 *    in order to the snapshot rebuilds the very state that was saved
 *    (`load` = snapshot + deltas; test/controller/journal/delta.test.ts checks
 *    it on random step sequences).
 * 2. A record is acknowledged (the lease's `save` resolves) only after it is
 *    written in full and fdatasync'd. A write that comes up short is cut back
 *    off the file (ftruncate to the previous length) and fails the run with
 *    `checkpoint_failed`; after the first failure nothing more is written or
 *    run. A record torn by a crash can only be the last line, and `load`
 *    ignores a last line that is not complete — it was never acknowledged.
 * 3. The controller runs a tool only after the record holding its `started`
 *    entry is acknowledged, and emits `tool_end` only after the record holding
 *    its result is. So after any crash the journal says, for every call:
 *    `pending` — it never ran; `done` — it ran, and its result is there to
 *    reuse; `started` — it may or may not have run: in doubt, by design,
 *    re-run only if the tool is `retrySafe` or a decision says so.
 * 4. One owner per run (the lease): no second process appends to the same
 *    journal or runs the same pending call.
 * 5. Compaction writes a full snapshot to a temp file, fsyncs it and renames it
 *    over the journal (then fsyncs the directory): a crash leaves the old
 *    journal or the new snapshot, each a complete record of the same state.
 */
import type { RunState } from '../types.js';

/** The arrays that grow step by step; a delta carries their changed suffix only. */
export const APPENDED_KEYS = ['messages', 'segments', 'retries', 'toolCalls', 'batch', 'dropped'] as const satisfies readonly (keyof RunState)[];
type AppendedKey = (typeof APPENDED_KEYS)[number];
const APPENDED = new Set<string>(APPENDED_KEYS);
const FIELDS: Record<keyof RunState, true> = {
  runId: true, startedAt: true, params: true, maxTokens: true, messages: true, phase: true, nextRequest: true, continuations: true, toolCallCount: true,
  usage: true, segments: true, retries: true, toolCalls: true, batch: true, dropped: true, lastMessage: true, outcome: true, settings: true,
};
const isField = (key: string): boolean => Object.hasOwn(FIELDS, key);

export interface StateDelta {
  /** Top-level fields replaced whole. */
  set?: Partial<RunState>;
  /** Arrays cut to `[0]` elements, then `[1]` appended. */
  splice?: Partial<Record<AppendedKey, [number, unknown[]]>>;
}

/** What changed from `prev` to `next` (both states the controller built; compared by identity). */
export function diffState(prev: RunState, next: RunState): StateDelta {
  const delta: StateDelta = {};
  for (const key of Object.keys(next) as (keyof RunState)[]) {
    const a = prev[key];
    const b = next[key];
    if (a === b) continue;
    if (APPENDED.has(key)) {
      // RunState's appended fields are arrays by type (and by schema, for a loaded state).
      const x = a as readonly unknown[];
      const y = b as readonly unknown[];
      const n = Math.min(x.length, y.length);
      let i = 0;
      while (i < n && x[i] === y[i]) i++;
      if (i === x.length && i === y.length) continue;
      (delta.splice ??= {})[key as AppendedKey] = [i, y.slice(i)];
    } else {
      (delta.set ??= {} as Partial<RunState>)[key] = b as never;
    }
  }
  return delta;
}

/**
 * Applies a delta to a state that the caller owns (a freshly parsed snapshot),
 * in place. Returns an error message for a delta that does not fit.
 */
export function applyDelta(state: Record<string, unknown>, delta: StateDelta): string | null {
  for (const [key, value] of Object.entries(delta.set ?? {})) {
    if (!isField(key)) return `set of unknown field ${JSON.stringify(key)}`;
    state[key] = value;
  }
  for (const [key, change] of Object.entries(delta.splice ?? {})) {
    if (!APPENDED.has(key)) return `splice of unknown field ${key}`;
    const array = state[key];
    if (!Array.isArray(array)) return `splice of ${key}, which is not an array`;
    const [from, items] = change as [unknown, unknown];
    if (!Number.isInteger(from) || (from as number) < 0 || (from as number) > array.length || !Array.isArray(items)) return `splice of ${key} at ${String(from)} does not fit (length ${array.length})`;
    array.length = from as number;
    for (const item of items) array.push(item);
  }
  return null;
}
