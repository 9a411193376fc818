/**
 * The controller's effects (src/controller/effects.ts) on a Restate context.
 *
 * - Each model request is one `ctx.run` named `model <segment>.<attempt>`; it
 *   journals the assembled segment or the request's typed failure, so a
 *   retried invocation replays both (the machine retries a failed stream
 *   itself: a failure is journaled, never thrown into Restate's own retry).
 * - Each tool call is two `ctx.run`s, issued together: `tool <id> started` (a
 *   marker, durable before the tool runs: the result step awaits it, and a
 *   `ctx.run` resolves only once the server has it) and `tool <id>` with the
 *   result. A replay that finds the marker but no result
 *   knows the tool was cut off mid-execution: the **in-doubt policy** re-runs a
 *   `retrySafe` tool and, for any other, journals "in doubt" and stops the run
 *   with `tool_needs_decision` once its sibling calls have finished (so their
 *   recorded results are kept); the `decide` handler resumes it.
 * - Backoff is `ctx.sleep` (a durable timer), randomness `ctx.rand` (seeded
 *   per invocation, no journal entry).
 * - Time: one `ctx.date.now()` at the start, then the clock advances only by
 *   journaled values (each step's end time, each sleep), so every decision the
 *   machine bases on time (budgets) reads the same value on a replay. Inside a
 *   step that really runs, `now` is the wall clock, so durations are real.
 * - The journal (CheckpointStore) keeps the latest checkpoint in memory: the
 *   virtual object is the one writer per conversation, and Restate's journal is
 *   what makes the run reconstructible. The handler stores the final state.
 */
import type { Context } from '@restatedev/restate-sdk';
import { ControllerError } from '../controller/errors.js';
import { segmentFailureFromJSON, segmentFailureJSON, type RunEffects, type SegmentFailureJSON } from '../controller/effects.js';
import { ownHolder, type CheckpointLease, type CheckpointStore } from '../controller/journal/store.js';
import type { Checkpoint } from '../controller/journal/schema.js';
import { SegmentFailure } from '../controller/retry.js';
import type { ReceivedSegment } from '../controller/steps.js';
import type { ToolCallRecord, ToolResult } from '../controller/types.js';

type ModelEntry = { readonly ok: true; readonly segment: ReceivedSegment; readonly at: number } | { readonly ok: false; readonly failure: SegmentFailureJSON; readonly at: number };
type ToolEntry = { readonly result: ToolResult; readonly at: number } | { readonly inDoubt: true; readonly at: number };

/** A store that keeps the run's latest checkpoint in memory: Restate's journal is the durable record. */
export class InvocationCheckpointStore implements CheckpointStore {
  latest: Checkpoint | null = null;

  async acquire(): Promise<CheckpointLease> {
    return {
      holder: ownHolder(0),
      tookOver: null,
      save: async (checkpoint) => {
        this.latest = checkpoint;
      },
      release: async () => {},
    };
  }

  async load(): Promise<Checkpoint | null> {
    return null;
  }
}

export interface RestateEffects extends RunEffects {
  readonly journal: InvocationCheckpointStore;
}

/**
 * The effects of one run inside a Restate handler. `startedAt` is the
 * journaled start time (`await ctx.date.now()`); `retrySafe` says which tools
 * may run again after being cut off.
 */
export function restateEffects(ctx: Context, startedAt: number, retrySafe: (toolName: string) => boolean): RestateEffects {
  let clock = startedAt;
  /** Steps really executing (not replayed): while one runs, `now` is the wall clock. */
  let executing = 0;
  const advance = (at: number): void => {
    clock = Math.max(clock, at);
  };
  const executed = async <T>(perform: () => Promise<T>): Promise<T> => {
    executing += 1;
    try {
      return await perform();
    } finally {
      executing -= 1;
    }
  };

  /** Tool calls of this invocation still running (an in-doubt call waits for them before it stops the batch). */
  const running = new Map<string, Promise<unknown>>();
  const inDoubt: ToolCallRecord[] = [];

  const stopForDecision = async (call: ToolCallRecord): Promise<never> => {
    inDoubt.push(call);
    running.delete(call.id);
    while (running.size > 0) await Promise.allSettled([...running.values()]);
    // Let the batch runner record the siblings' results (microtasks after theirs settled) before the batch stops.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const toolCalls = inDoubt.map(({ id, name, input }) => ({ id, name, input }));
    const named = toolCalls.map((c) => `${c.id} ('${c.name}')`).join(', ');
    throw new ControllerError(
      'tool_needs_decision',
      `tool call ${named} was cut off mid-execution (the worker died after its start was journaled) and the tool is not retrySafe: ` +
        `call decide with { decisions: { '<id>': 'rerun' | { content, is_error } } }`,
      { toolCall: toolCalls[0]!, toolCalls, toolUseId: toolCalls[0]!.id },
    );
  };

  const journal = new InvocationCheckpointStore();
  return {
    journal,
    now: () => (executing > 0 ? Date.now() : clock),
    random: () => ctx.rand.random(),
    sleep: async (ms) => {
      await ctx.sleep(ms);
      clock += ms;
    },
    modelRequest: async (request, perform) => {
      const entry = await ctx.run<ModelEntry>(`model ${request.segment}.${request.attempt}`, () =>
        executed(async (): Promise<ModelEntry> => {
          try {
            return { ok: true, segment: await perform(), at: Date.now() };
          } catch (error) {
            if (error instanceof SegmentFailure) return { ok: false, failure: segmentFailureJSON(error), at: Date.now() };
            throw error;
          }
        }),
      );
      advance(entry.at);
      if (!entry.ok) throw segmentFailureFromJSON(entry.failure);
      return entry.segment;
    },
    toolCall: async (call, perform) => {
      // Both commands are issued here, together, before anything is awaited: Restate replays commands by their
      // order, so the order must not depend on when the marker's acknowledgement arrives (parallel calls would
      // interleave differently on a replay). The result step waits for the marker to be durable itself.
      let fresh = false;
      const marker = ctx.run(`tool ${call.id} started`, async () => {
        fresh = true;
        return null;
      });
      const step = ctx.run<ToolEntry>(`tool ${call.id}`, () =>
        executed(async (): Promise<ToolEntry> => {
          await marker;
          if (!fresh && !retrySafe(call.name)) return { inDoubt: true, at: Date.now() };
          return { result: await perform(), at: Date.now() };
        }),
      );
      running.set(call.id, step);
      let entry: ToolEntry;
      try {
        entry = await step;
      } finally {
        running.delete(call.id);
      }
      advance(entry.at);
      if ('inDoubt' in entry) return stopForDecision(call);
      return entry.result;
    },
  };
}
