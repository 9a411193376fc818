import { ControllerError, type BudgetName } from './errors.js';
import { canonicalJson } from './history.js';
import type { BudgetSettings, RunState, ToolCallRecord } from './types.js';
import { describe, nonNegativeSetting } from './timers.js';
import { totalTokens } from './usage.js';

/**
 * Caps a caller sets. Everything is optional; unset means no cap. The deadline
 * is given relative (`deadlineMs`, from the start of the run — or of the resume
 * when passed to `resume`) or absolute (`deadlineAt`, epoch ms).
 */
export interface Budgets {
  maxContinuations?: number | undefined;
  maxToolCalls?: number | undefined;
  maxTotalTokens?: number | undefined;
  deadlineMs?: number | undefined;
  deadlineAt?: number | Date | undefined;
}

/** A count cap given: Infinity is no cap; NaN, negative or fractional is `invalid_options`. */
function cap(value: number, name: string): number | null {
  if (value === Infinity) return null;
  return nonNegativeSetting(value, `budgets.${name}`, true);
}

function deadline(b: Budgets, now: number): number | null | undefined {
  if (b.deadlineAt !== undefined) {
    const at = b.deadlineAt instanceof Date ? b.deadlineAt.getTime() : b.deadlineAt;
    // Number.isFinite is false for anything but a finite number: a string or an Invalid Date's NaN alike.
    if (!Number.isFinite(at)) throw new ControllerError('invalid_options', `budgets.deadlineAt must be a valid Date or epoch ms, got ${describe(at)}`);
    return at;
  }
  if (b.deadlineMs === undefined) return undefined;
  if (b.deadlineMs === Infinity) return null;
  return now + nonNegativeSetting(b.deadlineMs, 'budgets.deadlineMs');
}

/**
 * Budgets → the JSON-safe form a checkpoint keeps; `base` supplies what `budgets` leaves out.
 * Out-of-range values are an `invalid_options` error naming the budget, never silently no cap.
 */
export function resolveBudgets(budgets: Budgets | undefined, now: number, base?: BudgetSettings): BudgetSettings {
  const b = budgets ?? {};
  const deadlineAt = deadline(b, now);
  return {
    maxContinuations: b.maxContinuations !== undefined ? cap(b.maxContinuations, 'maxContinuations') : (base?.maxContinuations ?? null),
    maxToolCalls: b.maxToolCalls !== undefined ? cap(b.maxToolCalls, 'maxToolCalls') : (base?.maxToolCalls ?? null),
    maxTotalTokens: b.maxTotalTokens !== undefined ? cap(b.maxTotalTokens, 'maxTotalTokens') : (base?.maxTotalTokens ?? null),
    deadlineAt: deadlineAt === undefined ? (base?.deadlineAt ?? null) : deadlineAt,
  };
}

function budgetError(budget: BudgetName, limit: number, used: number, message: string): ControllerError {
  return new ControllerError('budget_exceeded', message, { budget, limit, used });
}

/**
 * Before a request: the budget it would break, or null. `continuations` already
 * counts the request about to be made, so the check is the same on a resume.
 * A turn that *finished* over the token budget is not failed after the fact:
 * budgets stop further spending, they do not discard a completed answer.
 */
export function checkRequestBudget(state: RunState, now: number): ControllerError | null {
  const { budgets } = state.settings;
  if (budgets.deadlineAt !== null && now >= budgets.deadlineAt) {
    return budgetError('deadline', budgets.deadlineAt, now, `the deadline passed before request ${state.segments.length + 1}`);
  }
  if (budgets.maxContinuations !== null && state.continuations > budgets.maxContinuations) {
    return budgetError(
      'continuations',
      budgets.maxContinuations,
      state.continuations,
      `continuation ${state.continuations} (${state.nextRequest}) would pass the cap of ${budgets.maxContinuations}`,
    );
  }
  const tokens = totalTokens(state.usage);
  if (budgets.maxTotalTokens !== null && state.segments.length > 0 && tokens >= budgets.maxTotalTokens) {
    return budgetError('tokens', budgets.maxTotalTokens, tokens, `${tokens} tokens used, cap ${budgets.maxTotalTokens}: no further request`);
  }
  return null;
}

/** Before a tool batch: whether running it would pass the tool-call cap. Nothing of the batch runs if so. */
export function checkToolBudget(state: RunState, batchSize: number, now: number): ControllerError | null {
  const { budgets } = state.settings;
  if (budgets.deadlineAt !== null && now >= budgets.deadlineAt) {
    return budgetError('deadline', budgets.deadlineAt, now, 'the deadline passed before the tool calls ran');
  }
  const wanted = state.toolCallCount + batchSize;
  if (budgets.maxToolCalls !== null && wanted > budgets.maxToolCalls) {
    return budgetError('tool_calls', budgets.maxToolCalls, wanted, `${wanted} tool calls would pass the cap of ${budgets.maxToolCalls}`);
  }
  return null;
}

/** The error for a deadline that fired while a request or tool was in flight. */
export function deadlineError(state: RunState, now: number, during: string): ControllerError {
  const limit = state.settings.budgets.deadlineAt ?? now;
  return budgetError('deadline', limit, now, `the deadline passed during ${during}`);
}

/**
 * Stuck-loop check over the whole run's calls in order, `batch` last: the
 * same tool with identical (canonical) input `threshold` times in a row.
 * Only the new batch can trip it (earlier streaks were checked when they
 * arrived), so of `previous` only the streak running into the batch matters:
 * it is read backwards from the end and stops at the first different call —
 * the work is the batch and that streak, not the whole run (a long run would
 * otherwise canonicalise every earlier input again on every turn).
 */
export function findStuckLoop(previous: readonly ToolCallRecord[], batch: readonly { id: string; name: string; input: unknown }[], threshold: number): ControllerError | null {
  if (threshold <= 0 || batch.length === 0) return null;
  const signature = (call: { name: string; input: unknown }): string => `${call.name}\u0000${canonicalJson(call.input)}`;
  let last = signature(batch[0]!);
  let streak = 1;
  for (let i = previous.length - 1; i >= 0 && signature(previous[i]!) === last; i--) streak++;
  for (let i = 0; i < batch.length; i++) {
    const call = batch[i]!;
    if (i > 0) {
      const current = signature(call);
      streak = current === last ? streak + 1 : 1;
      last = current;
    }
    if (streak >= threshold) {
      return new ControllerError(
        'stuck_loop',
        `tool '${call.name}' called ${streak} times in a row with identical input`,
        { toolCall: { id: call.id, name: call.name, input: call.input } },
      );
    }
  }
  return null;
}

/**
 * The first tool_use id of `batch` seen before in the run (or twice within the
 * batch). The earlier calls are probed against the batch's few ids rather than
 * collected into a set of their own: no allocation that grows with the run.
 */
export function findDuplicateId(previous: readonly ToolCallRecord[], batch: readonly { id: string }[]): ControllerError | null {
  if (batch.length === 0) return null;
  const wanted = new Set(batch.map((call) => call.id));
  const before = new Set<string>();
  for (const call of previous) if (wanted.has(call.id)) before.add(call.id);
  const seen = new Set<string>();
  for (const call of batch) {
    if (before.has(call.id) || seen.has(call.id)) {
      return new ControllerError('duplicate_tool_use_id', `tool_use id ${call.id} appeared twice in one run`, { toolUseId: call.id });
    }
    seen.add(call.id);
  }
  return null;
}
