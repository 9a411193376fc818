import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, startRun, type ControllerEvent } from '../../src/controller/index.js';
import { isRetryable, SegmentFailure } from '../../src/controller/retry.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, runScripted, text, toolUse } from './helpers.js';

describe('mid-stream retries', () => {
  it('retries overloaded_error, api_error and a dropped connection; retries are recorded and are not continuations', async () => {
    const { result, requests } = await runScripted(
      [{ fail: 'overloaded_error', after: 4 }, { fail: 'dropped', after: 3 }, toolUse([{ id: 't1', name: 'echo' }]), { fail: 'api_error' }, text('done')],
      { tools: [echoTool()] },
    );
    expect(result.status).toBe('completed');
    expect(requests).toHaveLength(5);
    expect(result.segments).toHaveLength(2);
    expect(result.state.continuations).toBe(1);
    expect(result.retries.map((r) => [r.segment, r.attempt, r.code, r.apiErrorType])).toEqual([
      [0, 1, 'api_error', 'overloaded_error'],
      [0, 2, 'incomplete_stream', null],
      [1, 1, 'api_error', 'api_error'],
    ]);
    expect(result.segments.map((s) => s.retries)).toEqual([2, 1]);
    // the retried request is the same request
    expect(requests[1]).toEqual(requests[0]);
    expect(requests[4]).toEqual(requests[3]);
    // usage counts segments only; the failed attempts' partial usage is on the retry records
    expect(result.usage.output_tokens).toBe(20);
    expect(result.retries[0]!.usage?.input_tokens).toBe(25);
  });

  it('gives up after maxRetries with retries_exhausted (resumable)', async () => {
    const { result, requests } = await runScripted([{ fail: 'overloaded_error' }, { fail: 'overloaded_error' }, { fail: 'overloaded_error' }], { retry: { maxRetries: 2, baseDelayMs: 1 } });
    expect(requests).toHaveLength(3);
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('retries_exhausted');
    expect(result.state.phase).toBe('requesting');
  });

  it('does not retry an error type outside retryOnApiErrors, a malformed stream, or a failed HTTP request', async () => {
    const a = await runScripted([{ sse: 'event: error\ndata: {"type":"error","error":{"type":"invalid_request_error","message":"bad"}}\n\n' }]);
    expect(a.requests).toHaveLength(1);
    expect(a.result.error?.code).toBe('stream_failed');
    const b = await runScripted([{ sse: 'event: message_stop\ndata: {"type":"message_stop"}\n\n' }]);
    expect(b.requests).toHaveLength(1);
    expect(b.result.error?.code).toBe('stream_failed');
    const c = await runScripted([{ throws: Object.assign(new Error('529 overloaded'), { requestID: 'req_http' }) }, text('never')]);
    expect(c.requests).toHaveLength(1);
    expect(c.result.error?.code).toBe('request_failed');
  });

  it('waits with exponential backoff and jitter through the injected clock', async () => {
    const slept: number[] = [];
    const model = scriptedModel([{ fail: 'overloaded_error' }, { fail: 'overloaded_error' }, { fail: 'overloaded_error' }, text('ok')]);
    const events: ControllerEvent[] = [];
    const result = await startRun({
      params: { model: 'm', max_tokens: 10 },
      messages: 'x',
      createStream: model.createStream,
      checkpoint: false,
      retry: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 250 },
      random: () => 0.5,
      clock: { now: () => Date.now(), sleep: async (ms) => void slept.push(ms) },
      onEvent: (e) => events.push(e),
    }).settled;
    expect(result.status).toBe('completed');
    // equal jitter: half fixed, half random (0.5 → 3/4 of the exponential delay, capped at 250)
    expect(slept).toEqual([75, 150, 188]);
    expect(events.filter((e) => e.type === 'retry').map((e) => (e as { delayMs: number }).delayMs)).toEqual([75, 150, 188]);
  });

  it('backoffDelay stays within [d/2, d] and is capped', () => {
    for (let attempt = 1; attempt < 10; attempt++) {
      const d = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.baseDelayMs * 2 ** (attempt - 1));
      expect(backoffDelay(attempt, DEFAULT_RETRY, () => 0)).toBe(Math.round(d / 2));
      expect(backoffDelay(attempt, DEFAULT_RETRY, () => 0.999999)).toBeLessThanOrEqual(d);
    }
  });

  it('classifies failures by kind and code only', () => {
    expect(isRetryable(new SegmentFailure('stream', 'api_error', 'x', { apiErrorType: 'overloaded_error' }), DEFAULT_RETRY)).toBe(true);
    expect(isRetryable(new SegmentFailure('stream', 'source_failed', 'x'), DEFAULT_RETRY)).toBe(true);
    expect(isRetryable(new SegmentFailure('stream', 'incomplete_stream', 'x'), DEFAULT_RETRY)).toBe(true);
    expect(isRetryable(new SegmentFailure('stream', 'invalid_json', 'x'), DEFAULT_RETRY)).toBe(false);
    expect(isRetryable(new SegmentFailure('request', 'request_failed', 'x'), DEFAULT_RETRY)).toBe(false);
    expect(isRetryable(new Error('overloaded'), DEFAULT_RETRY)).toBe(false);
  });
});
