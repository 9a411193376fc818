/**
 * A5: a checkpoint that is valid JSON but the wrong shape is `checkpoint_invalid`
 * naming the field — never a raw TypeError, never a setting read as undefined,
 * and `settled` never rejects.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startResumeWith } from '../../../src/controller/controller.js';
import { ControllerError } from '../../../src/controller/errors.js';
import { MemoryCheckpointStore, parseCheckpoint, resume, startResume, startRun, type Checkpoint, type RunnableTool } from '../../../src/controller/index.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { text, toolUse } from '../helpers.js';

const tool = (name: string): RunnableTool => ({ name, input_schema: { type: 'object' }, run: () => `${name} ran` });
const TOOLS = [tool('alpha'), tool('beta'), tool('gamma')];

/** A checkpoint in the middle of a batch: alpha done, beta started, gamma pending — every kind of field filled. */
async function midBatch(): Promise<Checkpoint> {
  const script = [
    toolUse([
      { id: 'toolu_a', name: 'alpha', input: { n: 1 } },
      { id: 'toolu_b', name: 'beta', input: { n: 2 } },
      { id: 'toolu_c', name: 'gamma', input: { n: 3 } },
    ], 'Checking.'),
    text('all done'),
  ];
  const store = new MemoryCheckpointStore();
  const model = scriptedModel((_r, i) => script[i]!, { latency: 'immediate' });
  await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'go', tools: TOOLS, createStream: model.createStream, checkpoint: store, toolConcurrency: 1 }).settled;
  return store.saved.find((c) => c.state.toolCalls.map((t) => t.status[0]).join('') === 'dsp')!;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
function setAt(root: unknown, path: (string | number)[], value: unknown | typeof DELETE): unknown {
  const copy = clone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === DELETE) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}
const DELETE = Symbol('delete');

function expectInvalid(run: () => unknown, pathPattern: RegExp): ControllerError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ControllerError);
    expect((error as ControllerError).code).toBe('checkpoint_invalid');
    expect((error as Error).message).toMatch(pathPattern);
    return error as ControllerError;
  }
  throw new Error('accepted an invalid checkpoint');
}

describe('checkpoint validation', () => {
  it('names the field of each defect the issue found (each crashed the run with a raw error, or misbehaved, before)', async () => {
    const cp = await midBatch();
    const model = scriptedModel([text('x')]);
    const go = (value: unknown) => () => startResume(value as Checkpoint, { tools: TOOLS, createStream: model.createStream, checkpoint: false });
    // "(state.params.tools ?? []).map is not a function"
    expectInvalid(go(setAt(cp, ['state', 'params', 'tools'], 'web_search')), /state\.params\.tools: .*expected array/);
    // "Cannot use 'in' operator to search for 'name' in 1"
    expectInvalid(go(setAt(cp, ['state', 'params', 'tools', 0], 1)), /state\.params\.tools\[0\]: .*expected object/);
    // every tool "timed out after undefined ms"
    expectInvalid(go(setAt(cp, ['state', 'settings', 'toolTimeoutMs'], DELETE)), /state\.settings\.toolTimeoutMs: .*expected number/);
    // reported as request_failed
    expectInvalid(go(setAt(cp, ['state', 'settings', 'toolConcurrency'], DELETE)), /state\.settings\.toolConcurrency: .*expected number/);
    // several defects: all of them named
    const many = setAt(setAt(cp, ['state', 'usage', 'input_tokens'], -3), ['state', 'toolCalls', 1, 'status'], 'running');
    const error = expectInvalid(go(many), /state\.usage\.input_tokens: .*; state\.toolCalls\[1\]\.status: /);
    expect(error.message).not.toMatch(/TypeError/);
    // a torn batch: names the place
    expectInvalid(go(setAt(cp, ['state', 'batch', 0], 'toolu_zzz')), /state\.batch\[0\]: names "toolu_zzz"/);
    expectInvalid(go({ ...cp, version: 9 }), /version 9 is not supported/);
    expectInvalid(go({ ...cp, format: 'other' }), /format is "other"/);
  });

  it('resume(path) of such a file rejects with checkpoint_invalid, and the CLI-facing reader says which field', async () => {
    const cp = await midBatch();
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-schema-'));
    const path = join(dir, 'bad.json');
    await writeFile(path, JSON.stringify(setAt(cp, ['state', 'settings', 'retry'], null)));
    await expect(resume(path, { tools: TOOLS, createStream: scriptedModel([]).createStream })).rejects.toMatchObject({
      code: 'checkpoint_invalid',
      message: expect.stringMatching(/state\.settings\.retry: .*expected object/),
    });
  });

  // Every path of a real checkpoint, and what may be put there.
  const paths = (value: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
    if (value === null || typeof value !== 'object') return [prefix];
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
    return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
  };
  const junk = fc.oneof(
    fc.constantFrom<unknown>(DELETE, null, '', 'x', -1, 0, 1.5, 1e308, true, [], [1], {}, { type: 1 }, [{}]),
    fc.jsonValue({ maxDepth: 2 }),
  );

  /** Far more than a resume of this small checkpoint takes on a loaded machine (milliseconds). */
  const RUN_TIMEOUT_MS = 10_000;

  let escaped: (error: unknown) => void = () => {};
  /** Runs `body` with unhandled rejections handed to the run in progress (as its failure) instead of to vitest. */
  async function trappingEscapes(body: () => Promise<void>): Promise<void> {
    const others = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    const trap = (error: unknown) => escaped(error);
    process.on('unhandledRejection', trap);
    try {
      await body();
    } finally {
      process.off('unhandledRejection', trap);
      for (const listener of others) process.on('unhandledRejection', listener);
    }
  }

  /** Resuming a corrupted checkpoint: a typed refusal, or a run that settles with a typed outcome. Never a raw error. */
  async function resumesSafely(validate: (v: unknown) => Checkpoint, corrupted: unknown): Promise<void> {
    let handle;
    try {
      handle = startResumeWith(validate, corrupted, { tools: TOOLS, createStream: scriptedModel([text('fine')], { latency: 'immediate' }).createStream, checkpoint: false });
    } catch (error) {
      expect(error).toBeInstanceOf(ControllerError);
      expect((error as ControllerError).code).toBe('checkpoint_invalid');
      return;
    }
    // a raw error escaping the run (an unhandled rejection) fails this run at once, rather than leaving it unsettled
    const result = await Promise.race([handle.settled, new Promise<never>((_resolve, reject) => (escaped = reject))]);
    // a defect that slipped through surfaces as the controller failing on it
    expect(result.error?.message ?? '').not.toMatch(/the controller failed/);
    expect(result.error?.cause).not.toBeInstanceOf(TypeError);
  }

  it('property: any corruption of a real checkpoint is refused as checkpoint_invalid or resumes cleanly; settled never rejects', async () => {
    const cp = await midBatch();
    const all = paths(cp).filter((p) => p.length > 0);
    await trappingEscapes(() =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...all), junk, async (path, value) => {
          await resumesSafely(parseCheckpoint, setAt(cp, path, value));
        }),
        // a run that never settles fails (a clear counterexample) instead of timing the test out
        { numRuns: 400, timeout: RUN_TIMEOUT_MS },
      ),
    );
  }, 120_000);

  // Seed 47515 is the draw that hung this test before escapes were trapped and runs timed out: it stays pinned.
  for (const seed of [undefined, 47515]) {
    it(`the property catches a validator that checks only the envelope (as a hand-written one easily does)${seed === undefined ? '' : `; seed ${seed}`}`, async () => {
      const cp = await midBatch();
      const all = paths(cp).filter((p) => p.length > 0);
      const envelopeOnly = (v: unknown) => {
        const c = v as Checkpoint;
        if (c.format !== 'turnstate.checkpoint' || typeof c.state !== 'object') throw new ControllerError('checkpoint_invalid', 'bad envelope');
        return c;
      };
      await expect(
        trappingEscapes(() =>
          fc.assert(
            fc.asyncProperty(fc.constantFrom(...all), junk, async (path, value) => {
              await resumesSafely(envelopeOnly, setAt(cp, path, value));
            }),
            // What the envelope check lets through includes content that makes the run throw where nothing awaits
            // it (seed 47515 left `settled` pending and hung the test): such an escape, or a run that never settles,
            // counts as caught, and the first counterexample is enough — shrinking would only run more of them.
            { numRuns: 400, timeout: RUN_TIMEOUT_MS, endOnFailure: true, ...(seed === undefined ? {} : { seed }) },
          ),
        ),
      ).rejects.toThrow();
    }, 120_000);
  }
});
