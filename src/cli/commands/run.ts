import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { startRun } from '../../controller/controller.js';
import { FileCheckpointStore } from '../../controller/journal.js';
import { sdkCreateStream } from '../../controller/model.js';
import type { MaxTokensPolicy, RunnableTool } from '../../controller/types.js';
import type { ApproveToolCall } from '../../controller/approval.js';
import { idleTimeoutOption, nonNegativeInt, parseCommandArgs, positiveInt } from '../args.js';
import { UsageError } from '../errors.js';
import { EXIT, type Command } from '../io.js';
import { finishRun, humanPrinter } from '../run-output.js';
import { runTraceFor } from '../trace-file.js';
import { liveRun, observers } from '../inspect-live.js';

export { exitCodeFor, finishRun, humanPrinter, resultJson, summaryLine } from '../run-output.js';

const HELP = `Usage: turnstate run [options] PROMPT

Sends PROMPT to Claude and follows the turn to its end: runs tool calls,
resumes paused turns, applies the max_tokens policy — deciding each step from
stop_reason alone. A checkpoint is written after every step; if the process
dies, \`turnstate resume CHECKPOINT --tools FILE\` carries on without losing or
repeating work. Ctrl-C stops the run cleanly and prints that command.

  --tools FILE              ES module whose default export is an array of runnable tools
                            ({ name, description, input_schema, run(input) }, or made with
                            the SDK's betaTool / betaZodTool); a named export
                            approveToolCall(call) → {approve:true} | {deny:MSG} | {defer:true}
                            is asked before each call runs (defer: the run stops
                            awaiting_approval; decide with resume --approve / --deny)
  --model M                 model (default claude-sonnet-4-6)
  --max-tokens N            max_tokens per request (default 4096)
  --system TEXT             system prompt
  --max-continuations N     cap on requests after the first; 0 allows none (default: no cap)
  --max-tokens-policy P     stop | continue | raise (default stop)
  --deadline-ms N           wall-clock deadline for the whole run, in ms (> 0)
  --idle-timeout MS         a model stream that sends nothing for MS ms is stalled and
                            retried (default 120000; 0: no limit)
  --checkpoint FILE         checkpoint file (default .turnstate/runs/<run id>.json)
  --json                    print one JSON object at the end:
                            {"status","stopReason","text","messages","usage","segments","dropped","error",
                            "awaitingApproval"}
  --trace OUT               write a self-contained trace page (HTML, no network) of the run:
                            the machine's diagram, its states and transitions, the controller's
                            events, segments and tool calls on one timeline
  --inspect                 serve the run live on 127.0.0.1 (turnstate's live trace page, and
                            inspection events for the Stately inspector); URLs on stderr;
                            after the run, serves until Ctrl-C (exit 130)
  --inspect-port N          the port for --inspect (default: a free one)
  -h, --help                this text

Needs ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for a compatible endpoint).
No key? Try \`turnstate demo\`.

Exit status: 0 completed (end_turn or stop_sequence); 1 refused, incomplete,
budget_exceeded or failed; 2 usage errors; 3 awaiting_approval (decide with resume);
130 interrupted (Ctrl-C); 141 standard output closed (\`| head\`).`;

export const DEFAULT_MODEL = 'claude-sonnet-4-6';
export const DEFAULT_MAX_TOKENS = 4096;

/** The SDK client for the CLI, from the command's environment (not process.env, so tests can inject it). */
export function clientFromEnv(command: string, env: NodeJS.ProcessEnv): Anthropic {
  const apiKey = env['ANTHROPIC_API_KEY'];
  const baseURL = env['ANTHROPIC_BASE_URL'];
  const authToken = env['ANTHROPIC_AUTH_TOKEN'];
  if (!apiKey && !baseURL) {
    throw new UsageError(`${command}: set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for a compatible endpoint), or try \`turnstate demo\``);
  }
  const options: ConstructorParameters<typeof Anthropic>[0] = {};
  if (baseURL) options.baseURL = baseURL;
  if (apiKey) options.apiKey = apiKey;
  else if (authToken) options.authToken = authToken;
  else options.apiKey = 'none'; // a keyless endpoint at ANTHROPIC_BASE_URL
  return new Anthropic(options);
}

/** Loads `--tools FILE`: an ES module whose default export is an array of runnable tools. */
export async function loadTools(command: string, file: string | undefined, cwd: string): Promise<RunnableTool[]> {
  return (await loadToolsModule(command, file, cwd)).tools;
}

/**
 * `--tools FILE` with its optional named export `approveToolCall`: the
 * approval policy travels with the tools, so the resume command line (which
 * names the same file) brings it back.
 */
export async function loadToolsModule(command: string, file: string | undefined, cwd: string): Promise<{ tools: RunnableTool[]; approveToolCall?: ApproveToolCall }> {
  if (file === undefined) return { tools: [] };
  let module: { default?: unknown; approveToolCall?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(cwd, file)).href)) as { default?: unknown; approveToolCall?: unknown };
  } catch (error) {
    throw new UsageError(`${command}: cannot load --tools ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  const tools = module.default;
  if (!Array.isArray(tools) || !tools.every((t) => t && typeof t === 'object' && typeof t.name === 'string' && typeof t.run === 'function')) {
    throw new UsageError(`${command}: --tools ${file} must default-export an array of tools, each with a name and a run function`);
  }
  const hook = module.approveToolCall;
  if (hook !== undefined && typeof hook !== 'function') throw new UsageError(`${command}: --tools ${file}: its export approveToolCall must be a function, got ${hook === null ? 'null' : typeof hook}`);
  return { tools: tools as RunnableTool[], ...(hook === undefined ? {} : { approveToolCall: hook as ApproveToolCall }) };
}

const POLICIES: readonly MaxTokensPolicy[] = ['stop', 'continue', 'raise'];

export const runCommand: Command = {
  name: 'run',
  summary: 'send a prompt and follow the turn to its end (tools, pause_turn, max_tokens), resumably',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('run', argv, {
      tools: { type: 'string' },
      model: { type: 'string' },
      'max-tokens': { type: 'string' },
      system: { type: 'string' },
      'max-continuations': { type: 'string' },
      'max-tokens-policy': { type: 'string' },
      'deadline-ms': { type: 'string' },
      'idle-timeout': { type: 'string' },
      checkpoint: { type: 'string' },
      json: { type: 'boolean' },
      trace: { type: 'string' },
      inspect: { type: 'boolean' },
      'inspect-port': { type: 'string' },
    });
    const policy = values['max-tokens-policy'];
    if (policy !== undefined && !POLICIES.includes(policy as MaxTokensPolicy)) {
      throw new UsageError(`run: --max-tokens-policy must be stop, continue or raise, got ${JSON.stringify(policy)}`);
    }
    const maxTokens = positiveInt('run', 'max-tokens', values['max-tokens']) ?? DEFAULT_MAX_TOKENS;
    const maxContinuations = nonNegativeInt('run', 'max-continuations', values['max-continuations']);
    const deadlineMs = positiveInt('run', 'deadline-ms', values['deadline-ms']);
    const prompt = positionals.join(' ').trim();
    if (prompt === '') throw new UsageError('run: give a PROMPT (see `turnstate run --help`)');
    const { tools, approveToolCall } = await loadToolsModule('run', values.tools, io.cwd);
    const client = clientFromEnv('run', io.env);

    const store = new FileCheckpointStore(values.checkpoint !== undefined ? { path: resolve(io.cwd, values.checkpoint) } : { dir: resolve(io.cwd, '.turnstate', 'runs') });
    const json = values.json ?? false;
    const trace = await runTraceFor(values.trace, `turnstate run`, json ? undefined : humanPrinter(io));
    const live = values.inspect ? await liveRun(io, 'turnstate run', values['inspect-port']) : null;
    const handle = startRun({
      params: { model: values.model ?? DEFAULT_MODEL, max_tokens: maxTokens, ...(values.system === undefined ? {} : { system: values.system }) },
      messages: prompt,
      tools,
      approveToolCall,
      createStream: sdkCreateStream(client),
      checkpoint: store,
      maxTokensPolicy: (policy as MaxTokensPolicy | undefined) ?? 'stop',
      budgets: { maxContinuations, deadlineMs },
      signal: io.signal,
      ...idleTimeoutOption('run', values['idle-timeout']),
      ...observers(trace.options, live?.observer),
    });
    const toolsPath = values.tools === undefined ? null : resolve(io.cwd, values.tools);
    const code = await finishRun(handle, io, json, { checkpointPath: store.pathFor(handle.runId), toolsPath });
    const result = await handle.settled;
    const traced = await trace.write(io, result);
    await live?.settle(result);
    return traced ? code : EXIT.failed;
  },
};
