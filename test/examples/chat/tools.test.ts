import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveNoteTool } from '../../../examples/chat/tools.js';

const context = (id: string) => ({ toolUse: { id } }) as never;

describe('save_note', () => {
  it('makes its folder on the first call, and again if it was removed since; one line per call', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'turnstate-chat-tool-')), 'data', 'notes.jsonl');
    const tool = saveNoteTool(path);
    expect(await tool.run({ note: 'one' }, context('toolu_1'))).toBe('saved note (tool call toolu_1)');
    rmSync(join(path, '..'), { recursive: true });
    expect(await tool.run({ note: 'two' }, context('toolu_2'))).toBe('saved note (tool call toolu_2)');
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.toolUseId, l.note])).toEqual([['toolu_2', 'two']]);
  });
});
