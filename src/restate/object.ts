/**
 * A Restate virtual object that holds one conversation per key and runs each
 * turn of it with turnstate's controller, its side effects journaled
 * (effects.ts). Restate runs one exclusive handler per key at a time, so a
 * conversation has one writer: a second `send` for the same key waits until
 * the first has finished, then sees its answer in the history.
 */
import { TerminalError, handlers, object } from '@restatedev/restate-sdk';
import type { ObjectContext, ObjectSharedContext } from '@restatedev/restate-sdk';
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { startResume, startRun, type CommonRunOptions, type RunOptions } from '../controller/controller.js';
import type { ErrorToolCall } from '../controller/errors.js';
import type { ControllerEvent } from '../controller/events.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint } from '../controller/journal/schema.js';
import { sdkCreateStream, type CreateStream, type SdkClient } from '../controller/model.js';
import type { ToolDecision } from '../controller/tools.js';
import type { RequestParams, RunnableTool, RunResult, RunStatus } from '../controller/types.js';
import type { UsageTotals } from '../controller/usage.js';
import { restateEffects } from './effects.js';
import { RestateRunError } from './errors.js';
import { checkSdkRuntime } from './runtime.js';

/** Run settings a conversation's turns share (everything of `startRun` that is not a side effect). */
export type TurnSettings = Pick<
  RunOptions,
  'budgets' | 'retry' | 'toolConcurrency' | 'toolTimeoutMs' | 'idleTimeoutMs' | 'maxTokensPolicy' | 'maxTokensCeiling' | 'maxTokensRaiseFactor' | 'stuckLoopThreshold'
>;

export interface TurnObjectOptions {
  /** The virtual object's name (the first path segment at the ingress). Default `turnstate`. */
  readonly name?: string;
  /** Model, max_tokens, system … (everything but `messages`), for every turn. */
  readonly params: RequestParams;
  readonly tools?: readonly RunnableTool[];
  /** The model: default the Anthropic SDK client from the environment (built on first use). */
  readonly createStream?: CreateStream;
  readonly client?: SdkClient;
  readonly settings?: TurnSettings;
  /**
   * Live events of a run, for a side channel to clients (see README "Scaling
   * out"): best-effort and per attempt — a retried invocation sends a run's
   * step events again (text deltas only for requests that really run again).
   * The handler's reply and `history` are the durable answer.
   */
  readonly onEvent?: (event: ControllerEvent, conversation: string) => void;
}

/** What `send` and `decide` answer (JSON). */
export interface TurnReply {
  readonly runId: string;
  readonly status: RunStatus;
  readonly stopReason: string | null;
  readonly text: string;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** For `tool_needs_decision`: the calls `decide` must answer. */
  readonly inDoubt: readonly ErrorToolCall[];
  /** The conversation after this turn (for a stopped run: its transcript so far). */
  readonly messages: readonly BetaMessageParam[];
  readonly usage: UsageTotals;
  readonly toolCalls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly status: string; readonly attempts: number; readonly isError: boolean | null }>;
  readonly segments: number;
  readonly retries: number;
}

export interface SendInput {
  /** The user's message: text, or content blocks. */
  readonly message: BetaMessageParam['content'];
}

export interface DecideInput {
  readonly decisions: Readonly<Record<string, ToolDecision>>;
}

const MESSAGES = 'messages';
const PENDING = 'pending';

function invalid(where: string, message: string): TerminalError {
  return new TerminalError(new RestateRunError('invalid_input', message, where).message, { errorCode: 400 });
}

function checkSend(input: unknown): SendInput {
  const message = (input as { message?: unknown } | null)?.message;
  if (typeof message === 'string' ? message.length === 0 : !Array.isArray(message) || message.length === 0) {
    throw invalid('send.message', 'give the user message as a non-empty string or an array of content blocks');
  }
  return input as SendInput;
}

function checkDecide(input: unknown): DecideInput {
  const decisions = (input as { decisions?: unknown } | null)?.decisions;
  if (decisions === null || typeof decisions !== 'object' || Array.isArray(decisions)) throw invalid('decide.decisions', "give { '<tool_use id>': 'rerun' | { content, is_error } }");
  for (const [id, decision] of Object.entries(decisions)) {
    const ok = decision === 'rerun' || (decision !== null && typeof decision === 'object' && 'content' in decision && typeof (decision as { is_error?: unknown }).is_error === 'boolean');
    if (!ok) throw invalid(`decide.decisions.${id}`, "a decision is 'rerun' or { content, is_error: boolean }");
  }
  return input as DecideInput;
}

function replyOf(result: RunResult): TurnReply {
  const error = result.error;
  return {
    runId: result.runId,
    status: result.status,
    stopReason: result.stopReason,
    text: result.text,
    error: error === null ? null : { code: error.code, message: error.message },
    inDoubt: error?.code === 'tool_needs_decision' ? (error.toolCalls ?? []) : [],
    messages: result.messages,
    usage: result.usage,
    toolCalls: result.toolCalls.map((call) => ({ id: call.id, name: call.name, status: call.status, attempts: call.attempts, isError: call.result?.is_error ?? null })),
    segments: result.segments.length,
    retries: result.retries.length,
  };
}

/**
 * The virtual object: `send` runs a turn, `decide` resumes a turn stopped
 * for tool calls in doubt, `discard` drops such a turn, `history` (shared,
 * concurrent) reads the conversation. Bind it to an endpoint:
 * `restate.endpoint().bind(turnObject({ params, tools })).listen(9080)`.
 */
export function turnObject(options: TurnObjectOptions) {
  checkSdkRuntime();
  if (options === null || typeof options !== 'object' || options.params === undefined) throw new RestateRunError('invalid_options', 'turnObject needs { params } (model, max_tokens …)', 'params');
  const tools = [...(options.tools ?? [])];
  const retrySafe = new Set(tools.filter((tool) => tool.retrySafe === true).map((tool) => tool.name));
  let createStream = options.createStream;
  const model = (): CreateStream => (createStream ??= sdkCreateStream(options.client));

  const common = async (ctx: ObjectContext): Promise<CommonRunOptions & { effects: ReturnType<typeof restateEffects> }> => {
    const startedAt = await ctx.date.now();
    const effects = restateEffects(ctx, startedAt, (name) => retrySafe.has(name));
    const onEvent = options.onEvent;
    const conversation = ctx.key;
    return {
      ...options.settings,
      tools,
      createStream: model(),
      effects,
      ...(onEvent === undefined ? {} : { onEvent: (event: ControllerEvent) => onEvent(event, conversation) }),
    };
  };

  /** Stores what the run leaves: a finished turn goes into the history, a stopped one waits for `decide`. */
  const settle = (ctx: ObjectContext, result: RunResult, seq: number): TurnReply => {
    if (result.state.phase === 'done') {
      if (result.error === null) ctx.set(MESSAGES, result.messages);
      ctx.clear(PENDING);
    } else {
      const checkpoint: Checkpoint = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, seq, savedAt: new Date(result.state.startedAt).toISOString(), state: result.state };
      ctx.set(PENDING, checkpoint);
    }
    return replyOf(result);
  };

  return object({
    name: options.name ?? 'turnstate',
    handlers: {
      send: async (ctx: ObjectContext, input: SendInput): Promise<TurnReply> => {
        const { message } = checkSend(input);
        const pending = await ctx.get<Checkpoint>(PENDING);
        if (pending !== null) {
          const error = new RestateRunError('run_waiting_for_decision', `run ${pending.state.runId} of conversation '${ctx.key}' stopped with tool calls in doubt: call decide (or discard) first`, 'send');
          throw new TerminalError(error.message, { errorCode: 409 });
        }
        const history = (await ctx.get<BetaMessageParam[]>(MESSAGES)) ?? [];
        const run = await common(ctx);
        const runId = `run_${ctx.rand.uuidv4()}`;
        const result = await startRun({ ...run, runId, params: options.params, messages: [...history, { role: 'user', content: message } as BetaMessageParam] }).settled;
        return settle(ctx, result, run.effects.journal.latest?.seq ?? 0);
      },
      decide: async (ctx: ObjectContext, input: DecideInput): Promise<TurnReply> => {
        const { decisions } = checkDecide(input);
        const pending = await ctx.get<Checkpoint>(PENDING);
        if (pending === null) throw new TerminalError(new RestateRunError('no_pending_run', `conversation '${ctx.key}' has no stopped run to decide on`, 'decide').message, { errorCode: 404 });
        const run = await common(ctx);
        const result = await startResume(pending, { ...run, decisions }).settled;
        return settle(ctx, result, run.effects.journal.latest?.seq ?? pending.seq);
      },
      discard: async (ctx: ObjectContext): Promise<{ readonly discarded: string }> => {
        const pending = await ctx.get<Checkpoint>(PENDING);
        if (pending === null) throw new TerminalError(new RestateRunError('no_pending_run', `conversation '${ctx.key}' has no stopped run to discard`, 'discard').message, { errorCode: 404 });
        ctx.clear(PENDING);
        return { discarded: pending.state.runId };
      },
      history: handlers.object.shared(async (ctx: ObjectSharedContext) => {
        const pending = await ctx.get<Checkpoint>(PENDING);
        return {
          messages: (await ctx.get<BetaMessageParam[]>(MESSAGES)) ?? [],
          pending: pending === null ? null : { runId: pending.state.runId, inDoubt: pending.state.outcome?.error?.toolCalls ?? [] },
        };
      }),
    },
  });
}
