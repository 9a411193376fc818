import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/commands/replay.js';
import { demoCommand } from '../../src/cli/commands/demo.js';
import { UsageError } from '../../src/cli/io.js';
import { captureIO } from './helpers.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'turnstate-trace-'));
const traceData = (html: string) => JSON.parse(/<script type="application\/json" id="trace-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as {
  kind: string;
  verdict: string;
  steps: { machine: string; type: string; after: string | null }[];
  failure: { code: string } | null;
};

describe('trace pages from the CLI', () => {
  it('replay --html writes the page of a broken recording and still reports on stdout', async () => {
    const out = join(scratch(), 'broken.html');
    const io = captureIO();
    expect(await replayCommand.run(['recordings/broken-double-message-start.sse', '--html', out], io)).toBe(1);
    expect(io.out()).toContain('NOT valid');
    const data = traceData(readFileSync(out, 'utf8'));
    expect(data).toMatchObject({ kind: 'stream', verdict: 'unexpected_event', failure: { code: 'unexpected_event' } });
    expect(data.steps.at(-1)).toMatchObject({ type: 'message_start', after: 'violated' });
  });

  it('replay --html takes one file; an unwritable page is one line and exit 1', async () => {
    await expect(replayCommand.run(['recordings/end-turn-text.sse', 'recordings/refusal.sse', '--html', 'x.html'], captureIO())).rejects.toThrow(UsageError);
    await expect(replayCommand.run(['-', '--html', 'x.html'], captureIO())).rejects.toThrow(UsageError);
    const io = captureIO();
    expect(await replayCommand.run(['recordings/end-turn-text.sse', '--html', join(scratch(), 'missing', 'x.html')], io)).toBe(1);
    expect(io.err()).toMatch(/^turnstate: cannot write the trace to .*x\.html \(ENOENT\)\n$/);
  });

  it('demo --trace writes the run: the continuation machine’s states and the controller’s events', async () => {
    const out = join(scratch(), 'demo.html');
    const io = captureIO();
    expect(await demoCommand.run(['--json', '--delay-ms', '0', '--trace', out], io)).toBe(0);
    const data = traceData(readFileSync(out, 'utf8'));
    expect(data).toMatchObject({ kind: 'run', verdict: 'completed' });
    const states = new Set(data.steps.filter((s) => s.machine === 'continuation').map((s) => s.after));
    for (const state of ['routingStopReason', 'checkingToolCalls', 'runningTools', 'completed']) expect(states).toContain(state);
    const notes = data.steps.filter((s) => s.machine === 'controller').map((s) => s.type);
    expect(notes.filter((t) => t === 'segment_end')).toHaveLength(4);
    expect(notes).toContain('tool_end');
  });
});
