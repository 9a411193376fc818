import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, startRun, type ControllerEvent } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, text, toolUse } from './helpers.js';

const script = () => [{ fail: 'overloaded_error' as const }, toolUse([{ id: 't1', name: 'echo', input: { a: 1 } }], 'Checking.'), text('Done.')];

describe('events', () => {
  it('are delivered as callbacks, through an async iterator, and as JSONL — the same sequence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-ev-'));
    const log = join(dir, 'events.jsonl');
    const viaCallback: ControllerEvent[] = [];
    const segmentEnds: number[] = [];
    const model = scriptedModel(script());
    const handle = startRun({
      params: { model: 'm', max_tokens: 10 },
      messages: 'x',
      tools: [echoTool()],
      createStream: model.createStream,
      checkpoint: new MemoryCheckpointStore(),
      retry: { baseDelayMs: 1 },
      onEvent: (e) => viaCallback.push(e),
      on: { segment_end: (e) => segmentEnds.push(e.segment) },
      eventLog: log,
    });
    const viaIterator: ControllerEvent[] = [];
    for await (const event of handle.events()) viaIterator.push(event);
    const result = await handle.result;
    expect(result.status).toBe('completed');
    const fromFile = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as ControllerEvent);
    expect(viaIterator).toEqual(viaCallback);
    expect(fromFile).toEqual(JSON.parse(JSON.stringify(viaCallback)));
    expect(segmentEnds).toEqual([0, 1]);

    const types = viaCallback.map((e) => e.type);
    expect(types[0]).toBe('run_start');
    expect(types.at(-1)).toBe('run_end');
    for (const t of ['state', 'segment_start', 'text', 'segment_end', 'tool_start', 'tool_end', 'retry', 'continuation', 'checkpoint'] as const) {
      expect(types).toContain(t);
    }
    const ends = viaCallback.filter((e): e is Extract<ControllerEvent, { type: 'segment_end' }> => e.type === 'segment_end');
    expect(ends.map((e) => e.stopReason)).toEqual(['tool_use', 'end_turn']);
    expect(ends[0]!.usage.output_tokens).toBe(10);
    expect(ends[0]!.requestId).toMatch(/^req_/);
    const retry = viaCallback.find((e) => e.type === 'retry') as Extract<ControllerEvent, { type: 'retry' }>;
    expect(retry).toMatchObject({ segment: 0, attempt: 1, code: 'api_error', apiErrorType: 'overloaded_error' });
    const texts = viaCallback.filter((e) => e.type === 'text').map((e) => (e as { delta: string }).delta).join('');
    expect(texts).toContain('Checking.');
    const end = viaCallback.at(-1) as Extract<ControllerEvent, { type: 'run_end' }>;
    expect(end).toMatchObject({ status: 'completed', stopReason: 'end_turn', errorCode: null });
  });

  it('emits a budget event, and a listener that throws cannot break the run', async () => {
    const events: ControllerEvent[] = [];
    const model = scriptedModel([toolUse([{ id: 't1', name: 'echo' }]), text('x')]);
    const result = await startRun({
      params: { model: 'm', max_tokens: 10 },
      messages: 'x',
      tools: [echoTool()],
      createStream: model.createStream,
      checkpoint: false,
      budgets: { maxContinuations: 0 },
      onEvent: (e) => {
        events.push(e);
        throw new Error('observer bug');
      },
    }).settled;
    expect(result.status).toBe('budget_exceeded');
    expect(events.find((e) => e.type === 'budget')).toMatchObject({ budget: 'continuations', limit: 0, used: 1 });
  });
});
