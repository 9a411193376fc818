import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/commands/replay.js';
import { UsageError } from '../../src/cli/io.js';
import { repoRoot } from '../support/corpus.js';
import { captureIO } from './helpers.js';
import { spawnCli } from './spawn.js';

const rec = (name: string) => `recordings/${name}`;

describe('turnstate replay', () => {
  it('--json prints exactly one object per input, in input order, with the documented keys', async () => {
    const io = captureIO();
    const inputs = [rec('end-turn-text.sse'), rec('broken-invalid-json.sse'), rec('max-tokens-mid-tool-use.sse')];
    const code = await replayCommand.run([...inputs, '--json'], io);
    expect(code).toBe(1);
    const lines = io.out().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['file'])).toEqual(inputs);
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(['diagnostics', 'dropped', 'error', 'file', 'invalidToolInputs', 'message', 'ok', 'stopReason']);
    expect(lines[0]).toMatchObject({ ok: true, stopReason: 'end_turn', error: null });
    expect(lines[1]).toMatchObject({ ok: false, error: { code: 'invalid_json' } });
    const error = lines[1]!['error'] as { eventIndex: number; byteOffset: number; message: string };
    // The byte offset points at the bad payload in the file.
    const bytes = readFileSync(join(repoRoot, rec('broken-invalid-json.sse')));
    const badLine = bytes.toString('utf8').split('\n').filter((l) => l.startsWith('data:'))[error.eventIndex]!;
    expect(bytes.indexOf(badLine.replace(/^data: ?/, ''))).toBe(error.byteOffset);
    expect(lines[2]).toMatchObject({ ok: true, stopReason: 'max_tokens', dropped: [{ type: 'tool_use', reason: 'unclosed' }] });
  });

  it('--json and the summary report a tool call whose streamed input is not JSON (fine-grained tool streaming)', async () => {
    const file = rec('tool-use-eager-invalid-json.sse');
    const io = captureIO();
    expect(await replayCommand.run([file, '--json'], io)).toBe(0);
    const line = JSON.parse(io.out()) as { ok: boolean; invalidToolInputs: unknown[] };
    expect(line.ok).toBe(true);
    expect(line.invalidToolInputs).toEqual([
      {
        index: 1,
        id: 'toolu_01MRxjvnq6pJLczAyd979amq',
        name: 'make_file',
        partial: '{"filename": "poem.txt", "lines_of_text": ["The sea at dusk, a "silver" hush, the gulls gone home"]}',
        reason: expect.stringContaining('does not parse'),
      },
    ]);
    const human = captureIO();
    await replayCommand.run([file], human);
    expect(human.out()).toMatch(/bad input *\n {4}\[1\] make_file toolu_01MRxjvnq6pJLczAyd979amq: input JSON does not parse/);
  });

  it('an incomplete stream reports the number of events received as its eventIndex, and keeps the partial message', async () => {
    const io = captureIO();
    await replayCommand.run([rec('broken-truncated-mid-block.sse'), '--json'], io);
    const line = JSON.parse(io.out()) as { error: { code: string; eventIndex: number }; message: { content: unknown[] } | null };
    const events = readFileSync(join(repoRoot, rec('broken-truncated-mid-block.sse')), 'utf8').split('\n').filter((l) => l.startsWith('data:')).length;
    expect(line.error).toMatchObject({ code: 'incomplete_stream', eventIndex: events });
    expect(line.message?.content.length).toBeGreaterThan(0);
  });

  it('exits 0 when every input is valid and complete, and prints a readable summary', async () => {
    const io = captureIO();
    expect(await replayCommand.run([rec('tool-use-text-says-done.sse'), rec('thinking-signature.sse')], io)).toBe(0);
    const text = io.out();
    expect(text).toContain('stop reason tool_use');
    expect(text).toContain('inBlock.toolInput');
    expect(text).toMatch(/usage\s+input \d+, output \d+/);
  });

  it('reads standard input for -', async () => {
    const io = captureIO(readFileSync(join(repoRoot, rec('refusal.sse')), 'utf8'));
    expect(await replayCommand.run(['-', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ file: '-', ok: true, stopReason: 'refusal' });
  });

  it('usage errors: unknown flag, no input, stdin twice', async () => {
    await expect(replayCommand.run(['--nope', rec('refusal.sse')], captureIO())).rejects.toThrow(UsageError);
    await expect(replayCommand.run([], captureIO())).rejects.toThrow(UsageError);
    await expect(replayCommand.run(['-', '-'], captureIO())).rejects.toThrow(UsageError);
  });

  it('--strict turns an unknown event type into an error', async () => {
    const stream = readFileSync(join(repoRoot, rec('end-turn-text.sse')), 'utf8').replace('event: ping', 'event: future_event\ndata: {"type":"future_event"}\n\nevent: ping');
    const lenient = captureIO(stream);
    expect(await replayCommand.run(['-', '--json'], lenient)).toBe(0);
    expect(JSON.parse(lenient.out())).toMatchObject({ ok: true, diagnostics: [{ code: 'unknown_event_type' }] });
    const strict = captureIO(stream);
    expect(await replayCommand.run(['-', '--json', '--strict'], strict)).toBe(1);
    expect(JSON.parse(strict.out())).toMatchObject({ ok: false, error: { code: 'unknown_event_type' } });
  });
});

describe('--help', () => {
  it('prints the command help from the dispatcher, but not for a -h after --', async () => {
    const { main } = await import('../../src/cli/main.js');
    const io = captureIO();
    expect(await main(['replay', '--help'], io)).toBe(0);
    expect(io.out()).toBe(`${replayCommand.help}\n`);
    const after = captureIO();
    expect(await main(['replay', '--', '-h'], after)).toBe(1);
    expect(after.out()).toContain('cannot read -h: no such file');
  });
});

/** A valid stream whose one tool call has an input `depth` arrays deep: JSON.stringify cannot write it. */
function deepToolUseStream(depth: number): string {
  const event = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`;
  const partial = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  return [
    event('message_start', JSON.stringify({ type: 'message_start', message: { id: 'msg_deep', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } } })),
    event('content_block_start', JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_deep', name: 'nest', input: {} } })),
    event('content_block_delta', JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: partial } })),
    event('content_block_stop', JSON.stringify({ type: 'content_block_stop', index: 0 })),
    event('message_delta', JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } })),
    event('message_stop', JSON.stringify({ type: 'message_stop' })),
  ].join('');
}

describe('turnstate replay, as a user runs it (the real CLI, spawned)', () => {
  it('100k-deep JSON: one line per input, always; the deep one carries output_unserializable and keeps what it can; exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-replay-'));
    const deep = join(dir, 'deep.sse');
    await writeFile(deep, deepToolUseStream(100_000));
    const good = join(repoRoot, rec('end-turn-text.sse'));
    const out = await spawnCli(['replay', good, deep, good, '--json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(1);
    const lines = out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['file'])).toEqual([good, deep, good]);
    expect(lines[0]).toMatchObject({ ok: true, error: null });
    expect(lines[2]).toMatchObject({ ok: true, error: null });
    expect(Object.keys(lines[1]!).sort()).toEqual(['diagnostics', 'dropped', 'error', 'file', 'invalidToolInputs', 'message', 'ok', 'stopReason']);
    expect(lines[1]).toMatchObject({ ok: false, stopReason: 'tool_use', message: null, dropped: [], diagnostics: [], error: { code: 'output_unserializable', fields: ['message'] } });

    // human mode: the summary previews the input without recursing, and the stream is valid
    const human = await spawnCli(['replay', deep]);
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${deep}: valid, complete (6 events)`);
    expect(human.stdout).toMatch(/\[0\] tool_use nest \{"a":\[\[\[\[+…\n/);
  });

  it('a missing, a directory and an unreadable input are each their own line with file_unreadable (errno), the others are replayed; exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-replay-'));
    const locked = join(dir, 'locked.sse');
    await writeFile(locked, readFileSync(join(repoRoot, rec('refusal.sse'))));
    await chmod(locked, 0o000);
    const good = rec('end-turn-text.sse');
    const out = await spawnCli(['replay', good, 'nope.sse', good, dir, locked, '--json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(1);
    const lines = out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean; error: { code: string; errno?: string; message: string } | null });
    expect(lines.map((l) => l.file)).toEqual([good, 'nope.sse', good, dir, locked]);
    expect(lines.map((l) => l.ok)).toEqual([true, false, true, false, process.getuid?.() === 0 ? true : false]);
    expect(lines[1]!.error).toMatchObject({ code: 'file_unreadable', errno: 'ENOENT', message: 'cannot read nope.sse: no such file' });
    expect(lines[3]!.error).toMatchObject({ code: 'file_unreadable', errno: 'EISDIR' });
    // root reads a mode-000 file anyway; anyone else gets EACCES
    if (process.getuid?.() !== 0) expect(lines[4]!.error).toMatchObject({ code: 'file_unreadable', errno: 'EACCES' });

    const human = await spawnCli(['replay', good, 'nope.sse', good]);
    expect(human.code).toBe(1);
    expect(human.stderr).toBe('');
    expect(human.stdout.match(/valid, complete/g)).toHaveLength(2);
    expect(human.stdout).toContain('nope.sse: NOT readable\n  error       file_unreadable (ENOENT): cannot read nope.sse: no such file\n');
  });

  it('only usage errors exit 2, before any input is read', async () => {
    const unknown = await spawnCli(['replay', rec('end-turn-text.sse'), '--nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^turnstate: replay: Unknown option '--nope'/);
    const none = await spawnCli(['replay', '--json']);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
  });
});
