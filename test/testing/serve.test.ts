/**
 * Replay: record from the fake API through the proxy, serve the directory
 * back, and require the real SDK client + turnstate (and the SDK's own
 * parser) to assemble what was recorded; lockdown refuses unknown requests,
 * naming the closest recording and what differs.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTurn } from '../../src/turn/parse.js';
import { runTurn, sdkCreateStream } from '../../src/controller/index.js';
import { add } from './cassette-support.js';
import { loadCassetteDir } from '../../src/testing/cassette.js';
import { startCassetteServer, type CassetteServer } from '../../src/testing/serve.js';
import { startRecordingProxy } from '../../src/testing/record-proxy.js';
import { errorAfterSse, startFakeMessagesApi } from '../../src/testing/index.js';
import { answer, expectNowhere, KEY, params, recordRun, tempDir, toolTurn } from './cassette-support.js';

let server: CassetteServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('turnstate serve', () => {
  let recorded: { dir: string; upstreamMessages: unknown[] };
  beforeAll(async () => {
    recorded = await recordRun();
  });

  it('replays a recorded run: the controller over the real SDK client gets the same transcript, byte-exact bodies', async () => {
    server = await startCassetteServer({ dir: recorded.dir, lockdown: true });
    const client = new Anthropic({ apiKey: 'replay-needs-no-key', baseURL: server.url, maxRetries: 0 });
    const result = await runTurn({ params: { model: 'claude-sonnet-4-6', max_tokens: 64 }, messages: 'What is 2 + 3?', tools: [add], createStream: sdkCreateStream(client), checkpoint: false });
    expect(result.status).toBe('completed');
    expect(result.messages).toEqual(recorded.upstreamMessages);
    expect(server.served.map((s) => [s.recording, s.exact])).toEqual([['0001-claude-sonnet-4-6-tool_use.sse', true], ['0002-claude-sonnet-4-6-end_turn.sse', true]]);
    expect(server.mismatches).toEqual([]);
    // The raw body, as the server sends it, is what the upstream sent.
    const [first] = await loadCassetteDir(recorded.dir);
    const raw = await (await fetch(`${server.url}/v1/messages`, { method: 'POST', body: JSON.stringify(first!.meta.request.params) })).text();
    expect(raw).toBe(toolTurn);
    // Recorded with a key shaped like a real one: no file of the cassette holds it.
    await expectNowhere(recorded.dir, KEY);
  });

  it('the SDK\'s own parser and turnstate assemble the same message from a replayed stream', async () => {
    server = await startCassetteServer({ dir: recorded.dir, lockdown: true });
    const client = new Anthropic({ apiKey: 'k', baseURL: server.url, maxRetries: 0 });
    const request = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'What is 2 + 3?' }], tools: [{ name: 'add', description: 'adds', input_schema: { type: 'object' as const } }] };
    const sdk = await client.beta.messages.stream(request).finalMessage();
    const ours = await parseTurn(await client.beta.messages.create({ ...request, stream: true }).asResponse());
    expect(ours.ok).toBe(true);
    expect(ours.message!.content).toEqual(sdk.content);
    expect(ours.ok && [ours.message.id, ours.message.stop_reason, ours.message.usage.output_tokens]).toEqual([sdk.id, sdk.stop_reason, sdk.usage.output_tokens]);
    expect(sdk.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
  });

  it('lockdown: a request with no recording is an HTTP 400 naming the closest recording and what differs', async () => {
    server = await startCassetteServer({ dir: recorded.dir, lockdown: true });
    const client = new Anthropic({ apiKey: 'k', baseURL: server.url, maxRetries: 0 });
    const error = await client.beta.messages.create({ ...params('What is 2 + 4?'), stream: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const message = (error as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { message: string } };
    const text = message.error.message;
    expect(text).toContain('lockdown');
    expect(text).toContain('closest is 0001-claude-sonnet-4-6-tool_use.sse');
    expect(text).toMatch(/messages\.0\.content\.0\.text: recorded "What is 2 \+ 3\?", requested "What is 2 \+ 4\?"/);
    expect(text).toMatch(/tools: recorded .*missing from the request/);
    expect(server.mismatches).toHaveLength(1);
    expect(server.served).toEqual([]);
  });

  it('matching normalises key order and string content; --ignore leaves fields out; without lockdown the closest answers, with a warning', async () => {
    const cassettes = await loadCassetteDir(recorded.dir);
    const first = cassettes[0]!.meta.request.params as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries({ ...first, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is 2 + 3?' }] }] }).reverse());
    server = await startCassetteServer({ cassettes, lockdown: true });
    const post = (body: unknown) => fetch(`${server!.url}/v1/messages`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post(reordered)).headers.get('x-turnstate-cassette')).toBe('0001-claude-sonnet-4-6-tool_use.sse');
    expect((await post({ ...first, temperature: 0.2, max_tokens: 5 })).status).toBe(200);
    expect((await post({ ...first, system: 'be brief' })).status).toBe(400);
    await server.close();
    server = await startCassetteServer({ cassettes, lockdown: true, ignore: ['system'] });
    expect((await post({ ...first, system: 'be brief' })).status).toBe(200);
    await server.close();
    const warnings: string[] = [];
    server = await startCassetteServer({ cassettes, onWarning: (w) => warnings.push(w) });
    const standIn = await post({ ...first, system: 'be brief' });
    expect(standIn.headers.get('x-turnstate-cassette')).toBe('0001-claude-sonnet-4-6-tool_use.sse');
    expect(warnings).toEqual([expect.stringMatching(/stand-in.*system: not in the recording/)]);
  });

  it('in order: the Nth request gets the Nth recording, and one past the end is refused', async () => {
    server = await startCassetteServer({ dir: recorded.dir, match: 'order' });
    const post = () => fetch(`${server!.url}/v1/messages`, { method: 'POST', body: '{}' });
    expect((await post()).headers.get('x-turnstate-cassette')).toBe('0001-claude-sonnet-4-6-tool_use.sse');
    expect(await (await post()).text()).toBe(answer);
    const past = await post();
    expect(past.status).toBe(400);
    expect(await past.text()).toContain('all 2 recordings were served');
  });

  it('--realtime keeps the recorded pace; the default sends at once', async () => {
    const [first] = await loadCassetteDir(recorded.dir);
    const span = first!.meta.timing.chunks.at(-1)![1] - first!.meta.timing.chunks[0]![1];
    expect(span).toBeGreaterThan(20);
    server = await startCassetteServer({ cassettes: [first!], realtime: true });
    const time = async () => {
      const t0 = performance.now();
      await (await fetch(`${server!.url}/v1/messages`, { method: 'POST', body: JSON.stringify(first!.meta.request.params) })).text();
      return performance.now() - t0;
    };
    expect(await time()).toBeGreaterThanOrEqual(span * 0.9);
    await server.close();
    server = await startCassetteServer({ cassettes: [first!], speed: 0.5 });
    expect(await time()).toBeGreaterThanOrEqual(span * 1.8);
  });

  it('replays what was recorded besides streams: a JSON reply, an HTTP 529, event: error mid-stream, an upstream cut — each as the client first saw it', async () => {
    const message = { id: 'msg_01J', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [{ type: 'text', text: 'plain' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } };
    const api = await startFakeMessagesApi({
      replies: [
        { json: message },
        { status: 529, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, headers: { 'retry-after': '3' } },
        errorAfterSse({ content: [{ type: 'text', text: 'partial answer' }], stopReason: 'end_turn' }, 4),
        { body: answer, dropAfterBytes: 150 },
      ],
    });
    const dir = await tempDir('serve-kinds');
    const proxy = await startRecordingProxy({ upstream: api.url, dir });
    const outcomes = async (baseURL: string) => {
      const client = new Anthropic({ apiKey: KEY, baseURL, maxRetries: 0 });
      const plain = await client.beta.messages.create(params('plain'));
      const busy = (await client.beta.messages.create({ ...params('busy'), stream: true }).then(() => null, (e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
      const failed = await parseTurn(await client.beta.messages.create({ ...params('fails'), stream: true }).asResponse());
      const cut = await parseTurn(await client.beta.messages.create({ ...params('cut'), stream: true }).asResponse());
      return {
        plain: plain.content,
        busy: [busy instanceof Anthropic.APIError, busy.status, busy.headers?.get('retry-after'), (busy.error as { error: { type: string } }).error.type],
        failed: [failed.error?.code, (failed.error as { apiErrorType?: string } | null)?.apiErrorType, failed.message?.content],
        cut: [cut.error?.code, cut.eventCount, cut.message?.content],
      };
    };
    const live = await outcomes(proxy.url);
    await proxy.close();
    await api.close();
    expect(live.plain).toEqual([{ type: 'text', text: 'plain' }]);
    expect(live.busy).toEqual([true, 529, '3', 'overloaded_error']);
    expect(live.failed.slice(0, 2)).toEqual(['api_error', 'overloaded_error']);
    expect(live.cut[0]).toBe('source_failed');
    server = await startCassetteServer({ dir, lockdown: true });
    expect(await outcomes(server.url)).toEqual(live);
    expect(server.mismatches).toEqual([]);
  });

  it('refuses to start with nothing to serve, or a bad speed', async () => {
    await expect(startCassetteServer({ dir: await tempDir('empty') })).rejects.toMatchObject({ code: 'no_cassette' });
    await expect(startCassetteServer({ dir: recorded.dir, speed: -1 })).rejects.toMatchObject({ code: 'invalid_option' });
  });
});
