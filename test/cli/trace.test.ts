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

describe('run and resume --trace', () => {
  it('a tool turn through the real SDK client: the page holds the segments, the tool call and the machine’s route', async () => {
    const { startFakeMessagesApi, sseFromMessage } = await import('../../src/testing/index.js');
    const { cli } = await import('../controller/fixtures/cli.js');
    const { writeFile } = await import('node:fs/promises');
    const api = await startFakeMessagesApi({
      replies: [
        sseFromMessage({ content: [{ type: 'tool_use', id: 'toolu_01Trace', name: 'add', input: { a: 2, b: 3 } }], stopReason: 'tool_use' }),
        sseFromMessage({ content: [{ type: 'text', text: '5' }], stopReason: 'end_turn' }),
      ],
    });
    try {
      const dir = scratch();
      const tools = join(dir, 'tools.mjs');
      await writeFile(tools, `export default [{ name: 'add', description: 'adds', input_schema: { type: 'object' }, run: ({ a, b }) => String(a + b) }];\n`);
      const out = join(dir, 'run.html');
      const env = { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'test-key' };
      const run = await cli(['run', '--tools', tools, '--checkpoint', join(dir, 'ck.json'), '--json', '--trace', out, 'add 2 and 3'], env, dir);
      expect(run.code).toBe(0);
      const data = traceData(readFileSync(out, 'utf8')) as ReturnType<typeof traceData> & { toolCalls: { id: string }[]; segments: unknown[] };
      expect(data).toMatchObject({ kind: 'run', verdict: 'completed' });
      expect(data.toolCalls.map((c) => c.id)).toEqual(['toolu_01Trace']);
      expect(data.segments).toHaveLength(2);
      const route = data.steps.filter((s) => s.machine === 'continuation').map((s) => s.after);
      expect(route).toEqual(expect.arrayContaining(['routingStopReason', 'checkingToolCalls', 'runningTools', 'completed']));
      // resume of the finished run: its page too, without any request.
      const again = join(dir, 'resume.html');
      const resumed = await cli(['resume', join(dir, 'ck.json'), '--tools', tools, '--json', '--trace', again], env, dir);
      expect(resumed.code).toBe(0);
      expect(traceData(readFileSync(again, 'utf8'))).toMatchObject({ kind: 'run', verdict: 'completed' });
      expect(api.requests).toHaveLength(2);
    } finally {
      await api.close();
    }
  });
});
