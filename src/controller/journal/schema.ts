/**
 * The shape of a checkpoint, as a zod schema: a checkpoint is data from disk
 * (or from whoever wrote the store), so every field the controller reads is
 * checked before the controller reads it. A defect is one `checkpoint_invalid`
 * naming every bad field by its path — never a TypeError from deep inside a
 * step, never a setting that silently reads as `undefined`.
 *
 * zod, not hand-written checks: the schema is also checked against the
 * TypeScript types below (`satisfies`-style assignments), so a field added to
 * RunState without its schema is a compile error rather than a hole.
 */
import { z } from 'zod';
import { ControllerError, type ControllerErrorCode } from '../errors.js';
import type { BudgetSettings, RetrySettings, RunSettings, RunState, SegmentRecord, ToolCallRecord, ToolResult } from '../types.js';
import type { UsageTotals } from '../usage.js';

/** Identifies a turnstate checkpoint file. */
export const CHECKPOINT_FORMAT = 'turnstate.checkpoint';
/**
 * 2: the file is an append-only journal (a snapshot line, then one delta line
 * per step). 1: the file was one JSON object holding the whole state; still
 * read (the state inside is the same shape), rewritten as 2 on the next write.
 */
export const CHECKPOINT_VERSION = 2;
export type CheckpointVersion = 1 | 2;

/**
 * A run's journal at one step: the complete {@link RunState}, numbered by
 * `seq`. The exactly-once promise rests on it, not on XState's persisted
 * snapshots, which re-run invoked promises on restore.
 */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: CheckpointVersion;
  /** 1, 2, 3 … one per durable write; a resume goes on from the loaded value. */
  seq: number;
  savedAt: string;
  state: RunState;
}

const count = z.number().int().nonnegative();
const time = z.number().finite();
const nullableString = z.string().nullable();

const usage = z.object({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
  server_tool_use: z.record(z.string(), count),
});

/** Content blocks are the API's business: a `type` is all the controller relies on. */
const block = z.looseObject({ type: z.string() });
const message = z.looseObject({
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(block)]),
});
const toolResult = z.object({ content: z.union([z.string(), z.array(block)]), is_error: z.boolean() });

const toolCall = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    input: z.unknown(),
    segment: count,
    status: z.enum(['pending', 'started', 'done']),
    result: toolResult.nullable(),
    attempts: count,
    startedAt: time.nullable(),
    durationMs: z.number().nonnegative().nullable(),
    invalidInput: z.string().optional(),
    approval: z
      .object({ decision: z.enum(['approved', 'denied', 'deferred']), message: z.string().optional(), source: z.enum(['hook', 'resume']), at: time })
      .optional(),
  })
  .superRefine((call, ctx) => {
    if (call.status === 'done' && call.result === null) ctx.addIssue({ code: 'custom', path: ['result'], message: `tool call ${call.id} is done without a result` });
    if (call.approval?.decision === 'deferred' && call.status !== 'pending') ctx.addIssue({ code: 'custom', path: ['approval'], message: `tool call ${call.id} is deferred but ${call.status}` });
  });

const requestKind = z.enum(['initial', 'tool_results', 'pause_turn', 'compaction', 'max_tokens_continue', 'max_tokens_raise']);

const segment = z.object({
  index: count,
  kind: requestKind,
  stopReason: nullableString,
  stopSequence: nullableString,
  usage,
  durationMs: z.number().nonnegative(),
  startedAt: time,
  requestId: nullableString,
  messageId: nullableString,
  model: nullableString,
  maxTokens: z.number().int().positive(),
  retries: count,
});

const retryRecord = z.object({
  segment: count,
  attempt: count,
  code: z.string(),
  apiErrorType: nullableString,
  message: z.string(),
  delayMs: z.number().nonnegative(),
  requestId: nullableString,
  at: time,
  usage: usage.nullable(),
});

const dropped = z.object({ segment: count, index: count, type: z.string(), reason: z.string(), partial: z.string(), block });

const errorCodes = [
  'budget_exceeded',
  'stuck_loop',
  'duplicate_tool_use_id',
  'unknown_stop_reason',
  'tool_needs_decision',
  'retries_exhausted',
  'request_failed',
  'stream_failed',
  'checkpoint_invalid',
  'checkpoint_failed',
  'aborted',
  'run_locked',
  'approval_failed',
] as const satisfies readonly ControllerErrorCode[];

const outcome = z.object({
  status: z.enum(['completed', 'stopped', 'refused', 'incomplete', 'budget_exceeded', 'failed', 'awaiting_approval']),
  stopReason: nullableString,
  stopSequence: nullableString,
  stopDetails: z.looseObject({}).nullable(),
  reason: nullableString,
  error: z.looseObject({ code: z.enum(errorCodes), message: z.string() }).nullable(),
});

const budgets = z.object({
  maxContinuations: count.nullable(),
  maxToolCalls: count.nullable(),
  maxTotalTokens: z.number().nonnegative().nullable(),
  deadlineAt: time.nullable(),
});

const retry = z.object({
  maxRetries: count,
  baseDelayMs: z.number().nonnegative().finite(),
  maxDelayMs: z.number().nonnegative().finite(),
  retryOnApiErrors: z.array(z.string()),
});

const settings = z.object({
  maxTokensPolicy: z.enum(['stop', 'continue', 'raise']),
  maxTokensCeiling: z.number().int().positive(),
  maxTokensRaiseFactor: z.number().gt(1).finite(),
  budgets,
  stuckLoopThreshold: count,
  toolConcurrency: z.number().int().positive(),
  toolTimeoutMs: z.number().nonnegative(),
  retry,
  requiresApproval: z.boolean().optional(),
});

/** Request params pass through to the API; what the controller itself reads is checked. */
const params = z.looseObject({
  model: z.string(),
  max_tokens: z.number().int().positive(),
  tools: z.array(z.looseObject({})).optional(),
});

const lastMessage = z.looseObject({
  content: z.array(block),
  stop_reason: nullableString.optional(),
  stop_sequence: nullableString.optional(),
});

const runState = z
  .object({
    runId: z.string().min(1),
    startedAt: time,
    params,
    maxTokens: z.number().int().positive(),
    messages: z.array(message),
    phase: z.enum(['requesting', 'running_tools', 'done']),
    nextRequest: requestKind,
    continuations: count,
    toolCallCount: count,
    usage,
    segments: z.array(segment),
    retries: z.array(retryRecord),
    toolCalls: z.array(toolCall),
    batch: z.array(z.string()),
    dropped: z.array(dropped),
    lastMessage: lastMessage.nullable(),
    outcome: outcome.nullable(),
    settings,
  })
  .superRefine((state, ctx) => {
    // The open batch is the tail of toolCalls, in order: batchCalls() and closeToolBatch() rely on it.
    const start = state.toolCalls.length - state.batch.length;
    state.batch.forEach((id, i) => {
      if (start < 0 || state.toolCalls[start + i]?.id !== id) {
        ctx.addIssue({ code: 'custom', path: ['batch', i], message: `names ${JSON.stringify(id)}, which is not the journaled tool call at that place` });
      }
    });
  });

const envelope = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.union([z.literal(1), z.literal(2)]),
  seq: count,
  savedAt: z.string(),
  state: runState,
});

// Compile-time: the schema's output is the controller's types (a field added to one but not the other fails here).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typeChecks: [
  Same<z.output<typeof usage>, UsageTotals>,
  Same<z.output<typeof budgets>, BudgetSettings>,
  Same<z.output<typeof retry>, RetrySettings>,
  Same<z.output<typeof settings>, RunSettings>,
  Same<z.output<typeof segment>, SegmentRecord>,
  Same<keyof z.output<typeof toolCall>, keyof ToolCallRecord>,
  Same<keyof z.output<typeof toolResult>, keyof ToolResult>,
  Same<keyof z.output<typeof runState>, keyof RunState>,
] = [true, true, true, true, true, true, true, true];
void typeChecks;

/** `state.messages[3].content` */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out === '' ? '(root)' : out;
}

/** The typed error for a checkpoint that is not one; `where` prefixes it (a file, a journal line). */
export function invalidCheckpoint(message: string, cause?: unknown): ControllerError {
  return new ControllerError('checkpoint_invalid', message, cause === undefined ? {} : { cause });
}

/**
 * Validates a checkpoint (JSON text or parsed value) and returns it typed. The
 * format and version are checked first, so a foreign or future file gets a
 * message saying so rather than a list of missing fields.
 */
export function parseCheckpoint(input: unknown, where = 'checkpoint'): Checkpoint {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw invalidCheckpoint(`${where} is not JSON: ${(error as Error).message}`, error);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidCheckpoint(`invalid ${where}: not an object`);
  const record = value as Record<string, unknown>;
  if (record['format'] !== CHECKPOINT_FORMAT) throw invalidCheckpoint(`invalid ${where}: format is ${JSON.stringify(record['format'])}, expected "${CHECKPOINT_FORMAT}"`);
  if (record['version'] !== 1 && record['version'] !== 2) {
    throw invalidCheckpoint(`invalid ${where}: version ${JSON.stringify(record['version'])} is not supported (this reader knows 1 and 2; a newer turnstate wrote it?)`);
  }
  const parsed = envelope.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const listed = issues.slice(0, 8).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    if (issues.length > 8) listed.push(`… and ${issues.length - 8} more`);
    throw invalidCheckpoint(`invalid ${where}: ${listed.join('; ')}`, parsed.error);
  }
  return parsed.data as unknown as Checkpoint;
}
