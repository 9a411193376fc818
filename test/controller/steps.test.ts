/**
 * The state changes of src/controller/steps.ts, seen through the public result, the requests sent and the
 * journal as loaded back from disk.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore, MemoryCheckpointStore, startResume, startRun, type Checkpoint, type CheckpointStore, type ResumeOptions, type RunResult } from '../../src/controller/index.js';
import { eventsToSse, messageEvents, scriptedModel, type ScriptedReply } from '../../src/testing/index.js';
import { echoTool, runScripted, text, toolUse } from './helpers.js';

const asCheckpoint = (result: RunResult): Checkpoint => ({ format: 'turnstate.checkpoint', version: 2, seq: 1000, savedAt: '', state: result.state });

/** The state a failed run ends in goes on when resumed: a final failure would hand its old result back instead. */
async function resumesFrom(result: RunResult, options: Partial<ResumeOptions> = {}) {
  const model = scriptedModel([text('went on')]);
  const again = await startResume(asCheckpoint(result), { tools: [echoTool()], createStream: model.createStream, checkpoint: false, ...options }).settled;
  return { again, requests: model.requests };
}

describe('resumable failures', () => {
  it('request_failed (createStream threw) keeps the phase: a resume re-issues the request', async () => {
    const { result } = await runScripted([{ throws: new Error('HTTP 529 after the client retries') }]);
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('request_failed');
    expect(result.state.phase).toBe('requesting');
    const { again, requests } = await resumesFrom(result);
    expect(requests).toHaveLength(1);
    expect(again.status).toBe('completed');
    expect(again.text).toBe('went on');
  });

  it('stream_failed (a response that breaks the grammar) keeps the phase: a resume re-issues the request', async () => {
    const bad = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}\n\n';
    const { result } = await runScripted([{ sse: bad }]);
    expect(result.error?.code).toBe('stream_failed');
    expect(result.state.phase).toBe('requesting');
    const { again, requests } = await resumesFrom(result);
    expect(requests).toHaveLength(1);
    expect(again.text).toBe('went on');
  });

  it('checkpoint_failed keeps the phase: a resume from that state goes on', async () => {
    const inner = new MemoryCheckpointStore();
    let saves = 0;
    const failing: CheckpointStore = {
      load: (runId) => inner.load(runId),
      acquire: async (runId) => {
        const lease = await inner.acquire(runId);
        return {
          ...lease,
          save: async (checkpoint) => {
            if (++saves === 2) throw new Error('ENOSPC: no space left on device');
            return lease.save(checkpoint);
          },
        };
      },
    };
    let runs = 0;
    const tool = echoTool('echo', { run: () => String(++runs) });
    const model = scriptedModel([toolUse([{ id: 'toolu_1', name: 'echo' }]), text('never')]);
    const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [tool], createStream: model.createStream, checkpoint: failing }).settled;
    expect(result.error?.code).toBe('checkpoint_failed');
    expect(runs).toBe(0); // the `started` record never became durable, so the tool did not run
    // the failed write was the `started` record, so the call is in doubt (the in-memory state is not a journal)
    expect(result.state.phase).toBe('running_tools');
    expect(result.state.toolCalls.map((c) => [c.id, c.status])).toEqual([['toolu_1', 'started']]);
    const { again } = await resumesFrom(result, { decisions: { toolu_1: 'rerun' } });
    expect(again.status).toBe('completed');
    expect(again.toolCalls.map((c) => [c.id, c.status])).toEqual([['toolu_1', 'done']]);
  });

  it('a final failure (stuck_loop) ends the run: resuming its state hands back the same result without a request', async () => {
    const same = (k: number) => toolUse([{ id: `t${k}`, name: 'echo', input: { a: 1 } }]);
    const { result } = await runScripted([same(1), same(2)], { tools: [echoTool()], stuckLoopThreshold: 2 });
    expect(result.error?.code).toBe('stuck_loop');
    expect(result.state.phase).toBe('done');
    const { again, requests } = await resumesFrom(result);
    expect(requests).toHaveLength(0);
    expect(again.error?.code).toBe('stuck_loop');
  });
});

describe('a tool_use stop with server tool calls only', () => {
  it('sends no user message (no empty tool_result turn): the next request ends with the assistant turn', async () => {
    const search = { type: 'server_tool_use' as const, id: 'srvtoolu_9', name: 'web_search', input: { query: 'weather' } };
    const { result, requests } = await runScripted([{ content: [{ type: 'text', text: 'Let me look.' }, search], stopReason: 'tool_use' }, text('Sunny.')]);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me look.' }, { type: 'server_tool_use', id: 'srvtoolu_9', name: 'web_search', input: { query: 'weather' } }] },
    ]);
    expect(result.status).toBe('completed');
    expect(result.toolCalls).toEqual([]);
    expect(result.segments.map((s) => s.kind)).toEqual(['initial', 'tool_results']);
  });
});

describe('the journal, loaded back', () => {
  it('keeps each segment’s stop sequence, message id and model, and each tool call’s segment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-steps-'));
    const script: ScriptedReply[] = [
      { ...toolUse([{ id: 'toolu_a', name: 'echo', input: { n: 1 } }]), id: 'msg_first', model: 'claude-model-one' },
      { ...toolUse([{ id: 'toolu_b', name: 'echo', input: { n: 2 } }, { id: 'toolu_c', name: 'echo', input: { n: 3 } }]), id: 'msg_second', model: 'claude-model-two' },
      text('```ts\ncode', 'stop_sequence', { stopSequence: '```', id: 'msg_third', model: 'claude-model-three' }),
    ];
    const model = scriptedModel(script);
    const store = new FileCheckpointStore({ dir });
    const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', tools: [echoTool()], createStream: model.createStream, checkpoint: store, runId: 'run_fields' }).settled;
    expect(result.status).toBe('stopped');
    const loaded = await new FileCheckpointStore({ dir }).load('run_fields');
    const segments = loaded!.state.segments.map((s) => ({ index: s.index, kind: s.kind, stopReason: s.stopReason, stopSequence: s.stopSequence, messageId: s.messageId, model: s.model }));
    expect(segments).toEqual([
      { index: 0, kind: 'initial', stopReason: 'tool_use', stopSequence: null, messageId: 'msg_first', model: 'claude-model-one' },
      { index: 1, kind: 'tool_results', stopReason: 'tool_use', stopSequence: null, messageId: 'msg_second', model: 'claude-model-two' },
      { index: 2, kind: 'tool_results', stopReason: 'stop_sequence', stopSequence: '```', messageId: 'msg_third', model: 'claude-model-three' },
    ]);
    expect(loaded!.state.toolCalls.map((c) => [c.id, c.segment])).toEqual([
      ['toolu_a', 0],
      ['toolu_b', 1],
      ['toolu_c', 1],
    ]);
    expect(loaded!.state.outcome).toMatchObject({ status: 'stopped', stopReason: 'stop_sequence', stopSequence: '```' });
  });
});

describe('what a segment and a retry record hold', () => {
  it('a retry record: the segment, attempt, code, API error type, message, backoff, request id and time', async () => {
    let t = 5_000;
    const slept: number[] = [];
    const model = scriptedModel([{ fail: 'overloaded_error', after: 2 }, text('ok')]);
    const result = await startRun({
      params: { model: 'm', max_tokens: 10 },
      messages: 'x',
      createStream: model.createStream,
      checkpoint: false,
      retry: { baseDelayMs: 100, maxDelayMs: 100 },
      clock: { now: () => (t += 10), sleep: async (ms) => void slept.push(ms) },
    }).settled;
    expect(result.status).toBe('completed');
    expect(result.retries).toHaveLength(1);
    const [retry] = result.retries;
    expect(retry).toMatchObject({ segment: 0, attempt: 1, code: 'api_error', apiErrorType: 'overloaded_error', delayMs: slept[0] });
    expect(retry!.message).toContain('Overloaded');
    expect(retry!.requestId).toMatch(/^req_/);
    expect(retry!.at).toBeGreaterThan(5_000);
    // cut after message_start: what it reported is on the record, normalised
    expect(retry!.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: {} });
  });

  it('a stop sequence is reported only for a run that a stop sequence ended', async () => {
    // a message that names a stop sequence but ended on end_turn (no API does; a hostile one might)
    const { result } = await runScripted([text('hi', 'end_turn', { stopSequence: '###' })]);
    expect(result.status).toBe('completed');
    expect(result.stopSequence).toBeNull();
    expect(result.segments[0]!.stopSequence).toBe('###');
  });

  it('stop details are reported only for a refusal', async () => {
    const { result } = await runScripted([text('hi', 'end_turn', { stopDetails: { type: 'refusal', category: null, explanation: null } })]);
    expect(result.stopDetails).toBeNull();
  });

  it('raise: max_tokens × factor is rounded up (101 × 1.5 → 152)', async () => {
    const cut = { content: [{ type: 'text' as const, text: 'cut' }], stopReason: 'max_tokens' };
    const { requests } = await runScripted([cut, text('whole')], { params: { model: 'm', max_tokens: 101 }, maxTokensPolicy: 'raise', maxTokensRaiseFactor: 1.5 });
    expect(requests.map((r) => r.max_tokens)).toEqual([101, 152]);
  });

  it('raise at the ceiling: incomplete, no further request', async () => {
    const cut = { content: [{ type: 'text' as const, text: 'cut' }], stopReason: 'max_tokens' };
    const { result, requests } = await runScripted([cut, text('never')], { params: { model: 'm', max_tokens: 300 }, maxTokensPolicy: 'raise', maxTokensCeiling: 300 });
    expect(requests).toHaveLength(1);
    expect(result.status).toBe('incomplete');
  });
});

describe('what goes on from one request to the next', () => {
  it('the container a response ran in goes on to every later request, also past a response that names none', async () => {
    const events = messageEvents(toolUse([{ id: 'toolu_c1', name: 'echo', input: { n: 1 } }]));
    (events[0] as unknown as { message: Record<string, unknown> }).message['container'] = { id: 'container_01A', expires_at: '2026-12-01T16:00:00Z' };
    const { result, requests } = await runScripted([{ sse: eventsToSse(events) }, toolUse([{ id: 'toolu_c2', name: 'echo', input: { n: 2 } }]), text('done')], { tools: [echoTool()] });
    expect(result.status).toBe('completed');
    expect(requests.map((r) => (r as { container?: unknown }).container)).toEqual([undefined, 'container_01A', 'container_01A']);
    // a run that never ran in a container sends no container param at all
    const plain = await runScripted([toolUse([{ id: 'toolu_p1', name: 'echo' }]), text('done')], { tools: [echoTool()] });
    expect(plain.requests.map((r) => 'container' in r)).toEqual([false, false]);
  });

  it('a retry after a stream that failed before message_start records no usage (null, not zeros)', async () => {
    const model = scriptedModel([{ fail: 'overloaded_error', after: 0 }, text('ok')]);
    const result = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', createStream: model.createStream, checkpoint: false, retry: { baseDelayMs: 0, maxDelayMs: 0 } }).settled;
    expect(result.status).toBe('completed');
    expect(result.retries).toHaveLength(1);
    expect(result.retries[0]!.usage).toBeNull();
  });

  it('a checkpoint whose raise factor is not > 1 is refused (it could not grow max_tokens)', async () => {
    const { result } = await runScripted([text('hi')]);
    for (const factor of [1, 0.5]) {
      const bad = asCheckpoint({ ...result, state: { ...result.state, settings: { ...result.state.settings, maxTokensRaiseFactor: factor } } });
      let error: unknown;
      try {
        await startResume(bad, { createStream: scriptedModel([]).createStream, checkpoint: false }).settled;
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toMatchObject({ code: 'checkpoint_invalid', message: expect.stringContaining('state.settings.maxTokensRaiseFactor') });
    }
  });
});
