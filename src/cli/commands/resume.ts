import { resolve } from 'node:path';
import { startResume } from '../../controller/controller.js';
import { ControllerError } from '../../controller/errors.js';
import { FileCheckpointStore, readCheckpointFile, type Checkpoint } from '../../controller/journal.js';
import { sdkCreateStream } from '../../controller/model.js';
import type { ToolDecision } from '../../controller/tools.js';
import { parseCommandArgs, positiveInt } from '../args.js';
import { EXIT, UsageError, type Command } from '../io.js';
import { clientFromEnv, finishRun, humanPrinter, loadTools } from './run.js';

const HELP = `Usage: turnstate resume CHECKPOINT [options]

Continues a run from its checkpoint exactly where it stopped: tool results
already recorded are reused (never re-run), a request that was in flight is
re-issued, and a tool call that started without a recorded result is re-run
only if its tool is marked retrySafe (else the run stops and names the call).
A finished run's checkpoint just prints its result.

  --tools FILE              the same tools module the run used (functions are not checkpointed)
  --max-continuations N     raise the continuation cap (e.g. after budget_exceeded)
  --deadline-ms N           a new deadline, counted from now
  --rerun ID                re-run the tool call ID even though it may have run (repeatable)
  --json                    print one JSON object at the end (as \`turnstate run --json\`)
  -h, --help                this text

Exit status: 0 completed (end_turn or stop_sequence); 1 anything else;
2 usage errors.`;

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'continue a run from its checkpoint without losing or repeating work',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('resume', argv, {
      tools: { type: 'string' },
      'max-continuations': { type: 'string' },
      'deadline-ms': { type: 'string' },
      rerun: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('resume: give exactly one CHECKPOINT file (see `turnstate resume --help`)');
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
    const maxContinuations = positiveInt('resume', 'max-continuations', values['max-continuations']);
    const deadlineMs = positiveInt('resume', 'deadline-ms', values['deadline-ms']);
    const tools = await loadTools('resume', values.tools, io.cwd);
    const finished = checkpoint.state.phase === 'done';
    const decisions: Record<string, ToolDecision> = {};
    for (const id of values.rerun ?? []) decisions[id] = 'rerun';
    const json = values.json ?? false;
    let handle: ReturnType<typeof startResume>;
    try {
      handle = startResume(checkpoint, {
      tools,
      // A finished run needs no model; don't demand credentials for it.
      ...(finished ? { createStream: () => Promise.reject(new Error('no request is needed')) } : { createStream: sdkCreateStream(clientFromEnv('resume', io.env)) }),
      checkpoint: new FileCheckpointStore({ path }),
      budgets: { maxContinuations, deadlineMs },
      decisions,
      ...(json ? {} : { onEvent: humanPrinter(io) }),
      });
    } catch (error) {
      if (error instanceof TypeError) throw new UsageError(`resume: ${error.message.replace('in `tools`', 'with --tools FILE')}`);
      throw error;
    }
    return finishRun(handle, io, json, path);
  },
};
