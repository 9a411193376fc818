/**
 * The continuation machine's surroundings for one run: its side effects
 * (model requests, tool batches, approvals, checkpoint writes, backoff
 * sleeps) wired to the run's effects, journal and event hub. The machine
 * decides; this is what its invoked steps call.
 */
import type { BetaContentBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { ContinuationEnv, ContinuationNote } from '../../machines/continuation.machine.js';
import { awaitsDecision, decideToolCalls } from './approval.js';
import type { RunEffects } from './effects.js';
import { resultText, type EventHub } from './events.js';
import { requestSegment, sdkCreateStream, type CreateStream, type ParseTurn } from './model.js';
import type { LaunchContext } from './options.js';
import { requestParams, type ReceivedSegment } from './steps.js';
import { runToolBatch, type ToolJournal } from './tools.js';
import type { RunnableTool, RunState } from './types.js';

/** What a run hands its environment. */
export interface EnvParts {
  readonly runId: string;
  readonly launchContext: LaunchContext;
  readonly effects: RunEffects;
  readonly hub: EventHub;
  readonly tools: ReadonlyMap<string, RunnableTool>;
  readonly parse: ParseTurn;
  /**
   * The signal every side effect runs under: the run's (deadline, caller). An
   * invoked step's own signal would fire only when its state is left early,
   * which this machine never does (it takes no outside events), and
   * `AbortSignal.any` per request would cost more than the rest of a
   * segment's bookkeeping.
   */
  readonly signal: AbortSignal;
  /** Calls `listener` once when the run aborts, until the returned function is called (see ToolBatchOptions.whenAborted). */
  readonly whenAborted: (listener: () => void) => () => void;
  readonly abortCause: () => 'deadline' | 'caller' | null;
  /** Makes `state` the one the next checkpoint write stores. */
  readonly setLatest: (state: RunState) => void;
  /** A write the next step depends on; rejects with the run's `checkpoint_failed`. */
  readonly durableWrite: () => Promise<void>;
}

export function continuationEnv(parts: EnvParts): ContinuationEnv {
  const { runId, hub, effects, launchContext, tools, parse, signal, setLatest, durableWrite } = parts;
  const { options } = launchContext;
  const { now, random } = effects;
  let createStream = options.createStream;
  const model = (): CreateStream => (createStream ??= sdkCreateStream(options.client));

  /** Journal hooks for the open batch: each new version of a call goes into the state the next write stores. */
  const batchJournal = (state: RunState): ToolJournal => {
    let toolState = state;
    const offset = toolState.toolCalls.length - toolState.batch.length;
    return {
      update: (call) => {
        const at = toolState.batch.indexOf(call.id);
        if (at === -1) return;
        const toolCalls = toolState.toolCalls.slice();
        toolCalls[offset + at] = call;
        toolState = { ...toolState, toolCalls };
        setLatest(toolState);
      },
      persist: durableWrite,
    };
  };

  const onBlockFor = (segment: number) =>
    hub.wants('block')
      ? (block: BetaContentBlock, index: number) => {
          const call = block as { name?: unknown; id?: unknown; tool_use_id?: unknown; input?: unknown };
          hub.emit({
            type: 'block',
            runId,
            at: now(),
            segment,
            index,
            blockType: block.type,
            name: typeof call.name === 'string' ? call.name : null,
            id: typeof call.id === 'string' ? call.id : typeof call.tool_use_id === 'string' ? call.tool_use_id : null,
            input: 'input' in block ? call.input : null,
          });
        }
      : undefined;

  return {
    saveCheckpoint: (state) => {
      setLatest(state);
      return durableWrite();
    },
    requestModel: async (input) => {
      const segment = input.state.segments.length;
      if (hub.active) hub.emit({ type: 'segment_start', runId, at: now(), segment, kind: input.state.nextRequest, attempt: input.attempt, maxTokens: input.state.maxTokens });
      const onText = hub.wants('text') ? (delta: string, index: number) => hub.emit({ type: 'text', runId, at: now(), segment, index, delta }) : undefined;
      const onBlock = onBlockFor(segment);
      const params = requestParams(input.state);
      const perform = async (): Promise<ReceivedSegment> => {
        const response = await requestSegment({ createStream: model(), parse, params, signal, now, onText, onBlock, idleTimeoutMs: options.idleTimeoutMs });
        return {
          message: response.message,
          dropped: response.turn.dropped,
          invalidToolInputs: response.turn.invalidToolInputs,
          requestId: response.requestId,
          startedAt: response.startedAt,
          durationMs: response.durationMs,
        };
      };
      return effects.modelRequest({ runId, params, segment, attempt: input.attempt, kind: input.state.nextRequest }, perform);
    },
    runTools: async (input) =>
      runToolBatch({
        calls: input.calls,
        tools,
        concurrency: input.state.settings.toolConcurrency,
        timeoutMs: input.state.settings.toolTimeoutMs,
        decisions: launchContext.decisions,
        signal,
        whenAborted: parts.whenAborted,
        now,
        invoke: effects.toolCall,
        journal: batchJournal(input.state),
        onStart: (call) => {
          if (hub.active) hub.emit({ type: 'tool_start', runId, at: now(), id: call.id, name: call.name, input: call.input, attempt: call.attempts });
        },
        onEnd: (call) => {
          if (!hub.active) return;
          hub.emit({ type: 'tool_end', runId, at: now(), id: call.id, name: call.name, isError: call.result?.is_error ?? false, durationMs: call.durationMs ?? 0, error: call.result?.is_error ? resultText(call.result) : null });
        },
      }),
    awaitsApproval: (call) => awaitsDecision(call) && (options.approveToolCall !== undefined || Object.hasOwn(launchContext.approvals, call.id)),
    approveTools: async (input) => {
      // The open batch is durable before anyone is asked: a person may take hours, and a restart meanwhile must find the calls.
      setLatest(input.state);
      await durableWrite();
      return decideToolCalls({
        runId,
        calls: input.calls,
        hook: options.approveToolCall,
        approvals: launchContext.approvals,
        signal,
        now,
        journal: batchJournal(input.state),
        onDecision: (call) => {
          const approval = call.approval!;
          hub.emit({ type: 'tool_approval', runId, at: now(), id: call.id, name: call.name, decision: approval.decision, message: approval.message ?? null, source: approval.source });
        },
      });
    },
    sleep: (ms) => effects.sleep(ms, signal),
    now,
    random,
    abortCause: parts.abortCause,
    notify: (note: ContinuationNote) => {
      // Nobody listens: build no event (this runs at every step).
      if (!hub.active) return;
      const at = now();
      switch (note.type) {
        case 'continuation':
          hub.emit({ type: 'continuation', runId, at, kind: note.kind, count: note.count });
          break;
        case 'retry': {
          const { type: _type, ...retry } = note;
          hub.emit({ type: 'retry', runId, at, ...retry });
          break;
        }
        case 'budget':
          hub.emit({ type: 'budget', runId, at, budget: note.error.budget!, limit: note.error.limit, used: note.error.used });
          break;
        case 'segment_end': {
          const segment = note.segment;
          hub.emit({
            type: 'segment_end',
            runId,
            at,
            segment: segment.index,
            stopReason: segment.stopReason,
            usage: segment.usage,
            durationMs: segment.durationMs,
            requestId: segment.requestId,
          });
          break;
        }
      }
    },
  };
}
