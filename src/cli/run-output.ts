import type { RunHandle } from '../controller/controller.js';
import { isControllerError, type ErrorToolCall } from '../controller/errors.js';
import type { ControllerEvent } from '../controller/events.js';
import type { RunResult } from '../controller/types.js';
import { CliError } from './errors.js';
import { EXIT, type CliIO } from './io.js';
import { clipLine, jsonLine, preview } from './json.js';

/** What a resume command needs besides the checkpoint: the files the run used. */
export interface ResumeContext {
  /** The checkpoint file, absolute; null when the run keeps none. */
  readonly checkpointPath: string | null;
  /** The --tools module, absolute; null when the run had no tools. */
  readonly toolsPath: string | null;
}

/** Quotes a word for a POSIX shell only when it needs it, so a hint can be pasted as it is. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The exact command line that resumes a run, with the --tools it needs and any extra flags. */
export function resumeCommandLine(context: ResumeContext, extra: readonly string[] = []): string {
  const words = ['turnstate', 'resume', shellWord(context.checkpointPath ?? 'CHECKPOINT')];
  if (context.toolsPath !== null) words.push('--tools', shellWord(context.toolsPath));
  return [...words, ...extra].join(' ');
}

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
    awaitingApproval: result.awaitingApproval,
  };
}

/** Exit code for a status: 0 for completed and stopped, 3 awaiting approval, 1 otherwise. */
export function exitCodeFor(result: RunResult): number {
  if (result.status === 'awaiting_approval') return EXIT.awaitingApproval;
  return result.status === 'completed' || result.status === 'stopped' ? EXIT.ok : EXIT.failed;
}

/** A duration for people: 850 ms, 12.5 s, 3 min 20 s, 2 h 5 min. */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 2 : 1)} s`;
  const s = Math.round(abs / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function isoTime(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? String(epochMs) : date.toISOString();
}

function budgetLine(event: Extract<ControllerEvent, { type: 'budget' }>): string {
  if (event.budget === 'deadline' && event.limit !== null) {
    const late = event.used === null ? '' : `, ${humanDuration(event.used - event.limit)} ago`;
    return `  ⛔ budget deadline exceeded (deadline ${isoTime(event.limit)}${late})`;
  }
  return `  ⛔ budget ${event.budget.replace(/_/g, ' ')} exceeded (limit ${event.limit ?? '–'}, used ${event.used ?? '–'})`;
}

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
        if (event.blockType === 'server_tool_use' || event.blockType === 'mcp_tool_use') line(`  ⌕ ${event.name ?? event.blockType} ${preview(event.input)} (server tool)`);
        break;
      case 'tool_start':
        line(`  ⚙ ${event.name} ${preview(event.input)}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`);
        break;
      case 'tool_end':
        if (event.isError) line(`  ✗ ${event.name} failed in ${event.durationMs} ms: ${clipLine(event.error ?? '', 200) || 'no message'}`);
        else line(`  ✓ ${event.name} done in ${event.durationMs} ms`);
        break;
      case 'tool_approval':
        if (event.decision === 'denied') line(`  ✋ ${event.name} denied (${event.id}): ${clipLine(event.message ?? '', 200)}`);
        else if (event.decision === 'deferred') line(`  ⏸ ${event.name} awaits approval (${event.id})`);
        break;
      case 'retry':
        line(`  ↻ ${event.apiErrorType ?? event.code} mid-stream; retry ${event.attempt} in ${event.delayMs} ms (output above is discarded)`);
        break;
      case 'continuation':
        if (event.kind !== 'tool_results') line(`  ↪ ${event.kind.replace(/_/g, ' ')}: continuing (continuation ${event.count})`);
        break;
      case 'budget':
        line(budgetLine(event));
        break;
      case 'observer_failed':
        line(`  ⚠ ${event.observer} ${event.path}: ${event.code}: ${event.message} (the run goes on without it)`);
        break;
      default:
        break;
    }
  };
}

/** What to type for each call in doubt: CLI flags, not the API's `decisions` object. */
function decisionHelp(calls: readonly ErrorToolCall[], context: ResumeContext): string {
  const width = Math.max(...calls.map((c) => c.id.length));
  const lines = [
    `  ${calls.length === 1 ? 'this tool call is' : `these ${calls.length} tool calls are`} in doubt (started, no recorded result, tool not retrySafe):`,
    ...calls.map((c) => `    ${c.id.padEnd(width)}  ${c.name} ${preview(c.input)}`),
    '  decide each one, then resume; to run them again:',
    `    ${resumeCommandLine(context, calls.flatMap((c) => ['--rerun', shellWord(c.id)]))}`,
    '  or give a result without running it (a JSON string, or {"content": …, "is_error": false}):',
    `    ${resumeCommandLine(context, ['--result', shellWord(`${calls[0]!.id}={"content":"…"}`)])}`,
    `    ${resumeCommandLine(context, ['--result-file', shellWord(`${calls[0]!.id}=FILE`)])}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** What to type to decide the calls awaiting approval. */
function approvalHelp(calls: RunResult['awaitingApproval'], context: ResumeContext): string {
  const width = Math.max(...calls.map((c) => c.id.length));
  const lines = [
    `  ${calls.length === 1 ? 'this tool call awaits' : `these ${calls.length} tool calls await`} approval:`,
    ...calls.map((c) => `    ${c.id.padEnd(width)}  ${c.name} ${preview(c.input)}`),
    '  decide each one, then resume (--approve runs it; --deny tells the model REASON instead):',
    `    ${resumeCommandLine(context, approvalFlags(calls))}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The decision flags of the resume hint: --approve each call, the last one shown as --deny ID=REASON (when several). */
function approvalFlags(calls: RunResult['awaitingApproval']): string[] {
  return calls.flatMap((c, i) => (i === calls.length - 1 && calls.length > 1 ? ['--deny', shellWord(`${c.id}=REASON`)] : ['--approve', shellWord(c.id)]));
}

/** For a run a budget stopped: the flag a resume needs to get past it (resuming with the same cap would stop again). */
function budgetFlags(result: RunResult): string[] {
  if (result.error?.code !== 'budget_exceeded') return [];
  switch (result.error.budget) {
    case 'deadline':
      return ['--deadline-ms', 'MS'];
    case 'continuations':
      return ['--max-continuations', String((result.error.limit ?? 0) + 10)];
    default:
      return [];
  }
}

/** The closing summary of human mode. */
export function summaryLine(result: RunResult, context: ResumeContext | null): string {
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
  if (result.stopDetails) text += `  stop details: ${preview(result.stopDetails, 200)}\n`;
  if (result.dropped.length > 0) text += `  dropped: ${result.dropped.map((d) => `${d.type} (${d.reason})`).join(', ')}\n`;
  const error = result.error;
  const inDoubt = error?.code === 'tool_needs_decision' ? (error.toolCalls ?? (error.toolCall ? [error.toolCall] : [])) : [];
  if (error && inDoubt.length > 0) text += `  error: tool_needs_decision\n`;
  else if (error) text += `  error: ${error.code}: ${error.message}\n`;
  if (context?.checkpointPath) {
    text += `  checkpoint: ${context.checkpointPath}\n`;
    if (inDoubt.length > 0) text += decisionHelp(inDoubt, context);
    else if (result.awaitingApproval.length > 0) text += approvalHelp(result.awaitingApproval, context);
    else if (result.state.phase !== 'done') text += `  resume with: ${resumeCommandLine(context, budgetFlags(result))}\n`;
  }
  return text;
}

/**
 * Waits for a run, prints its end in the chosen mode, returns the exit code.
 * A run stopped by Ctrl-C or a closed stdout also says on stderr where its
 * checkpoint is and how to resume it (main then exits 130 / 141).
 */
export async function finishRun(handle: RunHandle, io: CliIO, json: boolean, context: ResumeContext): Promise<number> {
  let result: RunResult;
  try {
    result = await handle.settled;
  } catch (error) {
    if (isControllerError(error) && error.result) result = error.result;
    else throw error;
  }
  if (json) io.stdout(jsonLine(resultJson(result)));
  else io.stdout(`${result.text.length > 0 && !result.text.endsWith('\n') ? '\n' : ''}${summaryLine(result, context)}`);
  const stop: unknown = io.signal?.aborted ? io.signal.reason : null;
  if (stop instanceof CliError && result.state.phase !== 'done' && context.checkpointPath !== null) {
    const why = stop.code === 'output_closed' ? 'standard output was closed' : 'interrupted';
    io.stderr(`turnstate: ${why}; checkpoint: ${context.checkpointPath}\nturnstate: resume with: ${resumeCommandLine(context)}\n`);
  } else if (json && result.state.phase !== 'done' && context.checkpointPath !== null) {
    const flags = result.awaitingApproval.length > 0 ? approvalFlags(result.awaitingApproval) : budgetFlags(result);
    io.stderr(`turnstate: resume with: ${resumeCommandLine(context, flags)}\n`);
  }
  return exitCodeFor(result);
}
