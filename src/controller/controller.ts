/**
 * The controller's entry points: start a run, resume one from its
 * checkpoint, or run either to the end. A run itself is launch.ts; what it is
 * given, options.ts; its state at start and end, run-state.ts.
 */
import { parseCheckpoint, readCheckpointFile, type Checkpoint } from './journal.js';
import { launch } from './launch.js';
import { nowOf, type ResumeOptions, type RunHandle, type RunOptions } from './options.js';
import { initialRunState, resumedState } from './run-state.js';
import type { RunResult } from './types.js';

export { DEFAULTS, systemClock, type Clock, type CommonRunOptions, type ResumeOptions, type RunHandle, type RunOptions } from './options.js';
export { initialRunState, resultFromState } from './run-state.js';

/**
 * Starts a run: requests, then follows each stop reason until the turn is
 * truly over, checkpointing after every step. Returns at once; see
 * {@link RunHandle}.
 */
export function startRun(options: RunOptions): RunHandle {
  const state = initialRunState(options, nowOf(options)());
  return launch(state, { resumed: false, seq: 0, options, decisions: {}, approvals: {} });
}

/** Runs to the end: `await runTurn({ params, messages, tools })`. */
export function runTurn(options: RunOptions): Promise<RunResult> {
  return startRun(options).result;
}

/**
 * Continues a run from its checkpoint exactly where it stopped: recorded tool
 * results are reused (never re-run), a request lost in flight is re-issued, a
 * tool call in doubt is re-run only if it is `retrySafe` (or a decision says
 * so). A finished run's checkpoint gives its result back without any work.
 * Budgets, retry and tool settings passed here override the checkpoint's;
 * `budgets.deadlineMs` counts from the resume.
 */
export function startResume(checkpoint: Checkpoint, options: ResumeOptions = {}): RunHandle {
  return startResumeWith(parseCheckpoint, checkpoint, options);
}

/** {@link startResume} with another validator: tests use it to show that their property catches one that lets defects through. */
export function startResumeWith(validate: (value: unknown) => Checkpoint, checkpoint: unknown, options: ResumeOptions = {}): RunHandle {
  const checked = validate(checkpoint);
  const state = resumedState(checked, options);
  return launch(state, { resumed: true, seq: checked.seq, options, decisions: options.decisions ?? {}, approvals: options.approvals ?? {} });
}

/**
 * {@link startResume}, from a checkpoint or the path of a checkpoint file, to
 * the end. Given a path (and no `checkpoint` option), the run goes on writing
 * to that same file.
 */
export async function resume(checkpoint: Checkpoint | string, options: ResumeOptions = {}): Promise<RunResult> {
  if (typeof checkpoint !== 'string') return startResume(checkpoint, options).result;
  const loaded = await readCheckpointFile(checkpoint);
  return startResume(loaded, options.checkpoint === undefined ? { ...options, checkpoint: { path: checkpoint } } : options).result;
}
