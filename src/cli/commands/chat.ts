import { resolve } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { EXIT, UsageError, type Command } from '../io.js';
import { portOption, untilStopped } from './record.js';

const HELP = `Usage: turnstate chat [--port N] [--data DIR] [--delay-ms N]

The reference streaming chat backend (examples/chat): a page on
http://127.0.0.1:PORT/ (loopback only; the URL is the first line printed).
With ANTHROPIC_API_KEY set it talks to the Anthropic API (ANTHROPIC_BASE_URL
honoured); without, to a built-in fake model with scripted turns: tool_use,
pause_turn with a server tool, max_tokens, refusal, end_turn.
Each turn is a journaled controller run: stop the server (even kill -9)
mid-turn, start it again with the same --data, and the turn resumes.

  --port N      port on 127.0.0.1 (default: any free one)
  --data DIR    conversations, run journals and notes (default .turnstate/chat)
  --delay-ms N  the fake model's pause before each event (default 40)
  -h, --help    this text`;

/** What the example's server module offers (imported by URL so the CLI's build does not compile the example). */
interface ChatServerModule {
  startChatServer(options: {
    dataDir: string;
    port?: number;
    apiKey?: string | undefined;
    baseURL?: string | undefined;
    pace?: { eventDelayMs?: number };
    onWarning?: (message: string) => void;
  }): Promise<{ url: string; mode: 'fake' | 'api'; close(): Promise<void> }>;
}

export const chatCommand: Command = {
  name: 'chat',
  summary: 'the reference streaming chat backend and page on loopback (fake model without ANTHROPIC_API_KEY); resumes turns after a restart',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('chat', argv, {
      port: { type: 'string' },
      data: { type: 'string' },
      'delay-ms': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`chat: unexpected argument ${JSON.stringify(positionals[0])} (see \`turnstate chat --help\`)`);
    const port = portOption('chat', values.port);
    const delay = values['delay-ms'];
    if (delay !== undefined && !/^\d+$/.test(delay)) throw new UsageError(`chat: --delay-ms must be a whole number of milliseconds ≥ 0, got ${JSON.stringify(delay)}`);
    // The example lives beside src (it is built only on the package's public exports); from dist/src/cli/commands and src/cli/commands alike it is ../../../examples.
    const href = new URL('../../../examples/chat/server.js', import.meta.url).href;
    const { startChatServer } = (await import(href)) as ChatServerModule;
    const apiKey = io.env['ANTHROPIC_API_KEY'] || undefined;
    const server = await startChatServer({
      dataDir: resolve(io.cwd, values.data ?? '.turnstate/chat'),
      ...(port === undefined ? {} : { port }),
      apiKey,
      baseURL: apiKey ? io.env['ANTHROPIC_BASE_URL'] || undefined : undefined,
      ...(delay === undefined ? {} : { pace: { eventDelayMs: Number(delay) } }),
      onWarning: (message) => io.stderr(`${message}\n`),
    });
    io.stdout(`${server.url}\n`);
    io.stdout(server.mode === 'fake' ? 'turnstate chat: no ANTHROPIC_API_KEY, so the built-in fake model answers (scripted turns). Stop with Ctrl-C.\n' : 'turnstate chat: talking to the Anthropic API. Stop with Ctrl-C.\n');
    await untilStopped(io);
    await server.close();
    return EXIT.ok;
  },
};
