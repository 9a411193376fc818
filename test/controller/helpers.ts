import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { MemoryCheckpointStore, startRun, type RunOptions, type RunnableTool, type RunResult } from '../../src/controller/index.js';
import { isControllerError } from '../../src/controller/errors.js';
import { scriptedModel, type MessageSpec, type ScriptedReply } from '../../src/testing/index.js';

export const text = (t: string, stopReason = 'end_turn', extra: Partial<MessageSpec> = {}): MessageSpec => ({ content: [{ type: 'text', text: t }], stopReason, ...extra });
export const toolUse = (calls: { id: string; name: string; input?: unknown }[], lead?: string): MessageSpec => ({
  content: [...(lead ? [{ type: 'text' as const, text: lead }] : []), ...calls.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: c.input ?? {} }))],
  stopReason: 'tool_use',
});

export const echoTool = (name = 'echo', extra: Partial<RunnableTool> = {}): RunnableTool => ({
  name,
  description: `echoes its input`,
  input_schema: { type: 'object' },
  run: (input: unknown) => `${name}:${JSON.stringify(input)}`,
  ...extra,
}) as RunnableTool;

export interface Scripted {
  result: RunResult;
  requests: ReturnType<typeof scriptedModel>['requests'];
  store: MemoryCheckpointStore;
}

/** Runs against a scripted model; resolves with the result whatever the status. */
export async function runScripted(script: ScriptedReply[], options: Partial<RunOptions> = {}): Promise<Scripted> {
  const model = scriptedModel(script);
  const store = new MemoryCheckpointStore();
  const handle = startRun({
    params: { model: 'claude-test', max_tokens: 100 },
    messages: 'hello',
    createStream: model.createStream,
    checkpoint: store,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
  const result = await handle.settled;
  return { result, requests: model.requests, store };
}

export async function expectRejects(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isControllerError(error)) return error;
    throw error;
  }
  throw new Error('expected a ControllerError');
}

export const lastUser = (messages: BetaMessageParam[]) => [...messages].reverse().find((m) => m.role === 'user')!;
