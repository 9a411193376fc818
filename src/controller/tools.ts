import pLimit from 'p-limit';
import type { BetaTool, BetaToolUnion, BetaToolUseBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { InvalidToolInput } from '../assemble/types.js';
import { ControllerError } from './errors.js';
import { setLongTimeout, toolTimeoutSetting } from './timers.js';
import { errorResult, outputResult, thrownResult } from './tool-result.js';
import type { RunnableTool, ToolCallRecord, ToolResult } from './types.js';

/**
 * What to do, on resume, with a call journaled as started but without a result
 * (the process died while it ran, or just before):
 * - `'rerun'`: run it again (as if the tool were `retrySafe`);
 * - a {@link ToolResult}: record this as its result without running it (e.g.
 *   after checking by hand that the side effect did happen).
 */
export type ToolDecision = 'rerun' | ToolResult;

/** Fields of a runnable tool that are turnstate's or the SDK runner's, not the API's. */
const LOCAL_FIELDS = new Set(['run', 'parse', 'close', 'retrySafe', 'timeoutMs']);

/**
 * The definition sent to the API for a runnable tool: every field but the
 * local ones, so `betaTool`/`betaZodTool` extras (`strict`, `cache_control`,
 * `type: 'custom'`) go through as the SDK would send them.
 */
export function toolDefinition(tool: RunnableTool): BetaToolUnion {
  const definition: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tool)) {
    if (!LOCAL_FIELDS.has(key) && typeof value !== 'function') definition[key] = value;
  }
  return definition as unknown as BetaTool;
}

/**
 * The `tools` of the request: the caller's own definitions (server tools such
 * as web_search, or tools run elsewhere) followed by the runnable ones. A
 * runnable tool replaces a definition of the same name.
 */
export function mergeToolDefinitions(given: readonly BetaToolUnion[] | undefined, tools: readonly RunnableTool[]): BetaToolUnion[] | undefined {
  if (tools.length === 0) return given === undefined ? undefined : [...given];
  const runnable = new Set(tools.map((tool) => tool.name));
  const kept = (given ?? []).filter((definition) => !('name' in definition) || !runnable.has(definition.name as string));
  return [...kept, ...tools.map(toolDefinition)];
}

export function toolMap(tools: readonly RunnableTool[]): Map<string, RunnableTool> {
  const map = new Map<string, RunnableTool>();
  for (const tool of tools) {
    if (typeof tool?.run !== 'function' || typeof tool.name !== 'string') throw new TypeError('every tool needs a string `name` and a `run` function');
    if (map.has(tool.name)) throw new TypeError(`two tools are named '${tool.name}'`);
    if (tool.timeoutMs !== undefined) toolTimeoutSetting(tool.timeoutMs, `the timeoutMs of tool '${tool.name}'`);
    map.set(tool.name, tool);
  }
  return map;
}

/**
 * A batch that stopped before every call had its result (abort, deadline, a
 * failed journal write, a call needing a decision). Carries the records as the
 * journal has them, so the run's final state keeps every `started` and `done`
 * entry — the final checkpoint must never forget a result that was recorded.
 */
export class ToolBatchInterrupted extends Error {
  override readonly name = 'ToolBatchInterrupted';
  constructor(
    override readonly cause: unknown,
    readonly records: ToolCallRecord[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * Runs one tool call to a result. Never throws: a missing tool, a bad input
 * (its `parse` threw), a throw of any value from `run`, a return value that is
 * not tool_result content, and a timeout all become `is_error: true` results
 * the model can read and react to (see tool-result.ts).
 *
 * The tool gets its own copy of the input: the call's `input` is what the model
 * sent, and it goes into history and the journal as it is, whatever the tool
 * does with its copy. One structuredClone per call; tool input is JSON, and its
 * depth is capped when the response arrives (MAX_INPUT_DEPTH), far below what
 * structuredClone manages.
 */
export async function invokeTool(tool: RunnableTool | undefined, call: ToolCallRecord, timeoutMs: number, runSignal: AbortSignal): Promise<ToolResult> {
  if (tool === undefined) return errorResult(`Error: Tool '${call.name}' not found`);
  let input: unknown;
  try {
    input = structuredClone(call.input);
  } catch (error) {
    const why = error instanceof RangeError ? 'it is nested too deeply' : 'it is not plain data';
    return errorResult(`Error: the input of tool '${call.name}' could not be copied for the tool (${why}); the tool did not run`);
  }
  const limit = tool.timeoutMs ?? timeoutMs;
  // 0 and Infinity mean no timeout (toolTimeoutSetting stores Infinity as 0).
  const timed = limit !== 0 && limit !== Infinity;
  // The call's own signal (the run's abort, or this call's timeout) is made only when the tool reads
  // `signal`: most tools never do, and an AbortController with a listener on the run's signal is a
  // good part of what a call costs the controller.
  let own: AbortController | null = null;
  let timedOut: Error | null = null;
  let finished = false;
  const onAbort = (): void => own!.abort(runSignal.reason);
  const signal = (): AbortSignal => {
    if (own === null) {
      own = new AbortController();
      if (timedOut !== null) own.abort(timedOut);
      else if (runSignal.aborted) own.abort(runSignal.reason);
      else if (!finished) runSignal.addEventListener('abort', onAbort, { once: true });
    }
    return own.signal;
  };
  let cancelTimer = (): void => {};
  let settle = (_result: ToolResult): void => {};
  const outcome = timed
    ? new Promise<ToolResult>((resolve) => {
        settle = resolve;
        cancelTimer = setLongTimeout(() => {
          timedOut = new Error(`Tool '${call.name}' timed out after ${limit} ms`);
          own?.abort(timedOut);
          resolve(errorResult(`Error: Tool '${call.name}' timed out after ${limit} ms`));
        }, limit);
      })
    : null;
  try {
    const block = { type: 'tool_use', id: call.id, name: call.name, input } as BetaToolUseBlock;
    const context = {
      toolUse: block,
      toolUseBlock: block,
      get signal(): AbortSignal {
        return signal();
      },
    };
    const running = (async () => {
      const parsed: unknown = tool.parse ? tool.parse(input) : input;
      return outputResult(await tool.run(parsed, context));
    })().catch(thrownResult);
    if (outcome === null) return await running;
    void running.then(settle);
    return await outcome;
  } finally {
    finished = true;
    cancelTimer();
    if (own !== null) runSignal.removeEventListener('abort', onAbort);
  }
}

/** The journal hooks the batch runner writes through. */
export interface ToolJournal {
  /** Records a new version of a call (status, result). */
  update(call: ToolCallRecord): void;
  /** Makes everything updated so far durable. */
  persist(): Promise<void>;
}

export interface ToolBatchOptions {
  readonly calls: readonly ToolCallRecord[];
  readonly tools: ReadonlyMap<string, RunnableTool>;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly decisions: Readonly<Record<string, ToolDecision>>;
  readonly signal: AbortSignal;
  /**
   * Calls `listener` once when `signal` aborts, until the returned function is called: the run's own
   * hook, cheaper than an `abort` listener on the signal per batch. Default: such a listener.
   */
  readonly whenAborted?: ((listener: () => void) => () => void) | undefined;
  readonly journal: ToolJournal;
  readonly now: () => number;
  /**
   * Runs one call (the `toolCall` effect, see effects.ts): given the journal
   * record and the step itself. Default: the step. A rejection stops the batch.
   */
  readonly invoke?: ((call: ToolCallRecord, perform: () => Promise<ToolResult>) => Promise<ToolResult>) | undefined;
  readonly onStart?: (call: ToolCallRecord) => void;
  readonly onEnd?: (call: ToolCallRecord) => void;
}

/**
 * Runs a batch of tool calls, journaling each: `started` made durable before
 * `run` (calls that start together share one write), `done` with its result
 * made durable as soon as the call finishes, before its `onEnd`. A call already `done` (a resumed batch)
 * is never run again. A call `started` without a result is in doubt: it is run
 * again only if its tool is `retrySafe` or a `'rerun'` decision says so, is
 * given the result a decision supplies, and otherwise stops the batch — before
 * anything runs — with `tool_needs_decision`.
 *
 * Resolves to the batch's records in their original order. Rejects with the
 * run signal's reason if it aborts.
 */
export async function runToolBatch(options: ToolBatchOptions): Promise<ToolCallRecord[]> {
  const records = options.calls.map((call) => ({ ...call }));
  try {
    return await runRecords(records, options);
  } catch (error) {
    throw new ToolBatchInterrupted(error, records.map((call) => ({ ...call })));
  }
}

async function runRecords(records: ToolCallRecord[], options: ToolBatchOptions): Promise<ToolCallRecord[]> {
  const { tools, journal, decisions, now } = options;

  // Every call in doubt is named at once, so one resume can decide them all.
  const undecided: ToolCallRecord[] = [];
  for (const call of records) {
    if (call.status !== 'started') continue;
    const decision = decisions[call.id];
    if (decision !== undefined && decision !== 'rerun') {
      Object.assign(call, { status: 'done', result: decision, durationMs: call.durationMs ?? 0 });
      journal.update({ ...call });
    } else if (decision !== 'rerun' && tools.get(call.name)?.retrySafe !== true && tools.has(call.name)) {
      undecided.push(call);
    }
  }
  if (undecided.length > 0) {
    const toolCalls = undecided.map((call) => ({ id: call.id, name: call.name, input: call.input }));
    const named = undecided.map((call) => `${call.id} ('${call.name}')`).join(', ');
    throw new ControllerError(
      'tool_needs_decision',
      `${undecided.length === 1 ? 'tool call' : `${undecided.length} tool calls`} ${named} started before the interruption but ${undecided.length === 1 ? 'has' : 'have'} no recorded result, ` +
        `and ${undecided.length === 1 ? 'the tool is' : 'their tools are'} not marked retrySafe: pass decisions: { '<id>': 'rerun' | { content, is_error } } for each to resume`,
      { toolCall: toolCalls[0]!, toolCalls, toolUseId: undecided[0]!.id },
    );
  }

  const signal = options.signal;
  if (signal.aborted) throw signal.reason;
  // With room for every call at once there is nothing to queue: the calls start here, without p-limit's queue and hops.
  const limit = options.concurrency >= records.length ? null : pLimit(Math.max(1, options.concurrency));
  let aborted = false;
  const run = async (index: number): Promise<void> => {
    const call = records[index]!;
    // A deferred call waits for a person; it runs on the resume that approves it.
    if (call.status === 'done' || call.approval?.decision === 'deferred' || aborted) return;
    const tool = tools.get(call.name);
    call.status = 'started';
    call.attempts += 1;
    call.startedAt = now();
    journal.update({ ...call });
    await journal.persist();
    if (aborted) return;
    options.onStart?.({ ...call });
    const perform = (): Promise<ToolResult> => invokeTool(tool, call, options.timeoutMs, options.signal);
    const result = await (options.invoke === undefined ? perform() : options.invoke({ ...call }, perform));
    if (aborted) return; // too late: the run has ended; the call stays `started` (in doubt)
    call.status = 'done';
    call.result = result;
    call.durationMs = now() - call.startedAt;
    // Durable before anyone hears of it: a crash after `tool_end` must never leave this call in doubt.
    // Calls that finish together share one write (the writer coalesces).
    journal.update({ ...call });
    await journal.persist();
    options.onEnd?.({ ...call });
  };

  const guarded = async (index: number): Promise<void> => {
    try {
      await run(index);
    } catch (error) {
      aborted = true; // a failed journal write stops the batch: nothing more runs unjournaled
      limit?.clearQueue();
      throw error;
    }
  };
  // Listening before any call starts: a call's first journal write may be what aborts the run (an event callback).
  let stopListening = (): void => {};
  const abortion = new Promise<never>((_, reject) => {
    const onAbort = (): void => {
      aborted = true;
      limit?.clearQueue();
      reject(signal.reason);
    };
    if (options.whenAborted !== undefined) stopListening = options.whenAborted(onAbort);
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      stopListening = () => signal.removeEventListener('abort', onAbort);
    }
  });
  const all = Promise.all(limit === null ? records.map((_, index) => guarded(index)) : records.map((_, index) => limit(guarded, index)));
  all.catch(() => {}); // after an abort nobody awaits it any more
  try {
    await Promise.race([all, abortion]);
  } finally {
    stopListening();
  }
  return records;
}

/**
 * The answer to a call whose streamed input was not valid JSON (fine-grained
 * tool streaming): an error the model can act on, given without running the
 * tool — its input is not what the tool's schema promises.
 */
export function invalidInputResult(call: InvalidToolInput): ToolResult {
  return {
    content: `Error: the input for tool '${call.name}' was not valid JSON (${call.reason}), so the tool was not run. Call it again with valid JSON input.`,
    is_error: true,
  };
}
