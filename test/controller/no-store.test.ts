/**
 * What a turn costs the controller when nothing is stored (issue 6 A4, "the
 * controller's own work per turn with no store"): the mechanisms, counted —
 * not timed (the bench times them). Each count here is of work main did per
 * turn and no longer does: a setImmediate hop per journal write with nothing
 * to write, an AbortController (with a listener on the run's signal) per tool
 * call whose tool never reads `signal`, a lease taken on the null store.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nullCheckpointStore, startRun, type ControllerEvent, type RunnableTool } from '../../src/controller/index.js';
import type { ParseTurn } from '../../src/controller/model.js';
import { TURN } from '../../bench/controller.bench.js';
import { messageEvents } from '../../src/testing/sse.js';
import { parseTurnSync } from '../../src/turn/parse.js';
import type { TurnResult } from '../../src/turn/types.js';

/** The segments parsed up front, so the parser's own scheduling is not counted. */
const preparsed = (): { parse: ParseTurn; createStream: () => never } => {
  const results: TurnResult[] = TURN.map((spec) => parseTurnSync(messageEvents(spec) as Iterable<unknown>));
  let n = 0;
  return { parse: async () => results[n++]!, createStream: () => ({}) as never };
};

const lookup: RunnableTool = { name: 'lookup', run: (input: { key: string }) => `${input.key} = ${input.key.length}` };

const run = (extra: { tools?: RunnableTool[]; onEvent?: (event: ControllerEvent) => void; checkpoint?: false | typeof nullCheckpointStore } = {}) =>
  startRun({
    params: { model: 'claude-test', max_tokens: 1024 },
    messages: 'Look up alpha and beta.',
    tools: extra.tools ?? [lookup],
    ...preparsed(),
    checkpoint: extra.checkpoint ?? false,
    ...(extra.onEvent ? { onEvent: extra.onEvent } : {}),
  }).settled;

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('a run with no store', () => {
  it('makes no setImmediate hop for its journal writes (there is nothing to write)', async () => {
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    const result = await run();
    expect(result.status).toBe('completed');
    expect(result.toolCalls.map((call) => call.result?.content)).toEqual(['alpha = 5', 'beta = 4']);
    expect(immediate).not.toHaveBeenCalled();
  });

  it('takes no lease on the null store, given as `checkpoint: false` or as the store itself', async () => {
    const acquire = vi.spyOn(nullCheckpointStore, 'acquire');
    for (const checkpoint of [false, nullCheckpointStore] as const) expect((await run({ checkpoint })).status).toBe('completed');
    expect(acquire).not.toHaveBeenCalled();
  });

  it('still reports a checkpoint event for every write, numbered, with the phase it would have stored', async () => {
    const events: ControllerEvent[] = [];
    const result = await run({ onEvent: (event) => events.push(event) });
    expect(result.status).toBe('completed');
    const checkpoints = events.filter((e): e is Extract<ControllerEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
    // Before request 1; the two calls' `started`; their results; before request 2; the end.
    expect(checkpoints.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(checkpoints.map((c) => c.phase)).toEqual(['requesting', 'running_tools', 'running_tools', 'running_tools', 'running_tools', 'requesting', 'done']);
    // Each call's `started` is reported before it runs, its result before its tool_end.
    const order = events.filter((e) => e.type === 'checkpoint' || e.type === 'tool_start' || e.type === 'tool_end').map((e) => e.type);
    expect(order.indexOf('tool_start')).toBeGreaterThan(order.indexOf('checkpoint', 1));
    expect(order.lastIndexOf('tool_end')).toBeGreaterThan(order.lastIndexOf('checkpoint', order.lastIndexOf('tool_end')));
  });
});

describe('a tool call', () => {
  /** Counts the AbortControllers made while `body` runs. */
  const countControllers = async (body: () => Promise<unknown>): Promise<number> => {
    let made = 0;
    const Real = globalThis.AbortController;
    vi.stubGlobal(
      'AbortController',
      class extends Real {
        constructor() {
          super();
          made++;
        }
      },
    );
    await body();
    vi.unstubAllGlobals();
    return made;
  };

  it('gets no AbortController of its own when its tool never reads `signal`: the run has one, and that is all', async () => {
    expect(await countControllers(() => run())).toBe(1);
  });

  it('gets one, live, when its tool reads `signal`: aborted when the call times out', async () => {
    const signals: AbortSignal[] = [];
    const slow: RunnableTool = {
      name: 'lookup',
      timeoutMs: 5,
      run: (_input, context) =>
        new Promise((resolve) => {
          const signal = context!.signal!;
          signals.push(signal);
          signal.addEventListener('abort', () => resolve(`aborted: ${(signal.reason as Error).message}`), { once: true });
        }),
    };
    let result;
    const made = await countControllers(async () => {
      result = await run({ tools: [slow] });
    });
    expect(made).toBe(3);
    expect(result!.status).toBe('completed');
    expect(signals).toHaveLength(2);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
    expect(result!.toolCalls.map((call: { result: { content: unknown } | null }) => call.result?.content)).toEqual([
      "Error: Tool 'lookup' timed out after 5 ms",
      "Error: Tool 'lookup' timed out after 5 ms",
    ]);
  });

  it("one read after the run was aborted is aborted already, with the run's reason", async () => {
    const reasons: unknown[] = [];
    const controller = new AbortController();
    const tool: RunnableTool = {
      name: 'lookup',
      run: async (_input, context) => {
        controller.abort(new Error('caller gave up'));
        await Promise.resolve();
        reasons.push(context!.signal!.aborted ? (context!.signal!.reason as Error).message : 'live');
        return 'x';
      },
    };
    const result = await startRun({
      params: { model: 'claude-test', max_tokens: 1024 },
      messages: 'Look up alpha and beta.',
      tools: [tool],
      ...preparsed(),
      checkpoint: false,
      signal: controller.signal,
    }).settled;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('aborted');
    expect(reasons[0]).toBe('caller gave up');
  });
});
