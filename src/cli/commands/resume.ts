import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startResume } from '../../controller/controller.js';
import { ControllerError } from '../../controller/errors.js';
import { FileCheckpointStore, readCheckpointFile, type Checkpoint } from '../../controller/journal.js';
import { sdkCreateStream } from '../../controller/model.js';
import type { ToolDecision } from '../../controller/tools.js';
import type { ToolResult } from '../../controller/types.js';
import { idleTimeoutOption, nonNegativeInt, parseCommandArgs, positiveInt } from '../args.js';
import { errorMessage, UsageError } from '../errors.js';
import { EXIT, type Command } from '../io.js';
import { finishRun, humanPrinter } from '../run-output.js';
import { runTraceFor } from '../trace-file.js';
import { liveRun, observers } from '../inspect-live.js';
import { clientFromEnv, loadToolsModule } from './run.js';
import { checkApprovals, type ResumeApproval } from '../../controller/approval.js';

const HELP = `Usage: turnstate resume CHECKPOINT [options]

Continues a run from its checkpoint exactly where it stopped: tool results
already recorded are reused (never re-run), a request that was in flight is
re-issued, and a tool call that started without a recorded result is re-run
only if its tool is marked retrySafe (else the run stops and names every such
call, with the flags to decide them). A finished run's checkpoint just prints
its result.

  --tools FILE              the same tools module the run used (functions are not checkpointed)
  --max-continuations N     raise the continuation cap (e.g. after budget_exceeded); 0 allows none
  --deadline-ms N           a new deadline, counted from now, in ms (> 0)
  --idle-timeout MS         as for run (default 120000; 0: no limit)
  --rerun ID                run the in-doubt tool call ID again, though it may have run (repeatable)
  --result ID=JSON          record JSON as the result of the in-doubt call ID without running it:
                            a JSON string (the result text) or {"content": …, "is_error": false}
  --result-file ID=FILE     the same, the JSON read from FILE (repeatable, like --result)
  --approve ID              approve the tool call ID that awaits approval: it runs (repeatable)
  --deny ID=REASON          deny it: it never runs, and the model gets REASON as an
                            is_error tool_result (repeatable)
  --json                    print one JSON object at the end (as \`turnstate run --json\`)
  --trace OUT               write a self-contained trace page (HTML, no network) of the run:
                            the machine's diagram, its states and transitions, the controller's
                            events, segments and tool calls on one timeline
  --inspect                 serve the run live on 127.0.0.1 (turnstate's live trace page, and
                            inspection events for the Stately inspector); URLs on stderr;
                            after the run, serves until Ctrl-C (exit 130)
  --inspect-port N          the port for --inspect (default: a free one)
  -h, --help                this text

Exit status: 0 completed (end_turn or stop_sequence); 1 anything else;
2 usage errors (also an ID that is not in doubt, or not awaiting approval);
3 awaiting_approval (calls still to decide); 130 interrupted (Ctrl-C); 141 standard output closed.`;

/** A --result value: a JSON string (the text), or a tool_result's `{ content, is_error? }`. */
function toolResult(flag: string, id: string, text: string): ToolResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`resume: ${flag} ${id}: not JSON (${errorMessage(error)}); give a JSON string or {"content": …, "is_error": false}`);
  }
  if (typeof value === 'string') return { content: value, is_error: false };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const { content, is_error: isError, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest);
    const blocks = Array.isArray(content) && content.every((b) => b !== null && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string');
    if (extra.length === 0 && (typeof content === 'string' || blocks) && (isError === undefined || typeof isError === 'boolean')) {
      return { content: content as ToolResult['content'], is_error: isError ?? false };
    }
    if (extra.length > 0) throw new UsageError(`resume: ${flag} ${id}: unknown key ${JSON.stringify(extra[0])}; allowed: content, is_error`);
  }
  throw new UsageError(`resume: ${flag} ${id}: must be a JSON string or {"content": string | content blocks, "is_error": boolean}`);
}

function splitPair(flag: string, spec: string, what: string): [string, string] {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UsageError(`resume: ${flag} must be ID=${what}, got ${JSON.stringify(spec)}`);
  return [spec.slice(0, eq), spec.slice(eq + 1)];
}

/** The decisions the flags give, each checked against the calls the checkpoint has in doubt. */
async function decisionsFrom(
  values: { rerun?: string[] | undefined; result?: string[] | undefined; 'result-file'?: string[] | undefined },
  checkpoint: Checkpoint,
  cwd: string,
): Promise<Record<string, ToolDecision>> {
  const decisions: Record<string, ToolDecision> = {};
  const given: [flag: string, id: string, decision: () => Promise<ToolDecision>][] = [];
  for (const id of values.rerun ?? []) given.push(['--rerun', id, () => Promise.resolve('rerun')]);
  for (const spec of values.result ?? []) {
    const [id, json] = splitPair('--result', spec, 'JSON');
    given.push(['--result', id, () => Promise.resolve(toolResult('--result', id, json))]);
  }
  for (const spec of values['result-file'] ?? []) {
    const [id, file] = splitPair('--result-file', spec, 'FILE');
    given.push([
      '--result-file',
      id,
      async () => {
        const text = await readFile(resolve(cwd, file), 'utf8').catch((error: unknown) => {
          throw new UsageError(`resume: --result-file ${id}: cannot read ${file}: ${errorMessage(error)}`);
        });
        return toolResult('--result-file', id, text);
      },
    ]);
  }
  if (given.length === 0) return decisions;
  const inDoubt = (Array.isArray(checkpoint.state.toolCalls) ? checkpoint.state.toolCalls : []).filter((call) => call?.status === 'started').map((call) => call.id);
  for (const [flag, id, decision] of given) {
    if (!inDoubt.includes(id)) {
      const valid = inDoubt.length === 0 ? 'no tool call is in doubt in this checkpoint' : `in doubt: ${inDoubt.join(', ')}`;
      throw new UsageError(`resume: ${flag} ${id}: not a tool call in doubt (${valid})`);
    }
    if (id in decisions) throw new UsageError(`resume: ${flag} ${id}: a decision for ${id} was already given`);
    decisions[id] = await decision();
  }
  return decisions;
}

/** The approvals `--approve ID` and `--deny ID=REASON` give, checked against the calls the checkpoint has awaiting approval. */
function approvalsFrom(values: { approve?: string[] | undefined; deny?: string[] | undefined }, checkpoint: Checkpoint): Record<string, ResumeApproval> {
  const approvals: Record<string, ResumeApproval> = {};
  const given: [flag: string, id: string, approval: ResumeApproval][] = [];
  for (const id of values.approve ?? []) {
    if (id === '' || id.includes('=')) throw new UsageError(`resume: --approve takes a tool_use id alone, got ${JSON.stringify(id)} (a reason goes with --deny ID=REASON)`);
    given.push(['--approve', id, { approve: true }]);
  }
  for (const spec of values.deny ?? []) {
    const [id, reason] = splitPair('--deny', spec, 'REASON');
    if (reason.trim() === '') throw new UsageError(`resume: --deny ${id}: give a REASON (the model is told it): --deny ${id}=REASON`);
    given.push(['--deny', id, { deny: reason }]);
  }
  for (const [flag, id, approval] of given) {
    if (id in approvals) throw new UsageError(`resume: ${flag} ${id}: a decision for ${id} was already given`);
    approvals[id] = approval;
    try {
      checkApprovals(checkpoint.state, { [id]: approval });
    } catch (error) {
      if (error instanceof ControllerError) throw new UsageError(`resume: ${flag} ${id}: ${error.message.replace(/^approvals(\['[^']*'\]| names \S+, which)? ?/, '')}`);
      throw error;
    }
  }
  return approvals;
}

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'continue a run from its checkpoint without losing or repeating work',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('resume', argv, {
      tools: { type: 'string' },
      'max-continuations': { type: 'string' },
      'deadline-ms': { type: 'string' },
      'idle-timeout': { type: 'string' },
      rerun: { type: 'string', multiple: true },
      result: { type: 'string', multiple: true },
      'result-file': { type: 'string', multiple: true },
      approve: { type: 'string', multiple: true },
      deny: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      trace: { type: 'string' },
      inspect: { type: 'boolean' },
      'inspect-port': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('resume: give exactly one CHECKPOINT file (see `turnstate resume --help`)');
    const maxContinuations = nonNegativeInt('resume', 'max-continuations', values['max-continuations']);
    const deadlineMs = positiveInt('resume', 'deadline-ms', values['deadline-ms']);
    const path = resolve(io.cwd, positionals[0]!);
    let checkpoint: Checkpoint;
    try {
      checkpoint = await readCheckpointFile(path);
    } catch (error) {
      if (error instanceof ControllerError) {
        io.stderr(`turnstate: resume: ${error.code}: ${error.message}\n`);
        return EXIT.failed;
      }
      throw error;
    }
    const decisions = await decisionsFrom(values, checkpoint, io.cwd);
    const approvals = approvalsFrom(values, checkpoint);
    const { tools, approveToolCall } = await loadToolsModule('resume', values.tools, io.cwd);
    const finished = checkpoint.state.phase === 'done';
    const json = values.json ?? false;
    const trace = await runTraceFor(values.trace, `turnstate resume ${positionals[0]!}`, json ? undefined : humanPrinter(io));
    const live = values.inspect ? await liveRun(io, 'turnstate resume', values['inspect-port']) : null;
    let handle: ReturnType<typeof startResume>;
    try {
      handle = startResume(checkpoint, {
        tools,
        // A finished run needs no model; don't demand credentials for it.
        ...(finished ? { createStream: () => Promise.reject(new Error('no request is needed')) } : { createStream: sdkCreateStream(clientFromEnv('resume', io.env)) }),
        checkpoint: new FileCheckpointStore({ path }),
        budgets: { maxContinuations, deadlineMs },
        ...idleTimeoutOption('resume', values['idle-timeout']),
        decisions,
        approvals,
        approveToolCall,
        signal: io.signal,
        ...observers(trace.options, live?.observer),
      });
    } catch (error) {
      if (error instanceof TypeError && error.message.includes('approveToolCall')) {
        throw new UsageError('resume: the run was started with an approveToolCall hook; give the --tools FILE that exports it (without it, later tool calls would run unasked)');
      }
      if (error instanceof TypeError) throw new UsageError(`resume: ${error.message.replace('in `tools`', 'with --tools FILE')}`);
      throw error;
    }
    const toolsPath = values.tools === undefined ? null : resolve(io.cwd, values.tools);
    const code = await finishRun(handle, io, json, { checkpointPath: path, toolsPath });
    const result = await handle.settled;
    const traced = await trace.write(io, result);
    await live?.settle(result);
    return traced ? code : EXIT.failed;
  },
};
