import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { startRun } from '../../controller/controller.js';
import type { ControllerEvent } from '../../controller/events.js';
import { MemoryCheckpointStore } from '../../controller/journal.js';
import { sdkCreateStream } from '../../controller/model.js';
import type { RunnableTool } from '../../controller/types.js';
import { startFakeMessagesApi } from '../../testing/fake-api.js';
import { nonNegativeInt, parseCommandArgs } from '../args.js';
import { EXIT } from '../io.js';
import { jsonLine, preview } from '../json.js';
import { runTraceFor } from '../trace-file.js';
import { liveRun, observers } from '../inspect-live.js';
import type { CliIO, Command } from '../io.js';
import { exitCodeFor, resultJson, summaryLine } from '../run-output.js';

const HELP = `Usage: turnstate demo [--json] [--delay-ms N] [--trace OUT.html] [--inspect [--inspect-port N]]

Runs the real continuation controller, through the real Anthropic SDK client,
against a fake Messages API on 127.0.0.1 that replays built-in recordings
(recordings/demo/): a turn that goes tool_use → pause_turn → max_tokens →
end_turn. Prints every state the controller's machine visits and why it
moved on. No API key needed.

  --json         print the final result as JSON instead of the trace summary
  --delay-ms N   pause between streamed chunks (default 2; 0 for none)
  --trace OUT    write a self-contained trace page (HTML, no network): the
                 machine's diagram, every state and transition it took, the
                 controller's events, segments and tool calls on one timeline
  --inspect      serve the run live on 127.0.0.1: turnstate's live trace page,
                 and inspection events for the Stately inspector (WebSocket);
                 URLs on stderr; after the run, serves until Ctrl-C (exit 130)
  --inspect-port N   the port for --inspect (default: a free one)
  -h, --help     this text`;

/** Where the demo recordings are, from src/ (tsx, tests) or from a build under dist/. */
export function demoRecordingsDir(): string {
  for (const up of ['../../../recordings/demo/', '../../../../recordings/demo/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('demo: recordings/demo/ not found next to the package');
}

/** The demo's one client tool. */
export const demoTools: RunnableTool[] = [
  {
    name: 'get_weather',
    description: 'Current weather for a city.',
    input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
    retrySafe: true,
    run: (input: { city: string; unit?: string }) =>
      JSON.stringify({ city: input.city, temperature: 14, unit: input.unit ?? 'celsius', conditions: 'light rain', wind_kph: 12 }),
  } as RunnableTool,
];

function tracePrinter(io: CliIO): (event: ControllerEvent) => void {
  let inText = false;
  let textBlock = '';
  const line = (text: string): void => {
    io.stdout(`${inText ? '\n' : ''}${text}\n`);
    inText = false;
  };
  return (event) => {
    switch (event.type) {
      case 'state':
        line(`  state      ${event.state}`);
        break;
      case 'segment_start':
        line(`  request    #${event.segment + 1} (${event.kind.replace(/_/g, ' ')}, max_tokens ${event.maxTokens})`);
        break;
      case 'text':
        if (inText && textBlock !== `${event.segment}:${event.index}`) {
          io.stdout('\n');
          inText = false;
        }
        textBlock = `${event.segment}:${event.index}`;
        if (!inText) io.stdout('  text       ');
        io.stdout(event.delta.replace(/\n/g, '\n             '));
        inText = true;
        break;
      case 'block':
        if (event.blockType !== 'text') {
          const detail = event.name ? ` ${event.name}(${preview(event.input, 200)}) ${event.id ?? ''}` : event.id ? ` for ${event.id}` : '';
          line(`  block      ${event.blockType}${detail}`);
        }
        break;
      case 'segment_end':
        line(
          `  stop       ${event.stopReason} — in ${event.usage.input_tokens}, out ${event.usage.output_tokens}` +
            `${Object.keys(event.usage.server_tool_use).length ? `, server tools ${JSON.stringify(event.usage.server_tool_use)}` : ''}, ${event.requestId ?? ''}`,
        );
        break;
      case 'tool_start':
        line(`  tool       ${event.name}(${preview(event.input, 200)})`);
        break;
      case 'tool_end':
        line(`  result     ${event.name} ${event.isError ? 'failed' : 'ok'} (${event.durationMs} ms)`);
        break;
      case 'continuation':
        line(`  continue   ${event.kind.replace(/_/g, ' ')} → continuation ${event.count}`);
        break;
      case 'checkpoint':
        line(`  checkpoint #${event.seq} (${event.phase})`);
        break;
      case 'retry':
        line(`  retry      ${event.apiErrorType ?? event.code}, attempt ${event.attempt} in ${event.delayMs} ms`);
        break;
      default:
        break;
    }
  };
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the controller against a built-in fake API (tool_use → pause_turn → max_tokens → end_turn); no key needed',
  help: HELP,
  async run(argv, io) {
    const { values } = parseCommandArgs('demo', argv, {
      json: { type: 'boolean' },
      'delay-ms': { type: 'string' },
      trace: { type: 'string' },
      inspect: { type: 'boolean' },
      'inspect-port': { type: 'string' },
    });
    const delay = nonNegativeInt('demo', 'delay-ms', values['delay-ms']) ?? 2;
    const dir = demoRecordingsDir();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.sse')).sort();
    const bodies = await Promise.all(files.map((f) => readFile(new URL(f, `file://${dir}`), 'utf8')));
    const api = await startFakeMessagesApi({
      replies: bodies.map((body) => (delay > 0 ? { body, chunkSize: 64, delayMs: delay } : body)),
    });
    try {
      const client = new Anthropic({ apiKey: 'demo-no-key-needed', baseURL: api.url, maxRetries: 0 });
      const json = values.json ?? false;
      if (!json) {
        io.stdout(`turnstate demo — fake Messages API at ${api.url} replaying ${files.length} recordings (${files.join(', ')})\n`);
        io.stdout(`  policy     max_tokens → continue; tools: get_weather; server tool: web_search\n`);
      }
      const store = new MemoryCheckpointStore();
      const trace = await runTraceFor(values.trace, 'turnstate demo', json ? undefined : tracePrinter(io));
      const live = values.inspect ? await liveRun(io, 'turnstate demo', values['inspect-port']) : null;
      const handle = startRun({
        params: {
          model: 'claude-sonnet-4-6',
          max_tokens: 120,
          tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }],
        },
        messages: 'Plan a rainy-day afternoon in Paris for me: check the weather, find what is on at the Louvre, and write a short plan.',
        tools: demoTools,
        createStream: sdkCreateStream(client),
        checkpoint: store,
        maxTokensPolicy: 'continue',
        budgets: { maxContinuations: 10, deadlineMs: 60_000 },
        signal: io.signal,
        ...observers(trace.options, live?.observer),
      });
      const result = await handle.settled;
      const traced = await trace.write(io, result);
      await live?.settle(result);
      if (json) io.stdout(jsonLine({ ...resultJson(result), requests: api.requests.length, checkpoints: store.saved.length }));
      else {
        io.stdout(`\n${summaryLine(result, null)}`);
        io.stdout(`  ${api.requests.length} requests over a real socket; ${store.saved.length} checkpoints written; final transcript has ${result.messages.length} messages\n`);
      }
      return traced ? exitCodeFor(result) : EXIT.failed;
    } finally {
      await api.close();
    }
  },
};
