/**
 * Human approval of client tool calls, durably. Before a call of a batch runs,
 * the `approveToolCall` hook (or a resume's `approvals`) decides it: approve,
 * deny with a message, or defer. Each decision is journaled — made durable —
 * before it is acted on, so a crash at any point leaves every call either
 * undecided (asked again), or decided exactly as the journal says.
 *
 * It sits beside the in-doubt mechanism rather than inside it: a call in doubt
 * (`started`, no result) is one the journal cannot vouch for, and it is
 * settled by `decisions`; a call awaiting approval has never started, and it
 * is settled by `approvals`. Both stop the batch before anything unsafe runs,
 * both name every call at once, both resume by tool_use id.
 */
import type { BetaToolUseBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { ControllerError, type ErrorToolCall } from './errors.js';
import type { ToolJournal } from './tools.js';
import type { ApprovalRecord, RunState, ToolCallRecord } from './types.js';

/** What `approveToolCall` returns for a call. */
export type ApprovalDecision = { readonly approve: true } | { readonly deny: string } | { readonly defer: true };

/** What a resume's `approvals` give for a call: the person's answer. */
export type ResumeApproval = { readonly approve: true } | { readonly deny: string };

/** The call the hook is asked about. */
export interface ApprovalRequest {
  readonly id: string;
  readonly name: string;
  /** A copy of the input: what the hook does with it cannot change what runs. */
  readonly input: unknown;
  readonly runId: string;
  /** The `tool_use` block as the model sent it (a copy). */
  readonly toolUse: BetaToolUseBlock;
  /** Fires when the run is aborted (caller or deadline): a hook waiting on a person can give up. */
  readonly signal: AbortSignal;
}

/**
 * Decides each client tool call before it runs. Called for every call of a
 * batch at once (they may wait on a person together); a throw or rejection
 * fails the run with `approval_failed` before any call of the batch runs.
 */
export type ApproveToolCall = (call: ApprovalRequest) => ApprovalDecision | Promise<ApprovalDecision>;

/** Whether a call still waits for a decision: it has not started, and nothing decided it, or it was deferred. */
export function awaitsDecision(call: ToolCallRecord): boolean {
  return call.status === 'pending' && (call.approval === undefined || call.approval.decision === 'deferred');
}

export function isDeferred(call: ToolCallRecord): boolean {
  return call.status === 'pending' && call.approval?.decision === 'deferred';
}

const asErrorCall = (call: ToolCallRecord): ErrorToolCall => ({ id: call.id, name: call.name, input: call.input });

/** The deferred calls of the open batch, in tool_use order. */
export function deferredCalls(state: RunState): ErrorToolCall[] {
  const start = state.toolCalls.length - state.batch.length;
  return state.toolCalls.slice(start).filter(isDeferred).map(asErrorCall);
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A decision as the API accepts it, or null. A deny needs a message: the model is told why. */
function asDecision(value: unknown, allowDefer: boolean): ApprovalDecision | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  if (keys.length !== 1) return null;
  const v = value as Record<string, unknown>;
  if (v['approve'] === true) return { approve: true };
  if (typeof v['deny'] === 'string' && v['deny'].trim() !== '') return { deny: v['deny'] };
  if (allowDefer && v['defer'] === true) return { defer: true };
  return null;
}

/** The journal entry and, for a deny, the result a decision makes of a call. */
function applyDecision(call: ToolCallRecord, decision: ApprovalDecision, source: ApprovalRecord['source'], at: number): ToolCallRecord {
  if ('approve' in decision) return { ...call, approval: { decision: 'approved', source, at } };
  if ('defer' in decision) return { ...call, approval: { decision: 'deferred', source, at } };
  return { ...call, status: 'done', result: { content: decision.deny, is_error: true }, durationMs: 0, approval: { decision: 'denied', message: decision.deny, source, at } };
}

/**
 * Checks a resume's `approvals` against the state it resumes: every id must
 * be a call of the open batch that awaits a decision — or one the journal
 * already shows decided the same way (a resume repeated after a crash) — and
 * every value a decision. Throws `invalid_approval` naming the first that is not.
 */
export function checkApprovals(state: RunState, approvals: Readonly<Record<string, unknown>>): void {
  const entries = Object.entries(approvals);
  if (entries.length === 0) return;
  const start = state.toolCalls.length - state.batch.length;
  const batch = state.phase === 'running_tools' ? state.toolCalls.slice(start) : [];
  const waiting = batch.filter(awaitsDecision);
  const listed = waiting.length === 0 ? 'no tool call awaits approval in this checkpoint' : `awaiting: ${waiting.map((c) => `${c.id} ('${c.name}')`).join(', ')}`;
  for (const [id, value] of entries) {
    const decision = asDecision(value, false);
    if (decision === null) {
      throw new ControllerError('invalid_approval', `approvals['${id}'] is ${describe(value)}; give { approve: true } or { deny: 'a message for the model' }`, { toolUseId: id });
    }
    const call = batch.find((c) => c.id === id);
    if (call === undefined || (!awaitsDecision(call) && call.approval === undefined)) {
      throw new ControllerError('invalid_approval', `approvals names ${id}, which is not a tool call awaiting approval (${listed})`, { toolUseId: id });
    }
    if (!awaitsDecision(call)) {
      const same = 'approve' in decision ? call.approval?.decision === 'approved' : call.approval?.decision === 'denied' && 'deny' in decision && call.approval.message === decision.deny;
      if (!same) {
        throw new ControllerError('invalid_approval', `approvals['${id}'] contradicts the decision already journaled for it (${call.approval?.decision}${call.approval?.message ? `: ${call.approval.message}` : ''})`, {
          toolUseId: id,
          toolCall: asErrorCall(call),
        });
      }
    }
  }
}

export interface DecideOptions {
  readonly runId: string;
  readonly calls: readonly ToolCallRecord[];
  readonly hook: ApproveToolCall | undefined;
  readonly approvals: Readonly<Record<string, ResumeApproval>>;
  readonly signal: AbortSignal;
  readonly journal: ToolJournal;
  readonly now: () => number;
  /** Told of each decision once it is durable. */
  readonly onDecision?: (call: ToolCallRecord) => void;
}

/**
 * Decides every call of the batch that awaits a decision — from `approvals`
 * first, then the hook; without either a call is left as it is (undecided
 * calls run as they always did; deferred ones stay deferred) — journals all the
 * decisions in one durable write, and only then returns the records. A hook
 * that throws fails the whole batch before anything is journaled or run.
 */
export async function decideToolCalls(options: DecideOptions): Promise<ToolCallRecord[]> {
  const { calls, hook, approvals, signal } = options;
  const asked = calls.map(async (call): Promise<[ApprovalDecision, ApprovalRecord['source']] | null> => {
    if (!awaitsDecision(call)) return null;
    const given = approvals[call.id];
    if (given !== undefined) return [given, 'resume'];
    if (hook === undefined) return null;
    let returned: unknown;
    try {
      const toolUse = structuredClone({ type: 'tool_use', id: call.id, name: call.name, input: call.input }) as BetaToolUseBlock;
      returned = await hook({ id: call.id, name: call.name, input: toolUse.input, runId: options.runId, toolUse, signal });
    } catch (cause) {
      if (signal.aborted) throw signal.reason;
      throw new ControllerError('approval_failed', `approveToolCall threw for tool call ${call.id} ('${call.name}'): ${cause instanceof Error ? cause.message : describe(cause)}; nothing of the batch ran`, {
        toolCall: asErrorCall(call),
        toolUseId: call.id,
        cause,
      });
    }
    const decision = asDecision(returned, true);
    if (decision === null) {
      throw new ControllerError(
        'approval_failed',
        `approveToolCall returned ${describe(returned)} for tool call ${call.id} ('${call.name}'); it must return { approve: true }, { deny: 'a message' } or { defer: true }`,
        { toolCall: asErrorCall(call), toolUseId: call.id },
      );
    }
    return [decision, 'hook'];
  });
  let onAbort: (() => void) | undefined;
  const abortion = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  let decided: ([ApprovalDecision, ApprovalRecord['source']] | null)[];
  try {
    // allSettled first: a hook that throws must not leave the others' rejections unhandled.
    const settled = Promise.allSettled(asked).then((outcomes) => {
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
      return outcomes.map((o) => (o as PromiseFulfilledResult<[ApprovalDecision, ApprovalRecord['source']] | null>).value);
    });
    decided = await Promise.race([settled, abortion]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
  abortion.catch(() => {});
  const at = options.now();
  const records = calls.map((call, i) => {
    const pick = decided[i];
    return pick === null || pick === undefined ? call : applyDecision(call, pick[0], pick[1], at);
  });
  const changed = records.filter((record, i) => record !== calls[i]);
  if (changed.length === 0) return records;
  for (const record of changed) options.journal.update(record);
  // Durable before anything acts on them: a crash from here on finds every decision in the journal.
  await options.journal.persist();
  for (const record of changed) options.onDecision?.(record);
  return records;
}

/**
 * The checkpointed `requiresApproval` setting: set once a run has had a hook,
 * so every later resume must bring one. Checks that the hook is a function.
 */
export function approvalSetting(hook: unknown, before: boolean | undefined): { requiresApproval?: true } {
  if (hook !== undefined && typeof hook !== 'function') throw new ControllerError('invalid_options', `approveToolCall must be a function, got ${hook === null ? 'null' : typeof hook}`);
  return hook !== undefined || before === true ? { requiresApproval: true } : {};
}

/**
 * What a resume brings for approvals, checked against the checkpoint: its
 * `approvals` (see {@link checkApprovals}), and the hook when the run had one —
 * without it, the calls of later batches would run unasked. Throws
 * `invalid_approval`, or a TypeError for the missing hook (as for missing tools).
 */
export function approvalsFor(state: RunState, options: { readonly approveToolCall?: unknown; readonly approvals?: Readonly<Record<string, unknown>> | undefined }): void {
  checkApprovals(state, options.approvals ?? {});
  if (state.phase !== 'done' && state.settings.requiresApproval === true && options.approveToolCall === undefined) {
    throw new TypeError('resume needs `approveToolCall`: the run was started with one, and without it later tool calls would run unasked (functions are not checkpointed)');
  }
}
