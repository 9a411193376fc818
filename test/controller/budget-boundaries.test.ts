import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, startResume, startRun, systemClock, type Clock, type RunnableTool } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, runScripted, text, toolUse } from './helpers.js';

/**
 * A clock the test moves by hand. The deadline's real timer is set for `deadlineAt - now()` real ms, so the
 * deadlines here lie ~11 days ahead of the fake "now": only the budget checks, which read the clock, can see
 * them pass.
 */
function manualClock(start = 1_700_000_000_000): Clock & { t: number } {
  const clock: Clock & { t: number } = { t: start, now: () => clock.t, sleep: systemClock.sleep };
  return clock;
}
const FAR = 1_000_000_000;

const call = (k: number) => toolUse([{ id: `toolu_${k}`, name: 'echo', input: { k } }]);

describe('budget boundaries', () => {
  it('tokens: the cap reached exactly (input + output + cache creation + cache read) stops the next request', async () => {
    const usage = { input_tokens: 500, output_tokens: 100, cache_creation_input_tokens: 300, cache_read_input_tokens: 100 };
    const at = await runScripted([{ ...call(1), usage }, text('never')], { tools: [echoTool()], budgets: { maxTotalTokens: 1000 } });
    expect(at.requests).toHaveLength(1);
    expect(at.result.status).toBe('budget_exceeded');
    expect(at.result.error).toMatchObject({ code: 'budget_exceeded', budget: 'tokens', limit: 1000, used: 1000 });
    expect(at.result.error?.message).toBe('1000 tokens used, cap 1000: no further request');

    const under = await runScripted([{ ...call(1), usage }, text('made it')], { tools: [echoTool()], budgets: { maxTotalTokens: 1001 } });
    expect(under.requests).toHaveLength(2);
    expect(under.result.status).toBe('completed');
  });

  it('tokens: a cap of 0 is a cap (not "none"): the first request is made, no further one', async () => {
    const done = await runScripted([text('one answer')], { budgets: { maxTotalTokens: 0 } });
    expect(done.result.status).toBe('completed');
    const stopped = await runScripted([call(1), text('never')], { tools: [echoTool()], budgets: { maxTotalTokens: 0 } });
    expect(stopped.requests).toHaveLength(1);
    expect(stopped.result.error).toMatchObject({ budget: 'tokens', limit: 0 });
  });

  it('tool calls: a batch that brings the count exactly to the cap runs; the one after it does not', async () => {
    let runs = 0;
    const counting: RunnableTool = { name: 'echo', run: () => String(++runs) };
    const at = await runScripted([call(1), call(2), call(3), text('never')], { tools: [counting], budgets: { maxToolCalls: 2 } });
    expect(runs).toBe(2);
    expect(at.requests).toHaveLength(3);
    expect(at.result.error).toMatchObject({ budget: 'tool_calls', limit: 2, used: 3 });
    expect(at.result.error?.message).toBe('3 tool calls would pass the cap of 2');

    const zero = await runScripted([call(1), text('never')], { tools: [counting], budgets: { maxToolCalls: 0 } });
    expect(runs).toBe(2);
    expect(zero.result.error).toMatchObject({ budget: 'tool_calls', limit: 0, used: 1 });
  });

  it('deadline: passing between the response and its tool batch stops the run before any call runs', async () => {
    const clock = manualClock();
    const deadlineAt = clock.t + FAR;
    let runs = 0;
    const tool: RunnableTool = { name: 'echo', run: () => String(++runs) };
    const model = scriptedModel([call(1), text('never')]);
    const createStream: typeof model.createStream = (params, signal) => {
      clock.t = deadlineAt; // the response arrives exactly at the deadline
      return model.createStream(params, signal);
    };
    const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [tool], createStream, checkpoint: false, clock, budgets: { deadlineAt } }).settled;
    expect(runs).toBe(0);
    expect(model.requests).toHaveLength(1);
    expect(result.status).toBe('budget_exceeded');
    expect(result.error).toMatchObject({ budget: 'deadline', limit: deadlineAt, used: deadlineAt });
    expect(result.error?.message).toBe('the deadline passed before the tool calls ran');
    expect(result.toolCalls.map((c) => [c.id, c.status])).toEqual([['toolu_1', 'pending']]);
  });

  it('deadline: passing during a tool batch stops the run before the next request; a moment earlier it goes on', async () => {
    const run = async (finishAt: (deadlineAt: number) => number) => {
      const clock = manualClock();
      const deadlineAt = clock.t + FAR;
      const tool: RunnableTool = { name: 'echo', run: () => ((clock.t = finishAt(deadlineAt)), 'ran') };
      const model = scriptedModel([call(1), text('after the tools')]);
      const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [tool], createStream: model.createStream, checkpoint: false, clock, budgets: { deadlineAt } })
        .settled;
      return { result, requests: model.requests, deadlineAt };
    };
    const late = await run((d) => d + 5);
    expect(late.requests).toHaveLength(1);
    expect(late.result.status).toBe('budget_exceeded');
    expect(late.result.error).toMatchObject({ budget: 'deadline', limit: late.deadlineAt, used: late.deadlineAt + 5 });
    expect(late.result.error?.message).toBe('the deadline passed before request 2');
    // the tool's result is kept, in the transcript the resume sends
    expect(late.result.toolCalls[0]).toMatchObject({ status: 'done', result: { content: 'ran', is_error: false } });
    expect(late.result.messages.at(-1)).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ran' }] });

    const onTime = await run((d) => d - 1);
    expect(onTime.requests).toHaveLength(2);
    expect(onTime.result.status).toBe('completed');
  });

  it('deadlineMs counts from the (fake) start: exactly deadlineMs later is too late', async () => {
    const clock = manualClock();
    const start = clock.t;
    const tool: RunnableTool = { name: 'echo', run: () => ((clock.t = start + FAR), 'ran') };
    const model = scriptedModel([call(1), text('never')]);
    const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [tool], createStream: model.createStream, checkpoint: false, clock, budgets: { deadlineMs: FAR } }).settled;
    expect(result.error).toMatchObject({ budget: 'deadline', limit: start + FAR, used: start + FAR });
    expect(model.requests).toHaveLength(1);
  });
});

describe('budgets on resume', () => {
  const caps = { maxContinuations: 1, maxToolCalls: 5, maxTotalTokens: 100_000, deadlineAt: 4_000_000_000_000 };

  async function stoppedRun() {
    const store = new MemoryCheckpointStore();
    const script = [call(1), call(2), call(3), call(4), call(5), call(6), call(7), text('finished')];
    const model = scriptedModel((_req, i) => script[i]!);
    const first = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [echoTool()], createStream: model.createStream, checkpoint: store, budgets: caps }).settled;
    expect(first.error).toMatchObject({ budget: 'continuations', limit: 1 });
    expect(model.requests).toHaveLength(2);
    return { store, model };
  }

  it('a resume without budgets keeps every cap of the checkpoint: it stops again at once', async () => {
    const { store, model } = await stoppedRun();
    const again = await startResume(store.saved.at(-1)!, { tools: [echoTool()], createStream: model.createStream, checkpoint: store }).settled;
    expect(again.state.settings.budgets).toEqual(caps);
    expect(again.error).toMatchObject({ budget: 'continuations', limit: 1, used: 2 });
    expect(model.requests).toHaveLength(2);
  });

  it('a resume that raises one cap keeps the others: the kept tool-call cap stops it', async () => {
    const { store, model } = await stoppedRun();
    const again = await startResume(store.saved.at(-1)!, { tools: [echoTool()], createStream: model.createStream, checkpoint: store, budgets: { maxContinuations: 100 } }).settled;
    expect(again.state.settings.budgets).toEqual({ ...caps, maxContinuations: 100 });
    // 2 calls ran before; 3 more (requests 3–5) reach 5; the 6th would pass the kept cap of 5
    expect(again.error).toMatchObject({ budget: 'tool_calls', limit: 5, used: 6 });
    expect(model.requests).toHaveLength(6);
  });

  it('a resume can lift a cap with Infinity and replace the deadline', async () => {
    const { store, model } = await stoppedRun();
    const again = await startResume(store.saved.at(-1)!, {
      tools: [echoTool()],
      createStream: model.createStream,
      checkpoint: store,
      budgets: { maxContinuations: Infinity, maxToolCalls: Infinity, deadlineAt: new Date(4_100_000_000_000) },
    }).settled;
    expect(again.status).toBe('completed');
    expect(again.state.settings.budgets).toEqual({ maxContinuations: null, maxToolCalls: null, maxTotalTokens: 100_000, deadlineAt: 4_100_000_000_000 });
    expect(model.requests).toHaveLength(8);
  });
});

describe('budget options', () => {
  const start = (budgets: Record<string, unknown>) => {
    const model = scriptedModel([text('never')]);
    try {
      startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', createStream: model.createStream, checkpoint: false, budgets: budgets as never });
    } catch (error) {
      return { error: error as Error & { code?: string }, requests: model.requests };
    }
    return { error: null, requests: model.requests };
  };

  for (const [budgets, message] of [
    [{ maxContinuations: 1.5 }, 'budgets.maxContinuations must be a finite integer ≥ 0, got 1.5'],
    [{ maxToolCalls: -1 }, 'budgets.maxToolCalls must be a finite integer ≥ 0, got -1'],
    [{ maxTotalTokens: NaN }, 'budgets.maxTotalTokens must be a finite integer ≥ 0, got NaN'],
    [{ deadlineMs: -5 }, 'budgets.deadlineMs must be a finite number ≥ 0, got -5'],
    [{ deadlineAt: '2030-01-01' }, 'budgets.deadlineAt must be a valid Date or epoch ms, got "2030-01-01"'],
    [{ deadlineAt: new Date('nope') }, 'budgets.deadlineAt must be a valid Date or epoch ms, got NaN'],
    [{ deadlineAt: Infinity }, 'budgets.deadlineAt must be a valid Date or epoch ms, got Infinity'],
  ] as const) {
    it(`${JSON.stringify(budgets)} → invalid_options "${message}", before any request`, () => {
      const { error, requests } = start(budgets);
      expect(error).toMatchObject({ code: 'invalid_options', message });
      expect(requests).toHaveLength(0);
    });
  }

  it('deadlineMs: Infinity is no deadline; a fractional deadlineMs is allowed', async () => {
    const lifted = await runScripted([text('ok')], { budgets: { deadlineMs: Infinity } });
    expect(lifted.result.state.settings.budgets.deadlineAt).toBeNull();
    expect(lifted.result.status).toBe('completed');
    const clock = manualClock();
    const fractional = await runScripted([text('ok')], { clock, budgets: { deadlineMs: FAR + 0.5 } });
    expect(fractional.result.state.settings.budgets.deadlineAt).toBe(clock.t + FAR + 0.5);
  });

  it('a deadline that fires while a request is in flight reports the deadline as the limit and the time it fired as used', async () => {
    const clock = manualClock();
    const deadlineAt = clock.t + 50; // the real timer fires in 50 ms: the request below never ends by itself
    const model = scriptedModel([{ hang: true }]);
    const createStream: typeof model.createStream = (params, signal) => {
      clock.t = deadlineAt + 7;
      return model.createStream(params, signal);
    };
    const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', createStream, checkpoint: false, clock, budgets: { deadlineAt } }).settled;
    expect(result.error).toMatchObject({ code: 'budget_exceeded', budget: 'deadline', limit: deadlineAt, used: deadlineAt + 7 });
    expect(result.error?.message).toMatch(/^the deadline passed during /);
  });

  it('the continuation cap’s message names the continuation, its kind and the cap', async () => {
    const { result } = await runScripted([call(1), call(2), text('never')], { tools: [echoTool()], budgets: { maxContinuations: 1 } });
    expect(result.error?.message).toBe('continuation 2 (tool_results) would pass the cap of 1');
  });

  it('stuck loops and duplicate ids say which tool / id', async () => {
    const same = (k: number) => toolUse([{ id: `t${k}`, name: 'echo', input: { a: 1 } }]);
    const stuck = await runScripted([same(1), same(2), text('never')], { tools: [echoTool()], stuckLoopThreshold: 2 });
    expect(stuck.result.error?.message).toBe("tool 'echo' called 2 times in a row with identical input");
    const dup = await runScripted([toolUse([{ id: 'dup', name: 'echo', input: { n: 1 } }]), toolUse([{ id: 'dup', name: 'echo', input: { n: 2 } }])], { tools: [echoTool()] });
    expect(dup.result.error?.message).toBe('tool_use id dup appeared twice in one run');
  });
});

describe('maxTokensRaiseFactor', () => {
  for (const value of [1, 0.5, 0, -2, NaN, Infinity]) {
    it(`${String(value)} is an invalid_options ControllerError before anything runs`, () => {
      const model = scriptedModel([text('never')]);
      let thrown: unknown;
      try {
        startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', createStream: model.createStream, checkpoint: false, maxTokensPolicy: 'raise', maxTokensRaiseFactor: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ name: 'ControllerError', code: 'invalid_options', message: `maxTokensRaiseFactor must be a finite number > 1, got ${String(value)}` });
      expect(model.requests).toHaveLength(0);
    });
  }

  it('1.5 grows max_tokens by half each time, up to the ceiling', async () => {
    const cut = { content: [{ type: 'text' as const, text: 'cut' }], stopReason: 'max_tokens' };
    const { requests } = await runScripted([cut, cut, cut, text('whole')], { params: { model: 'm', max_tokens: 100 }, maxTokensPolicy: 'raise', maxTokensRaiseFactor: 1.5, maxTokensCeiling: 300 });
    expect(requests.map((r) => r.max_tokens)).toEqual([100, 150, 225, 300]);
  });
});

describe('maxTokensCeiling', () => {
  for (const value of [NaN, 0, -100, 1.5, Infinity]) {
    it(`${String(value)} is an invalid_options ControllerError before anything runs (never max_tokens: NaN on the wire)`, () => {
      const model = scriptedModel([text('never')]);
      let thrown: unknown;
      try {
        startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', createStream: model.createStream, checkpoint: false, maxTokensPolicy: 'raise', maxTokensCeiling: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ name: 'ControllerError', code: 'invalid_options', message: `maxTokensCeiling must be a positive integer, got ${String(value)}` });
      expect(model.requests).toHaveLength(0);
    });
  }

  it('a ceiling at the first max_tokens stops at the first cut; one token above it grows to exactly the ceiling', async () => {
    const cut = { content: [{ type: 'text' as const, text: 'cut' }], stopReason: 'max_tokens' };
    const at = await runScripted([cut, text('never')], { params: { model: 'm', max_tokens: 100 }, maxTokensPolicy: 'raise', maxTokensCeiling: 100 });
    expect(at.requests.map((r) => r.max_tokens)).toEqual([100]);
    expect(at.result.status).toBe('incomplete');
    const above = await runScripted([cut, text('whole')], { params: { model: 'm', max_tokens: 100 }, maxTokensPolicy: 'raise', maxTokensCeiling: 101 });
    expect(above.requests.map((r) => r.max_tokens)).toEqual([100, 101]);
  });
});
