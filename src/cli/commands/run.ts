import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { startRun, type RunHandle } from '../../controller/controller.js';
import { isControllerError } from '../../controller/errors.js';
import type { ControllerEvent } from '../../controller/events.js';
import { FileCheckpointStore } from '../../controller/journal.js';
import { sdkCreateStream } from '../../controller/model.js';
import type { MaxTokensPolicy, RunnableTool, RunResult } from '../../controller/types.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, UsageError, type CliIO, type Command } from '../io.js';

const HELP = `Usage: turnstate run [options] PROMPT

Sends PROMPT to Claude and follows the turn to its end: runs tool calls,
resumes paused turns, applies the max_tokens policy — deciding each step from
stop_reason alone. A checkpoint is written after every step; if the process
dies, \`turnstate resume CHECKPOINT\` carries on without losing or repeating work.

  --tools FILE              ES module whose default export is an array of runnable tools
                            ({ name, description, input_schema, run(input) }, or made with
                            the SDK's betaTool / betaZodTool)
  --model M                 model (default claude-sonnet-4-6)
  --max-tokens N            max_tokens per request (default 4096)
  --system TEXT             system prompt
  --max-continuations N     cap on requests after the first (default: none)
  --max-tokens-policy P     stop | continue | raise (default stop)
  --deadline-ms N           wall-clock deadline for the whole run
  --checkpoint FILE         checkpoint file (default .turnstate/runs/<run id>.json)
  --json                    print one JSON object at the end:
                            {"status","stopReason","text","messages","usage","segments","dropped","error"}
  -h, --help                this text

Needs ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for a compatible endpoint).
No key? Try \`turnstate demo\`.

Exit status: 0 completed (end_turn or stop_sequence); 1 refused, incomplete,
budget_exceeded or failed; 2 usage errors.`;

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
  if (file === undefined) return [];
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(cwd, file)).href)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`${command}: cannot load --tools ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  const tools = module.default;
  if (!Array.isArray(tools) || !tools.every((t) => t && typeof t === 'object' && typeof t.name === 'string' && typeof t.run === 'function')) {
    throw new UsageError(`${command}: --tools ${file} must default-export an array of tools, each with a name and a run function`);
  }
  return tools as RunnableTool[];
}

const POLICIES: readonly MaxTokensPolicy[] = ['stop', 'continue', 'raise'];

/** The `--json` object. */
export function resultJson(result: RunResult): Record<string, unknown> {
  return {
    status: result.status,
    stopReason: result.stopReason,
    text: result.text,
    messages: result.messages,
    usage: result.usage,
    segments: result.segments,
    dropped: result.dropped,
    error: result.error ? result.error.toJSON() : null,
  };
}

/** Exit code for a status: 0 for completed and stopped, 1 otherwise. */
export function exitCodeFor(result: RunResult): number {
  return result.status === 'completed' || result.status === 'stopped' ? EXIT.ok : EXIT.failed;
}

const short = (value: unknown, max = 80): string => {
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/**
 * Human-mode printer: streams text as it arrives, a line per tool call, retry,
 * continuation and budget, so the terminal shows what the loop decided and why.
 */
export function humanPrinter(io: CliIO): (event: ControllerEvent) => void {
  let atLineStart = true;
  let textBlock = '';
  const line = (text: string): void => {
    io.stdout(`${atLineStart ? '' : '\n'}${text}\n`);
    atLineStart = true;
  };
  return (event) => {
    switch (event.type) {
      case 'text':
        if (event.delta.length > 0) {
          const block = `${event.segment}:${event.index}`;
          if (!atLineStart && block !== textBlock) io.stdout('\n');
          textBlock = block;
          io.stdout(event.delta);
          atLineStart = event.delta.endsWith('\n');
        }
        break;
      case 'block':
        if (event.blockType === 'server_tool_use' || event.blockType === 'mcp_tool_use') line(`  ⌕ ${event.name ?? event.blockType} ${short(event.input)} (server tool)`);
        break;
      case 'tool_start':
        line(`  ⚙ ${event.name} ${short(event.input)}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`);
        break;
      case 'tool_end':
        line(`  ${event.isError ? '✗' : '✓'} ${event.name} ${event.isError ? 'failed' : 'done'} in ${event.durationMs} ms`);
        break;
      case 'retry':
        line(`  ↻ ${event.apiErrorType ?? event.code} mid-stream; retry ${event.attempt} in ${event.delayMs} ms (output above is discarded)`);
        break;
      case 'continuation':
        if (event.kind !== 'tool_results') line(`  ↪ ${event.kind.replace(/_/g, ' ')}: continuing (continuation ${event.count})`);
        break;
      case 'budget':
        line(`  ⛔ budget ${event.budget} exceeded (limit ${event.limit ?? '–'}, used ${event.used ?? '–'})`);
        break;
      default:
        break;
    }
  };
}

/** The closing summary of human mode. */
export function summaryLine(result: RunResult, checkpointPath: string | null): string {
  const u = result.usage;
  const parts = [
    `${result.status}${result.stopReason ? ` (${result.stopReason})` : ''}`,
    `${result.segments.length} segment${result.segments.length === 1 ? '' : 's'}`,
    `${result.toolCalls.length} tool call${result.toolCalls.length === 1 ? '' : 's'}`,
    `tokens in ${u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens} / out ${u.output_tokens}`,
  ];
  if (result.retries.length > 0) parts.push(`${result.retries.length} retr${result.retries.length === 1 ? 'y' : 'ies'}`);
  let text = `— ${parts.join(' · ')}\n`;
  if (result.stopSequence) text += `  stop sequence: ${JSON.stringify(result.stopSequence)}\n`;
  if (result.reason) text += `  reason: ${result.reason}\n`;
  if (result.stopDetails) text += `  stop details: ${JSON.stringify(result.stopDetails)}\n`;
  if (result.dropped.length > 0) text += `  dropped: ${result.dropped.map((d) => `${d.type} (${d.reason})`).join(', ')}\n`;
  if (result.error) text += `  error: ${result.error.code}: ${result.error.message}\n`;
  if (checkpointPath && result.state.phase !== 'done') text += `  resume with: turnstate resume ${checkpointPath}\n`;
  else if (checkpointPath) text += `  checkpoint: ${checkpointPath}\n`;
  return text;
}

/** Waits for a run, prints its end in the chosen mode, returns the exit code. */
export async function finishRun(handle: RunHandle, io: CliIO, json: boolean, checkpointPath: string | null): Promise<number> {
  let result: RunResult;
  try {
    result = await handle.settled;
  } catch (error) {
    if (isControllerError(error) && error.result) result = error.result;
    else throw error;
  }
  if (json) io.stdout(`${JSON.stringify(resultJson(result))}\n`);
  else io.stdout(`${result.text.length > 0 && !result.text.endsWith('\n') ? '\n' : ''}${summaryLine(result, checkpointPath)}`);
  return exitCodeFor(result);
}

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
      checkpoint: { type: 'string' },
      json: { type: 'boolean' },
    });
    const prompt = positionals.join(' ').trim();
    if (prompt === '') throw new UsageError('run: give a PROMPT (see `turnstate run --help`)');
    const policy = values['max-tokens-policy'];
    if (policy !== undefined && !POLICIES.includes(policy as MaxTokensPolicy)) {
      throw new UsageError(`run: --max-tokens-policy must be stop, continue or raise, got ${JSON.stringify(policy)}`);
    }
    const maxTokens = positiveInt('run', 'max-tokens', values['max-tokens']) ?? DEFAULT_MAX_TOKENS;
    const maxContinuations = positiveInt('run', 'max-continuations', values['max-continuations']);
    const deadlineMs = positiveInt('run', 'deadline-ms', values['deadline-ms']);
    const tools = await loadTools('run', values.tools, io.cwd);
    const client = clientFromEnv('run', io.env);

    const store = new FileCheckpointStore(values.checkpoint !== undefined ? { path: resolve(io.cwd, values.checkpoint) } : { dir: resolve(io.cwd, '.turnstate', 'runs') });
    const json = values.json ?? false;
    const handle = startRun({
      params: { model: values.model ?? DEFAULT_MODEL, max_tokens: maxTokens, ...(values.system === undefined ? {} : { system: values.system }) },
      messages: prompt,
      tools,
      createStream: sdkCreateStream(client),
      checkpoint: store,
      maxTokensPolicy: (policy as MaxTokensPolicy | undefined) ?? 'stop',
      budgets: { maxContinuations, deadlineMs },
      ...(json ? {} : { onEvent: humanPrinter(io) }),
    });
    return finishRun(handle, io, json, store.pathFor(handle.runId));
  },
};
