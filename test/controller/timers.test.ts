import { afterEach, describe, expect, it, vi } from 'vitest';
import { setLongTimeout } from '../../src/controller/timers.js';
import { startRun, type RunnableTool } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { text, toolUse } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('setLongTimeout', () => {
  it('waits out delays past 2^31-1 ms in chained timers, fires once, and can be cancelled', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    setLongTimeout(() => fired.push(1), 2 ** 32 + 5);
    const cancel = setLongTimeout(() => fired.push(2), 2 ** 31 + 1);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    cancel();
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(7);
    expect(fired).toEqual([1]);
    vi.advanceTimersByTime(2 ** 33);
    expect(fired).toEqual([1]);
  });

  it('Infinity never fires', () => {
    vi.useFakeTimers();
    let fired = false;
    setLongTimeout(() => (fired = true), Infinity);
    vi.advanceTimersByTime(2 ** 40);
    expect(fired).toBe(false);
  });
});

describe('a deadline more than 2^31 ms away', () => {
  it('still aborts a tool in flight when it comes (no timer was set before)', async () => {
    vi.useFakeTimers();
    const hanging: RunnableTool = { name: 'wait', run: (_input: unknown, context) => new Promise((resolve) => context?.signal?.addEventListener('abort', () => resolve('aborted'))) };
    const model = scriptedModel([toolUse([{ id: 't1', name: 'wait' }]), text('never')]);
    const handle = startRun({
      params: { model: 'm', max_tokens: 10 },
      messages: 'x',
      tools: [hanging],
      toolTimeoutMs: 0,
      createStream: model.createStream,
      checkpoint: false,
      budgets: { deadlineMs: 2 ** 31 + 60_000 },
    });
    let done = false;
    void handle.settled.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(120_000);
    const result = await handle.settled;
    expect(result.status).toBe('budget_exceeded');
    expect(result.error?.budget).toBe('deadline');
  });
});
