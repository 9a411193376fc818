/**
 * Issue 7 A3, the controller's side: a tool call whose streamed input is not
 * JSON (fine-grained tool streaming) is answered with an `is_error`
 * tool_result without running the tool; the assistant block goes back in
 * history with input `{"INVALID_JSON": raw}`; the journal records the call as
 * answered, so a resume neither runs it nor asks a decision for it. Real SDK
 * client, real loopback socket (the fake Messages API).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, sdkCreateStream, startResume, startRun, type RunnableTool } from '../../src/controller/index.js';
import { parseTurn } from '../../src/index.js';
import { eventsToSse, sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';

const recording = readFileSync(fileURLToPath(new URL('../../recordings/tool-use-eager-invalid-json.sse', import.meta.url)), 'utf8');
/** The recording's input_json_delta pieces joined by hand. */
const RAW = '{"filename": "poem.txt", "lines_of_text": ["The sea at dusk, a "silver" hush, the gulls gone home"]}';
const TOOL_ID = 'toolu_01MRxjvnq6pJLczAyd979amq';
const done = sseFromMessage({ content: [{ type: 'text', text: 'Written.' }], stopReason: 'end_turn' });

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function fakeApi(replies: string[]): Promise<{ api: FakeMessagesApi; client: Anthropic }> {
  api = await startFakeMessagesApi({ replies });
  return { api, client: new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 }) };
}

/** A tool that records every call it gets; the tests require it never to be called with the broken input. */
function makeFile(): { tool: RunnableTool; calls: unknown[] } {
  const calls: unknown[] = [];
  const tool = {
    name: 'make_file',
    description: 'Write text to a file',
    input_schema: { type: 'object', properties: { filename: { type: 'string' }, lines_of_text: { type: 'array' } } },
    eager_input_streaming: true,
    run: (input: unknown) => {
      calls.push(input);
      return 'written';
    },
  } as unknown as RunnableTool;
  return { tool, calls };
}

const params = { model: 'claude-sonnet-4-6', max_tokens: 4096 };

describe('a tool call whose streamed input is not JSON, through the controller', () => {
  it('is answered with an is_error tool_result (right tool_use_id) without running the tool; history carries {"INVALID_JSON": raw}', async () => {
    const { api, client } = await fakeApi([recording, done]);
    const { tool, calls } = makeFile();
    const result = await startRun({ params, messages: 'Write me a poem in poem.txt', tools: [tool], createStream: sdkCreateStream(client), checkpoint: false }).settled;

    expect(result.status).toBe('completed');
    expect(calls).toEqual([]);
    expect(api.requests).toHaveLength(2);
    const sent = api.requests[1]!.body as { messages: Array<{ role: string; content: unknown }> };
    expect(sent.messages).toHaveLength(3);
    expect(sent.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: "I'll write the poem to poem.txt." },
        { type: 'tool_use', id: TOOL_ID, name: 'make_file', input: { INVALID_JSON: RAW }, caller: { type: 'direct' } },
      ],
    });
    expect(sent.messages[2]).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: TOOL_ID, content: expect.stringMatching(/^Error: the input for tool 'make_file' was not valid JSON \(input JSON does not parse: .*\), so the tool was not run/), is_error: true }],
    });
    expect(result.toolCalls).toMatchObject([{ id: TOOL_ID, name: 'make_file', status: 'done', attempts: 0, invalidInput: RAW, result: { is_error: true } }]);
  });

  it('no tool_start event: nothing ran', async () => {
    const { client } = await fakeApi([recording, done]);
    const { tool } = makeFile();
    const starts: string[] = [];
    const result = await startRun({ params, messages: 'poem', tools: [tool], createStream: sdkCreateStream(client), checkpoint: false, on: { tool_start: (e) => starts.push(e.id) } }).settled;
    expect(result.status).toBe('completed');
    expect(starts).toEqual([]);
  });

  it('strict: the stream fails with invalid_tool_input, nothing runs and nothing more is requested', async () => {
    const { api, client } = await fakeApi([recording, done]);
    const { tool, calls } = makeFile();
    const result = await startRun({
      params,
      messages: 'poem',
      tools: [tool],
      createStream: sdkCreateStream(client),
      checkpoint: false,
      parse: (source, options) => parseTurn(source, { ...options, strict: true }),
    }).settled;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('stream_failed');
    expect((result.error?.cause as { code?: string } | undefined)?.code).toBe('invalid_tool_input');
    expect(calls).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it('max_tokens: the cut call is dropped as unclosed (the cause is max_tokens), no tool_result, no tool run', async () => {
    const cut = recording
      .replace(/event: content_block_stop\ndata: \{"type":"content_block_stop","index":1 *\}\n\n/, '')
      .replace('"stop_reason":"tool_use"', '"stop_reason":"max_tokens"');
    expect(cut).not.toBe(recording);
    const { api, client } = await fakeApi([cut]);
    const { tool, calls } = makeFile();
    const result = await startRun({ params, messages: 'poem', tools: [tool], createStream: sdkCreateStream(client), checkpoint: false }).settled;
    expect(result.status).toBe('incomplete');
    expect(result.stopReason).toBe('max_tokens');
    expect(result.dropped).toMatchObject([{ index: 1, type: 'tool_use', reason: 'unclosed', partial: RAW }]);
    expect(result.toolCalls).toEqual([]);
    expect(calls).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });
});

describe('resume after an interruption: the invalid call is journaled as answered', () => {
  const SLOW_ID = 'toolu_01SlowSlowSlowSlowSlowSl';
  const BAD_ID = 'toolu_01BadBadBadBadBadBadBadB';
  const start = { type: 'message_start', message: { id: 'msg_01x', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 9, output_tokens: 1 } } };
  const tool = (index: number, id: string, name: string, json: string) => [
    { type: 'content_block_start', index, content_block: { type: 'tool_use', id, name, input: {} } },
    { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json } },
    { type: 'content_block_stop', index },
  ];
  const twoCalls = eventsToSse([
    start,
    ...tool(0, SLOW_ID, 'deploy', '{"env": "prod"}'),
    ...tool(1, BAD_ID, 'make_file', '{"filename": "a.txt", "text": "say "hi""}'),
    { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 30 } },
    { type: 'message_stop' },
  ]);

  it('aborted while the valid call runs: resume asks a decision for that call only, and never runs the invalid one', async () => {
    const { api, client } = await fakeApi([twoCalls, done]);
    const { tool: fileTool, calls: fileCalls } = makeFile();
    const deployCalls: unknown[] = [];
    let deployStarted!: () => void;
    const started = new Promise<void>((resolve) => (deployStarted = resolve));
    // Not retrySafe: a call journaled started without a result needs a decision on resume.
    const deploy = {
      name: 'deploy',
      input_schema: { type: 'object' },
      run: (input: unknown, context: { signal: AbortSignal }) =>
        new Promise((_, reject) => {
          deployCalls.push(input);
          deployStarted();
          context.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        }),
    } as unknown as RunnableTool;
    const store = new MemoryCheckpointStore();
    const handle = startRun({ params, messages: 'deploy and write', tools: [deploy, fileTool], createStream: sdkCreateStream(client), checkpoint: store });
    await started;
    handle.abort();
    const first = await handle.settled;
    expect(first.status).toBe('failed');
    expect(first.error?.code).toBe('aborted');

    const checkpoint = await store.load(first.runId);
    expect(checkpoint?.state.toolCalls).toMatchObject([
      { id: SLOW_ID, status: 'started' },
      { id: BAD_ID, status: 'done', invalidInput: '{"filename": "a.txt", "text": "say "hi""}', result: { is_error: true } },
    ]);

    const asked = await startResume(checkpoint!, { tools: [deploy, fileTool], createStream: sdkCreateStream(client), checkpoint: store }).settled;
    expect(asked.status).toBe('failed');
    expect(asked.error?.code).toBe('tool_needs_decision');
    expect(asked.error?.toolUseId).toBe(SLOW_ID);

    const again = await store.load(first.runId);
    const resumed = await startResume(again!, {
      tools: [deploy, fileTool],
      createStream: sdkCreateStream(client),
      checkpoint: store,
      decisions: { [SLOW_ID]: { content: 'deployed', is_error: false } },
    }).settled;
    expect(resumed.status).toBe('completed');
    expect(deployCalls).toEqual([{ env: 'prod' }]);
    expect(fileCalls).toEqual([]);
    expect(api.requests).toHaveLength(2);
    const sent = api.requests[1]!.body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> };
    expect(sent.messages[1]!.content[1]).toEqual({ type: 'tool_use', id: BAD_ID, name: 'make_file', input: { INVALID_JSON: '{"filename": "a.txt", "text": "say "hi""}' } });
    expect(sent.messages[2]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: SLOW_ID, content: 'deployed' },
        { type: 'tool_result', tool_use_id: BAD_ID, content: expect.stringContaining('was not valid JSON'), is_error: true },
      ],
    });
  });
});
