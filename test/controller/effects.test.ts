/**
 * The effect boundary (effects.ts): a run whose side effects are owned by an
 * engine. The engine here is a small in-memory journal keyed by step name —
 * enough to show that what the controller hands out is all a durable engine
 * needs to replay a run without the model or the tools.
 */
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  ControllerError,
  MemoryCheckpointStore,
  SegmentFailure,
  segmentFailureFromJSON,
  segmentFailureJSON,
  startResume,
  startRun,
  type Checkpoint,
  type ModelRequest,
  type ReceivedSegment,
  type RunEffects,
  type ToolCallRecord,
  type ToolResult,
} from '../../src/controller/index.js';
import { scriptedModel, type ScriptedReply } from '../../src/testing/index.js';
import { echoTool, text, toolUse } from './helpers.js';

type Entry = { ok: true; value: unknown } | { ok: false; failure: ReturnType<typeof segmentFailureJSON> };

/** A toy durable engine: each step runs once; its output (or its failure) is kept by name and given back on a replay. */
function journalingEngine(journal = new Map<string, Entry>()) {
  const ran: string[] = [];
  const step = async <T>(name: string, perform: () => Promise<T>): Promise<T> => {
    let entry = journal.get(name);
    if (entry === undefined) {
      ran.push(name);
      try {
        entry = { ok: true, value: JSON.parse(JSON.stringify(await perform())) };
      } catch (error) {
        if (!(error instanceof SegmentFailure)) throw error;
        entry = { ok: false, failure: segmentFailureJSON(error) };
      }
      journal.set(name, entry);
    }
    if (!entry.ok) throw segmentFailureFromJSON(entry.failure);
    return structuredClone(entry.value) as T;
  };
  const effects: Partial<RunEffects> = {
    modelRequest: (request: ModelRequest, perform) => step<ReceivedSegment>(`model ${request.segment}.${request.attempt}`, perform),
    toolCall: (call: ToolCallRecord, perform) => step<ToolResult>(`tool ${call.id}`, perform),
    sleep: async () => {},
    now: () => 1_000,
    random: () => 0.5,
  };
  return { effects, journal, ran };
}

const script = (): ScriptedReply[] => [
  { fail: 'dropped', after: 3, spec: text('cut') },
  toolUse([
    { id: 'toolu_a', name: 'side', input: { n: 1 } },
    { id: 'toolu_b', name: 'side', input: { n: 2 } },
  ]),
  text('done'),
];

describe('effects: a durable engine owns the side effects', () => {
  it('replays a whole run — a retried request, two tool calls — from its journal, with the model and the tools gone', async () => {
    const sideEffects: unknown[] = [];
    const side = echoTool('side', { run: (input: unknown) => (sideEffects.push(input), `ok ${JSON.stringify(input)}`) });
    const first = journalingEngine();
    const model = scriptedModel(script());
    const original = await startRun({ params: { model: 'm', max_tokens: 50 }, messages: 'go', tools: [side], createStream: model.createStream, checkpoint: false, effects: first.effects }).settled;
    expect(original.status).toBe('completed');
    expect(first.ran).toEqual(['model 0.0', 'model 0.1', 'tool toolu_a', 'tool toolu_b', 'model 1.0']);
    expect(sideEffects).toEqual([{ n: 1 }, { n: 2 }]);

    // The "retried invocation": same journal; the model refuses to be called and the tool to run.
    const replay = journalingEngine(first.journal);
    const gone = echoTool('side', {
      run: () => {
        throw new Error('the tool ran again');
      },
    });
    const replayed = await startRun({
      params: { model: 'm', max_tokens: 50 },
      messages: 'go',
      tools: [gone],
      createStream: () => {
        throw new Error('the model was asked again');
      },
      checkpoint: false,
      effects: replay.effects,
    }).settled;
    expect(replay.ran).toEqual([]);
    expect(replayed.status).toBe('completed');
    expect(replayed.messages).toEqual(original.messages);
    expect(replayed.retries.map((r) => [r.code, r.delayMs])).toEqual(original.retries.map((r) => [r.code, r.delayMs]));
    expect(replayed.retries[0]!.code).toBe('incomplete_stream');
    expect(sideEffects).toHaveLength(2);
  });

  it('hands modelRequest exactly the params that go on the wire, with segment, attempt and kind', async () => {
    const seen: ModelRequest[] = [];
    const model = scriptedModel(script());
    await startRun({
      params: { model: 'm', max_tokens: 50 },
      messages: 'go',
      tools: [echoTool('side')],
      createStream: model.createStream,
      checkpoint: false,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
      effects: { modelRequest: (request, perform) => (seen.push(structuredClone(request)), perform()) },
    }).result;
    expect(seen.map((r) => [r.segment, r.attempt, r.kind])).toEqual([
      [0, 0, 'initial'],
      [0, 1, 'initial'],
      [1, 0, 'tool_results'],
    ]);
    expect(seen.map((r) => r.params)).toEqual(model.requests);
    expect(new Set(seen.map((r) => r.runId)).size).toBe(1);
  });

  it('takes time, backoff sleep and jitter from the effects', async () => {
    const slept: number[] = [];
    const model = scriptedModel([{ fail: 'overloaded_error', after: 2 }, text('fine')]);
    const result = await startRun({
      params: { model: 'm', max_tokens: 50 },
      messages: 'go',
      createStream: model.createStream,
      checkpoint: false,
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      effects: { now: () => 42_000, random: () => 0, sleep: async (ms) => void slept.push(ms) },
    }).result;
    // Equal jitter with random() = 0 is half the delay; the 30 s wait is the effect's, not a timer's.
    expect(slept).toEqual([30_000]);
    expect(result.retries[0]!.delayMs).toBe(30_000);
    expect(result.state.startedAt).toBe(42_000);
    expect(result.segments[0]!.startedAt).toBe(42_000);
  });

  it('writes checkpoints through effects.journal', async () => {
    const store = new MemoryCheckpointStore();
    const result = await startRun({ params: { model: 'm', max_tokens: 50 }, messages: 'go', createStream: scriptedModel([text('hi')]).createStream, effects: { journal: store } }).result;
    expect(store.saved.at(-1)!.state.outcome!.status).toBe('completed');
    expect(await store.load(result.runId)).not.toBeNull();
  });

  it('refuses an effect given together with the option it replaces, and a member that is not a function', () => {
    const base = { params: { model: 'm', max_tokens: 50 }, messages: 'go', createStream: scriptedModel([text('hi')]).createStream } as const;
    const cases: [Partial<RunEffects>, Record<string, unknown>, RegExp][] = [
      [{ now: () => 1 }, { clock: { now: () => 1, sleep: async () => {} } }, /effects\.now and the `clock` option/],
      [{ sleep: async () => {} }, { clock: { now: () => 1, sleep: async () => {} } }, /effects\.sleep and the `clock` option/],
      [{ random: () => 0 }, { random: () => 0 }, /effects\.random and the `random` option/],
      [{ journal: new MemoryCheckpointStore() }, { checkpoint: false }, /effects\.journal and the `checkpoint` option/],
      [{ toolCall: 'no' as never }, {}, /effects\.toolCall must be a function/],
      [{ journal: { save: async () => {} } as never }, {}, /effects\.journal must be a CheckpointStore/],
    ];
    for (const [effects, extra, message] of cases) {
      let thrown: unknown;
      try {
        startRun({ ...base, ...extra, effects });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ControllerError);
      expect((thrown as ControllerError).code).toBe('invalid_options');
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it('a toolCall that rejects with tool_needs_decision stops the batch resumably; a decision finishes it without running the tool', async () => {
    const ran: string[] = [];
    const side = echoTool('side', { run: (input: unknown) => (ran.push(JSON.stringify(input)), 'ran') });
    const model = scriptedModel([toolUse([{ id: 'toolu_x', name: 'side', input: { n: 1 } }]), text('after')]);
    const stopped = await startRun({
      params: { model: 'm', max_tokens: 50 },
      messages: 'go',
      tools: [side],
      createStream: model.createStream,
      checkpoint: false,
      toolConcurrency: 1,
      effects: {
        toolCall: async (call) => {
          throw new ControllerError('tool_needs_decision', `in doubt: ${call.id}`, { toolUseId: call.id, toolCall: { id: call.id, name: call.name, input: call.input } });
        },
      },
    }).settled;
    expect(stopped.status).toBe('failed');
    expect(stopped.error?.code).toBe('tool_needs_decision');
    expect(stopped.state.phase).toBe('running_tools');
    expect(stopped.toolCalls.map((c) => c.status)).toEqual(['started']);
    expect(ran).toEqual([]);

    const checkpoint: Checkpoint = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, seq: 1, savedAt: new Date(0).toISOString(), state: stopped.state };
    const resumed = await startResume(checkpoint, {
      tools: [side],
      createStream: model.createStream,
      checkpoint: false,
      decisions: { toolu_x: { content: 'decided by hand', is_error: false } },
    }).result;
    expect(resumed.status).toBe('completed');
    expect(resumed.toolCalls[0]!.result).toEqual({ content: 'decided by hand', is_error: false });
    expect(ran).toEqual([]);
  });
});
