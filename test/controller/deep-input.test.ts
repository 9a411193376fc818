import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findStuckLoop } from '../../src/controller/budget.js';
import { canonicalJson, MAX_INPUT_DEPTH, nestsDeeperThan } from '../../src/controller/history.js';
import { invokeTool } from '../../src/controller/tools.js';
import type { RunnableTool, ToolCallRecord } from '../../src/controller/types.js';
import { eventsToSse, messageEvents } from '../../src/testing/index.js';
import { runScripted, text } from './helpers.js';

const deepJson = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
const deepValue = (levels: number): unknown => JSON.parse(deepJson(levels));

/** A tool_use response whose input nests `levels` deep, streamed as input_json_delta pieces. */
function deepToolUseSse(levels: number, id = 'toolu_deep'): string {
  const events: Record<string, unknown>[] = messageEvents({ content: [{ type: 'tool_use', id, name: 'probe', input: {} }], stopReason: 'tool_use' }) as never;
  const first = events.findIndex((e) => e.type === 'content_block_delta');
  const count = events.filter((e) => e.type === 'content_block_delta').length;
  const json = deepJson(levels);
  const deltas = [];
  for (let k = 0; k < json.length; k += 4096) deltas.push({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: json.slice(k, k + 4096) } });
  events.splice(first, count, ...deltas);
  return eventsToSse(events);
}

/** The obvious recursive writer, as the oracle for the shallow values fast-check makes. */
const reference = (v: unknown): string =>
  v === null || typeof v !== 'object'
    ? JSON.stringify(v)
    : Array.isArray(v)
      ? `[${v.map(reference).join(',')}]`
      : `{${Object.keys(v).sort().map((key) => `${JSON.stringify(key)}:${reference((v as Record<string, unknown>)[key])}`).join(',')}}`;

describe('deep tool input', () => {
  it('canonicalJson is JSON with sorted keys (property), and handles 100,000 levels', () => {
    const property = (impl: (v: unknown) => string) => fc.property(fc.jsonValue(), (v) => {
      expect(impl(v)).toBe(reference(v));
    });
    fc.assert(property(canonicalJson), { numRuns: 500 });
    expect(fc.check(property((v) => JSON.stringify(v)), { numRuns: 500 }).failed).toBe(true); // key order matters: an unsorted writer is caught
    expect(canonicalJson(deepValue(100_000))).toBe(deepJson(100_000));
  });

  it('the stuck-loop check meets 100,000-level inputs without a RangeError', () => {
    const calls = [1, 2, 3].map((i) => ({ id: `t${i}`, name: 'probe', input: deepValue(100_000) }));
    expect(findStuckLoop([], calls, 3)?.code).toBe('stuck_loop');
  });

  it('nestsDeeperThan counts levels ({} is one) without recursion', () => {
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan(deepValue(1000), 1000)).toBe(false);
    expect(nestsDeeperThan(deepValue(1001), 1000)).toBe(true);
    expect(nestsDeeperThan([[1], { a: [{}] }], 4)).toBe(false);
    expect(nestsDeeperThan([[1], { a: [{}] }], 3)).toBe(true);
    expect(nestsDeeperThan(deepValue(100_000), 1000)).toBe(true);
  });

  it(`input ${MAX_INPUT_DEPTH} levels deep goes through a whole run: journal, event log, the tool's copy, the next request`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-deep-'));
    let seen: unknown;
    const probe: RunnableTool = { name: 'probe', run: (input: unknown) => ((seen = input), 'ok') };
    const { result, requests, store } = await runScripted([{ sse: deepToolUseSse(MAX_INPUT_DEPTH) }, text('done')], { tools: [probe], eventLog: join(dir, 'events.jsonl') });
    expect(result.status).toBe('completed');
    expect(canonicalJson(seen)).toBe(deepJson(MAX_INPUT_DEPTH));
    expect(requests).toHaveLength(2);
    expect(canonicalJson(store.saved.at(-1)!.state.toolCalls[0]!.input)).toBe(deepJson(MAX_INPUT_DEPTH));
    const log = (await readFile(join(dir, 'events.jsonl'), 'utf8')).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { type: string });
    expect(log.at(-1)!.type).toBe('run_end');
  });

  for (const levels of [MAX_INPUT_DEPTH + 1, 5_000, 100_000]) {
    it(`input ${levels} levels deep: a typed stream_failed before anything is recorded or run — no RangeError anywhere`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'turnstate-deep-'));
      let runs = 0;
      const probe: RunnableTool = { name: 'probe', run: () => String(++runs) };
      const { result, requests, store } = await runScripted([{ sse: deepToolUseSse(levels) }, text('never')], {
        tools: [probe],
        eventLog: join(dir, 'events.jsonl'),
        on: { block: () => {} },
      });
      expect(result.status).toBe('failed');
      expect(result.error?.code).toBe('stream_failed');
      expect(result.error?.message).toBe(`the response's tool_use block 0 ('probe') has input nested deeper than ${MAX_INPUT_DEPTH} levels, more than the controller can journal and send back`);
      expect(runs).toBe(0);
      expect(requests).toHaveLength(1);
      expect(result.toolCalls).toEqual([]);
      // the response is not lost: it is the error's cause
      expect((result.error?.cause as { message?: { content: { type: string }[] } }).message?.content[0]!.type).toBe('tool_use');
      // resumable: the last checkpoint is the request, which a resume re-issues
      expect(store.saved.at(-1)!.state.phase).toBe('requesting');
      // Every line written is whole JSON. Past ~4,000 levels the `block` event cannot be stringified and the
      // event log stops there (reported as observer_failed, the log's own contract); the run is unaffected.
      const log = (await readFile(join(dir, 'events.jsonl'), 'utf8')).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { type: string });
      if (levels < 4_000) expect(log.map((e) => e.type)).toContain('run_end');
    }, 60_000);
  }

  it('a resumed call whose input is too deep to copy is answered is_error, not run', async () => {
    let runs = 0;
    const probe: RunnableTool = { name: 'probe', run: () => String(++runs) };
    const call: ToolCallRecord = { id: 't', name: 'probe', input: deepValue(5_000), segment: 0, status: 'started', result: null, attempts: 1, startedAt: 0, durationMs: null };
    const result = await invokeTool(probe, call, 0, new AbortController().signal);
    expect(result).toEqual({ content: "Error: the input of tool 'probe' could not be copied for the tool (it is nested too deeply); the tool did not run", is_error: true });
    expect(runs).toBe(0);
  });
});
