import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/commands/replay.js';
import { UsageError } from '../../src/cli/io.js';
import { repoRoot } from '../support/corpus.js';
import { captureIO } from './helpers.js';

const rec = (name: string) => `recordings/${name}`;

describe('turnstate replay', () => {
  it('--json prints exactly one object per input, in input order, with the documented keys', async () => {
    const io = captureIO();
    const inputs = [rec('end-turn-text.sse'), rec('broken-invalid-json.sse'), rec('max-tokens-mid-tool-use.sse')];
    const code = await replayCommand.run([...inputs, '--json'], io);
    expect(code).toBe(1);
    const lines = io.out().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['file'])).toEqual(inputs);
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(['diagnostics', 'dropped', 'error', 'file', 'message', 'ok', 'stopReason']);
    expect(lines[0]).toMatchObject({ ok: true, stopReason: 'end_turn', error: null });
    expect(lines[1]).toMatchObject({ ok: false, error: { code: 'invalid_json' } });
    const error = lines[1]!['error'] as { eventIndex: number; byteOffset: number; message: string };
    // The byte offset points at the bad payload in the file.
    const bytes = readFileSync(join(repoRoot, rec('broken-invalid-json.sse')));
    const badLine = bytes.toString('utf8').split('\n').filter((l) => l.startsWith('data:'))[error.eventIndex]!;
    expect(bytes.indexOf(badLine.replace(/^data: ?/, ''))).toBe(error.byteOffset);
    expect(lines[2]).toMatchObject({ ok: true, stopReason: 'max_tokens', dropped: [{ type: 'tool_use', reason: 'unclosed' }] });
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

  it('usage errors: unknown flag, missing file, no input', async () => {
    await expect(replayCommand.run(['--nope', rec('refusal.sse')], captureIO())).rejects.toThrow(UsageError);
    await expect(replayCommand.run(['does-not-exist.sse'], captureIO())).rejects.toThrow(/no such file: does-not-exist.sse/);
    await expect(replayCommand.run([], captureIO())).rejects.toThrow(UsageError);
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
    expect(await main(['replay', '--', '-h'], after)).toBe(2);
    expect(after.err()).toContain('no such file: -h');
  });
});
