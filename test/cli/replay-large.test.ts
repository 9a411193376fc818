import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/commands/replay.js';
import { SLICE } from '../../src/cli/json-stream.js';
import { captureIO } from './helpers.js';
import { spawnCli } from './spawn.js';

// Issue 12: `replay --json` of a long message writes its line in pieces (a
// 20 MB text was one 20 MB string, then one 20 MB buffer on its way out).
const event = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
/** Deltas with escapes and astral pairs; 12 UTF-16 units each, so slices fall everywhere, pairs included. */
const DELTA = 'ab"\\\n😀é 𝑥';
const DELTAS = 200_000;

let dir = '';
let file = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'turnstate-replay-large-'));
  file = join(dir, 'long-text.sse');
  const events = [
    event('message_start', { type: 'message_start', message: { id: 'msg_long', type: 'message', role: 'assistant', model: 'claude-opus-4-7', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } }),
    event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ...Array.from({ length: DELTAS }, () => event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: DELTA } })),
    event('content_block_stop', { type: 'content_block_stop', index: 0 }),
    event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }),
    event('message_stop', { type: 'message_stop' }),
  ];
  await writeFile(file, events.join(''));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('turnstate replay --json of a long message', () => {
  it('writes the line in pieces of about SLICE characters, which join to the whole line', async () => {
    const io = captureIO();
    const writes: string[] = [];
    const stdout = io.stdout;
    const code = await replayCommand.run(['--json', file], { ...io, stdout: (text) => (writes.push(text), stdout(text)) });
    expect(code).toBe(0);
    expect(DELTA.length * DELTAS).toBeGreaterThan(8 * SLICE);
    expect(writes.length).toBeGreaterThan(8);
    expect(Math.max(...writes.map((w) => w.length))).toBeLessThan(3 * SLICE);
    const out = io.out();
    expect(out.endsWith('}\n')).toBe(true);
    expect(out.indexOf('\n')).toBe(out.length - 1);
    const line = JSON.parse(out) as { ok: boolean; message: { content: { type: string; text: string }[] } };
    expect(line.ok).toBe(true);
    expect(line.message.content).toEqual([{ type: 'text', text: DELTA.repeat(DELTAS) }]);
  }, 60_000);

  it('the process writes the same bytes with and without the bundle, and they are the JSON of the message', async () => {
    const bundled = await spawnCli(['replay', '--json', file]);
    const unbundled = await spawnCli(['replay', '--json', file], { env: { TURNSTATE_NO_BUNDLE: '1' } });
    expect(bundled.code).toBe(0);
    expect(bundled.stdout).toBe(unbundled.stdout);
    expect((JSON.parse(bundled.stdout) as { message: { content: { text: string }[] } }).message.content[0]!.text).toBe(DELTA.repeat(DELTAS));
  }, 60_000);
});
