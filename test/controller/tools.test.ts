import { describe, expect, it } from 'vitest';
import { startRun, systemClock, type RunnableTool } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { runScripted, text, toolUse } from './helpers.js';

const call = (input: unknown = { q: 1 }) => toolUse([{ id: 'toolu_1', name: 'probe', input }]);
const tool = (run: RunnableTool['run'], extra: Partial<RunnableTool> = {}): RunnableTool => ({ name: 'probe', input_schema: { type: 'object' }, run, ...extra });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tool timeouts', () => {
  for (const toolTimeoutMs of [0, Infinity, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    it(`toolTimeoutMs ${toolTimeoutMs}: no early timeout (setTimeout would fire after ~1 ms)`, async () => {
      const slow = tool(async () => {
        await sleep(40);
        return 'finished';
      });
      const { result, store } = await runScripted([call(), text('ok')], { tools: [slow], toolTimeoutMs });
      expect(result.status).toBe('completed');
      expect(result.toolCalls[0]!.result).toEqual({ content: 'finished', is_error: false });
      // JSON-safe in the checkpoint: Infinity is kept as 0 (no timeout)
      expect(store.saved.at(-1)!.state.settings.toolTimeoutMs).toBe(toolTimeoutMs === Infinity ? 0 : toolTimeoutMs);
    });
  }

  it('a per-tool timeoutMs of 2^31 does not fire early either; a short one still times out', async () => {
    const slow = (timeoutMs: number) => tool(async () => (await sleep(40), 'finished'), { timeoutMs });
    const long = await runScripted([call(), text('ok')], { tools: [slow(2 ** 31)] });
    expect(long.result.toolCalls[0]!.result).toEqual({ content: 'finished', is_error: false });
    const short = await runScripted([call(), text('ok')], { tools: [slow(5)] });
    expect(short.result.toolCalls[0]!.result).toEqual({ content: "Error: Tool 'probe' timed out after 5 ms", is_error: true });
  });

  for (const [option, value] of [
    ['toolTimeoutMs', -1],
    ['toolTimeoutMs', NaN],
    ['toolTimeoutMs', '100'],
    ['tool timeoutMs', -5],
    ['retry.baseDelayMs', NaN],
    ['retry.maxDelayMs', -1],
    ['retry.maxRetries', 1.5],
    ['budgets.maxToolCalls', -1],
    ['budgets.maxTotalTokens', NaN],
    ['budgets.deadlineMs', NaN],
    ['budgets.deadlineAt', new Date('nope')],
  ] as const) {
    it(`${option} = ${String(value)} is an invalid_options ControllerError naming the option, before anything runs`, () => {
      const model = scriptedModel([text('never')]);
      const options: Record<string, unknown> = { params: { model: 'm', max_tokens: 10 }, messages: 'x', createStream: model.createStream, checkpoint: false };
      if (option === 'toolTimeoutMs') options['toolTimeoutMs'] = value;
      else if (option === 'tool timeoutMs') options['tools'] = [tool(() => 'x', { timeoutMs: value as number })];
      else {
        const [group, key] = option.split('.') as [string, string];
        options[group] = { [key]: value };
      }
      let thrown: unknown;
      try {
        startRun(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ name: 'ControllerError', code: 'invalid_options' });
      expect((thrown as Error).message).toContain(option === 'tool timeoutMs' ? "timeoutMs of tool 'probe'" : option);
      expect(model.requests).toHaveLength(0);
    });
  }

  it('the retry sleep waits out a delay past 2^31 ms instead of firing at once', async () => {
    const abort = new AbortController();
    let settled = false;
    const sleeping = systemClock.sleep(2 ** 31 + 10, abort.signal).then(
      () => (settled = true),
      () => 'aborted',
    );
    await sleep(50);
    expect(settled).toBe(false);
    abort.abort();
    expect(await sleeping).toBe('aborted');
  });
});

describe('tool input', () => {
  it('a tool that mutates its input changes neither history nor journal', async () => {
    const mutating = tool((input: { q: unknown; added?: unknown }) => {
      input.q = 'MUTATED';
      input.added = true;
      return 'done';
    });
    const { result, requests, store } = await runScripted([call({ q: 1 }), text('ok')], { tools: [mutating] });
    expect(result.status).toBe('completed');
    const sent = requests[1]!.messages.find((m) => m.role === 'assistant')!.content as { type: string; input?: unknown }[];
    expect(sent.find((b) => b.type === 'tool_use')!.input).toEqual({ q: 1 });
    expect(result.toolCalls[0]!.input).toEqual({ q: 1 });
    for (const checkpoint of store.saved) {
      for (const record of checkpoint.state.toolCalls) expect(record.input).toEqual({ q: 1 });
    }
  });
});

describe('thrown values and return values, through a whole run', () => {
  const cases: [string, RunnableTool['run'], RegExp][] = [
    ['throws Object.create(null)', () => { throw Object.create(null); }, /^Error: the tool threw a non-Error value: \{\}$/],
    ['throws an object whose toString throws', () => { throw { toString: () => { throw new Error('no'); } }; }, /^Error: the tool threw a non-Error value/],
    ['throws a Symbol', () => { throw Symbol('s'); }, /^Error: the tool threw a Symbol/],
    ['rejects with undefined', () => Promise.reject(undefined), /^Error: the tool threw undefined$/],
    ['returns a Symbol', (() => Symbol('s')) as never, /^Error: the tool returned a Symbol/],
    ['returns a function', (() => () => 1) as never, /^Error: the tool returned a function/],
    ['returns [1,2,3]', (() => [1, 2, 3]) as never, /^Error: the tool returned an array that is not tool_result content/],
  ];
  for (const [what, run, message] of cases) {
    it(`a tool that ${what}: an is_error tool_result, the call done, the run goes on`, async () => {
      const { result, requests } = await runScripted([call(), text('ok')], { tools: [tool(run)] });
      expect(result.status).toBe('completed');
      expect(result.toolCalls[0]!.status).toBe('done');
      expect(result.toolCalls[0]!.result!.is_error).toBe(true);
      expect(result.toolCalls[0]!.result!.content).toMatch(message);
      const sent = requests[1]!.messages.at(-1)!.content as { type: string; content: unknown; is_error?: boolean }[];
      expect(sent[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true });
      expect(sent[0]!.content).toMatch(message);
    });
  }
});
