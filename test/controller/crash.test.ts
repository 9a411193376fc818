/**
 * Crash injection: stop the run at every step boundary (right after each
 * checkpoint is durable), resume from that checkpoint, and get the same final
 * transcript as an uninterrupted run — with each tool's side effect (a line
 * appended to a file) happening exactly once. Once in process, once with a
 * real child process killed with SIGKILL.
 */
import { fork } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, readCheckpointFile, startResume, startRun, type RunResult } from '../../src/controller/index.js';
import { appendTool, crashModel, RUN_OPTIONS } from './fixtures/crash-scenario.js';
import { dyingStore, lines } from './fixtures/dying-store.js';


async function uninterrupted() {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-crash-'));
  const effects = join(dir, 'effects.log');
  const store = new MemoryCheckpointStore();
  const result = await startRun({ ...RUN_OPTIONS, tools: [appendTool(effects)], createStream: crashModel().createStream, checkpoint: store }).settled;
  return { result, writes: store.saved.length, effects: await lines(effects) };
}

function expectSameOutcome(resumed: RunResult, reference: RunResult): void {
  expect(resumed.status).toBe(reference.status);
  expect(resumed.messages).toEqual(reference.messages);
  expect(resumed.text).toBe(reference.text);
  expect(resumed.toolCalls.map((c) => [c.id, c.result])).toEqual(reference.toolCalls.map((c) => [c.id, c.result]));
}

describe('crash injection', () => {
  it('in process: stopped after every checkpoint, the resumed run ends identically and each side effect happens once', async () => {
    const reference = await uninterrupted();
    expect(reference.result.status).toBe('completed');
    expect(reference.effects.map((l) => l.split(' ')[1])).toEqual(['alpha', 'beta', 'gamma']);
    expect(reference.writes).toBeGreaterThanOrEqual(10);

    for (let crashAt = 1; crashAt <= reference.writes; crashAt++) {
      const dir = await mkdtemp(join(tmpdir(), 'turnstate-crash-'));
      const effects = join(dir, 'effects.log');
      const runs: string[] = [];
      const model = crashModel();
      const dying = dyingStore(crashAt);
      // the first life: abandoned once checkpoint `crashAt` is durable
      void startRun({ ...RUN_OPTIONS, tools: [appendTool(effects, runs)], createStream: model.createStream, checkpoint: dying.store }).settled;
      await dying.died;
      const checkpoint = dying.last()!;
      expect(checkpoint.seq).toBe(crashAt);
      // the second life: a fresh process would load the checkpoint and resume
      const resumed = await startResume(checkpoint, { tools: [appendTool(effects, runs)], createStream: model.createStream, checkpoint: new MemoryCheckpointStore() }).settled;
      expectSameOutcome(resumed, reference.result);
      expect(await lines(effects), `crash after checkpoint ${crashAt}`).toEqual(reference.effects);
      expect(runs.sort()).toEqual(['toolu_01CrashA', 'toolu_01CrashB', 'toolu_01CrashC']);
      expect(new Set(model.steps())).toEqual(new Set([0, 1, 2, 3, 4]));
    }
  });

  it('child process: SIGKILLed after every checkpoint, resumed from the checkpoint file', async () => {
    const reference = await uninterrupted();
    const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
    const boundaries = Array.from({ length: reference.writes }, (_, i) => i + 1);
    const limit = pLimit(4);
    const outcomes = await Promise.all(
      boundaries.map((crashAt) => limit(async () => {
        const dir = await mkdtemp(join(tmpdir(), 'turnstate-kill-'));
        const checkpointFile = join(dir, 'run.json');
        const effects = join(dir, 'effects.log');
        const proc = fork(child, [checkpointFile, effects, String(crashAt)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        let stderr = '';
        proc.stderr!.on('data', (d) => (stderr += d));
        const exit = await new Promise<{ signal: NodeJS.Signals | null; boundary: number | null }>((resolve) => {
          let boundary: number | null = null;
          proc.on('message', (message: { boundary?: number }) => {
            if (message.boundary !== undefined) {
              boundary = message.boundary;
              proc.kill('SIGKILL');
            }
          });
          proc.on('exit', (_code, signal) => resolve({ signal, boundary }));
        });
        expect(exit, stderr).toEqual({ signal: 'SIGKILL', boundary: crashAt });
        const checkpoint = await readCheckpointFile(checkpointFile);
        expect(checkpoint.seq).toBe(crashAt);
        const resumed = await startResume(checkpoint, { tools: [appendTool(effects)], createStream: crashModel().createStream, checkpoint: { path: checkpointFile } }).settled;
        return { crashAt, finishedBefore: checkpoint.state.phase === 'done', resumed, effects: await lines(effects), final: await readCheckpointFile(checkpointFile) };
      })),
    );
    for (const { crashAt, finishedBefore, resumed, effects, final } of outcomes) {
      expectSameOutcome(resumed, reference.result);
      expect(effects, `SIGKILL after checkpoint ${crashAt}`).toEqual(reference.effects);
      expect(final.state.phase).toBe('done');
      // the resumed run went on journaling in the same file (a finished run's checkpoint is left as it is)
      if (finishedBefore) expect(final.seq).toBe(crashAt);
      else expect(final.seq).toBeGreaterThan(crashAt);
    }
  }, 240_000); // one tsx child per checkpoint: slow on a loaded 2-core machine, and a timeout here says nothing about exactly-once
});
