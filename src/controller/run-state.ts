/**
 * A run's state at its two ends: the state a fresh run or a resume starts
 * from (settings resolved and checked), and the result a finished state
 * stands for.
 */
import { randomUUID } from 'node:crypto';
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { ListenerError } from '../turn/errors.js';
import { approvalSetting, approvalsFor, deferredCalls } from './approval.js';
import { resolveBudgets } from './budget.js';
import { ControllerError } from './errors.js';
import { finalText } from './history.js';
import type { Checkpoint } from './journal.js';
import { DEFAULTS, nowOf, type ResumeOptions, type RunOptions } from './options.js';
import { DEFAULT_RETRY } from './retry.js';
import { batchCalls } from './steps.js';
import { maxTokensCeilingSetting, nonNegativeSetting, raiseFactorSetting, toolTimeoutSetting } from './timers.js';
import { mergeToolDefinitions } from './tools.js';
import type { RequestParams, RetrySettings, RunResult, RunSettings, RunState } from './types.js';
import { emptyUsage } from './usage.js';

function retrySettings(given: Partial<RetrySettings> | undefined, base: RetrySettings): RetrySettings {
  const settings: RetrySettings = { ...base, ...Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined)) };
  nonNegativeSetting(settings.maxRetries, 'retry.maxRetries', true);
  nonNegativeSetting(settings.baseDelayMs, 'retry.baseDelayMs');
  nonNegativeSetting(settings.maxDelayMs, 'retry.maxDelayMs');
  return settings;
}

/** The state of a run that has not made its first request yet. */
export function initialRunState(options: RunOptions, now: number): RunState {
  const { params } = options;
  if (!Number.isInteger(params.max_tokens) || params.max_tokens <= 0) throw new TypeError('params.max_tokens must be a positive integer');
  const tools = mergeToolDefinitions(params.tools, options.tools ?? []);
  const finalParams: RequestParams = { ...params };
  delete (finalParams as { stream?: unknown }).stream;
  delete (finalParams as { messages?: unknown }).messages;
  if (tools === undefined) delete finalParams.tools;
  else finalParams.tools = tools;
  const messages: BetaMessageParam[] = typeof options.messages === 'string' ? [{ role: 'user', content: options.messages }] : [...options.messages];
  const settings: RunSettings = {
    maxTokensPolicy: options.maxTokensPolicy ?? DEFAULTS.maxTokensPolicy,
    maxTokensCeiling: maxTokensCeilingSetting(options.maxTokensCeiling ?? DEFAULTS.maxTokensCeiling),
    maxTokensRaiseFactor: raiseFactorSetting(options.maxTokensRaiseFactor ?? DEFAULTS.maxTokensRaiseFactor),
    budgets: resolveBudgets(options.budgets, now),
    stuckLoopThreshold: options.stuckLoopThreshold ?? DEFAULTS.stuckLoopThreshold,
    toolConcurrency: options.toolConcurrency ?? DEFAULTS.toolConcurrency,
    toolTimeoutMs: toolTimeoutSetting(options.toolTimeoutMs ?? DEFAULTS.toolTimeoutMs, 'toolTimeoutMs'),
    retry: retrySettings(options.retry, DEFAULT_RETRY),
    ...approvalSetting(options.approveToolCall, undefined),
  };
  if (!['stop', 'continue', 'raise'].includes(settings.maxTokensPolicy)) throw new TypeError(`maxTokensPolicy must be stop, continue or raise`);
  return {
    runId: options.runId ?? `run_${randomUUID()}`,
    startedAt: now,
    params: JSON.parse(JSON.stringify(finalParams)) as RequestParams,
    maxTokens: params.max_tokens,
    messages,
    phase: 'requesting',
    nextRequest: 'initial',
    continuations: 0,
    toolCallCount: 0,
    usage: emptyUsage(),
    segments: [],
    retries: [],
    toolCalls: [],
    batch: [],
    dropped: [],
    lastMessage: null,
    outcome: null,
    settings,
  };
}

/** The result a finished state stands for. */
export function resultFromState(state: RunState, error: ControllerError | null = null, listenerErrors: readonly ListenerError[] = []): RunResult {
  const outcome = state.outcome;
  if (outcome === null) throw new Error('resultFromState: the run has not finished');
  const err = error ?? (outcome.error ? ControllerError.fromJSON(outcome.error) : null);
  const result: RunResult = {
    runId: state.runId,
    status: outcome.status,
    stopReason: outcome.stopReason,
    text: finalText(state.messages),
    message: state.lastMessage,
    messages: state.messages,
    usage: state.usage,
    segments: state.segments,
    retries: state.retries,
    toolCalls: state.toolCalls,
    dropped: state.dropped,
    stopSequence: outcome.stopSequence,
    stopDetails: outcome.stopDetails,
    reason: outcome.reason,
    error: err,
    awaitingApproval: outcome.status === 'awaiting_approval' ? deferredCalls(state) : [],
    listenerErrors,
    state,
  };
  if (err) {
    err.messages = state.messages;
    err.usage = state.usage;
    err.result = result;
  }
  return result;
}

/** The state a resume starts from: the checkpoint's, with the resume's settings. Throws TypeError for missing tools. */
export function resumedState(checked: Checkpoint, options: ResumeOptions): RunState {
  const now = nowOf(options)();
  const old = checked.state;
  const settings: RunSettings = {
    ...old.settings,
    budgets: resolveBudgets(options.budgets, now, old.settings.budgets),
    retry: retrySettings(options.retry, old.settings.retry),
    toolConcurrency: options.toolConcurrency ?? old.settings.toolConcurrency,
    toolTimeoutMs: options.toolTimeoutMs === undefined ? old.settings.toolTimeoutMs : toolTimeoutSetting(options.toolTimeoutMs, 'toolTimeoutMs'),
    ...approvalSetting(options.approveToolCall, old.settings.requiresApproval),
  };
  approvalsFor(old, options);
  const state: RunState = old.phase === 'done' ? old : { ...old, outcome: null, settings };
  if (state.phase === 'running_tools') {
    // A call of the open batch whose tool the run had but the resume was not given would be answered
    // "not found" — a lie to the model about a tool it was offered. That is a caller's mistake: say so.
    const given = new Set((options.tools ?? []).map((tool) => tool.name));
    const defined = new Set((state.params.tools ?? []).map((tool) => ('name' in tool ? String(tool.name) : '')));
    const missing = [...new Set(batchCalls(state).filter((call) => call.status !== 'done' && !given.has(call.name) && defined.has(call.name)).map((call) => call.name))];
    if (missing.length > 0) {
      throw new TypeError(`resume needs the tools the run used: pass ${missing.map((name) => `'${name}'`).join(', ')} in \`tools\` (functions are not checkpointed)`);
    }
  }
  return state;
}
