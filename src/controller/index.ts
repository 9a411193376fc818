/**
 * The resumable continuation controller: follows a turn's stop reasons —
 * never its text — until the turn is truly over, with budgets, retries, a
 * journal that makes tool calls exactly-once across crashes, and typed events.
 */
export {
  startRun,
  runTurn,
  startResume,
  resume,
  initialRunState,
  resultFromState,
  systemClock,
  DEFAULTS,
  type Clock,
  type CommonRunOptions,
  type RunOptions,
  type ResumeOptions,
  type RunHandle,
} from './controller.js';
export { ControllerError, isControllerError, type ControllerErrorCode, type BudgetName, type ErrorToolCall, type ControllerErrorJSON } from './errors.js';
export type { Budgets } from './budget.js';
export type { ControllerEvent, ControllerEventType, ControllerEventOf, ControllerEventHandlers } from './events.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  FileCheckpointStore,
  MemoryCheckpointStore,
  nullCheckpointStore,
  parseCheckpoint,
  readCheckpointFile,
  type Checkpoint,
  type CheckpointStore,
  type FileCheckpointStoreOptions,
} from './journal.js';
export { toolRunner, TurnRunner, type RunnerParams } from './runner.js';
export { type ApproveToolCall, type ApprovalDecision, type ApprovalRequest, type ResumeApproval } from './approval.js';
export { sdkCreateStream, type SdkClient, type CreateStream, type ModelStream, type ParseTurn } from './model.js';
export { toolDefinition, invokeTool, type ToolDecision } from './tools.js';
export { emptyUsage, addUsage, sumUsage, normalizeUsage, totalTokens, type UsageTotals } from './usage.js';
export { appendAssistant, trimTrailingWhitespace, endsWithAssistant } from './history.js';
export { DEFAULT_RETRY, backoffDelay } from './retry.js';
export { segmentFailureJSON, segmentFailureFromJSON, type RunEffects, type ModelRequest, type Perform, type SegmentFailureJSON } from './effects.js';
export { SegmentFailure } from './retry.js';
export type { ReceivedSegment } from './steps.js';
export type {
  RunStatus,
  RunResult,
  RunState,
  RunPhase,
  RunSettings,
  RequestParams,
  StreamRequestParams,
  MaxTokensPolicy,
  RequestKind,
  BudgetSettings,
  RetrySettings,
  RunnableTool,
  ToolRunOutput,
  ToolResult,
  ToolCallRecord,
  ApprovalRecord,
  SegmentRecord,
  RetryRecord,
  DroppedRecord,
  Outcome,
} from './types.js';
export { continuationMachine, continuationStateName, type ContinuationMachine, type ContinuationContext } from '../../machines/continuation.machine.js';
