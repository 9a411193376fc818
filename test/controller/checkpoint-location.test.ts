import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTurn } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';

// What the README promises about the default store: where it writes, and that
// `checkpoint: false` writes nothing at all.
const cwd = process.cwd();
const dirs: string[] = [];
afterEach(() => {
  process.chdir(cwd);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function inScratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'turnstate-cwd-'));
  dirs.push(dir);
  process.chdir(dir);
  return dir;
}

const reply = { content: [{ type: 'text' as const, text: 'hi' }], stopReason: 'end_turn' };

describe('default checkpoint location', () => {
  it('without a checkpoint option a run writes .turnstate/runs/<runId>.json under the cwd, and keeps it', async () => {
    const dir = inScratchDir();
    const result = await runTurn({ params: { model: 'claude-sonnet-4-6', max_tokens: 10 }, messages: 'hello', createStream: scriptedModel([reply]).createStream });
    expect(result.status).toBe('completed');
    expect(readdirSync(join(dir, '.turnstate', 'runs'))).toEqual([`${result.runId}.json`]);
  });

  it('checkpoint: false writes nothing, not even the directory', async () => {
    const dir = inScratchDir();
    const result = await runTurn({ params: { model: 'claude-sonnet-4-6', max_tokens: 10 }, messages: 'hello', createStream: scriptedModel([reply]).createStream, checkpoint: false });
    expect(result.status).toBe('completed');
    expect(existsSync(join(dir, '.turnstate'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
