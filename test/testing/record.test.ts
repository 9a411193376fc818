/**
 * Recording through the loopback proxy and through recordingFetch, with the
 * project's fake Messages API as the upstream and the real SDK client in
 * front: the files must hold exactly what the upstream sent, the proxy must
 * pass chunks on as they arrive, and the key must never be written.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTurn } from '../../src/turn/parse.js';
import { paramsHash } from '../../src/testing/cassette.js';
import { startRecordingProxy, type RecordingProxy } from '../../src/testing/record-proxy.js';
import { recordingFetch } from '../../src/testing/record-fetch.js';
import { errorAfterSse, sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { expectNowhere, filesIn, KEY, metas, params, tempDir } from './cassette-support.js';

let api: FakeMessagesApi | null = null;
let proxy: RecordingProxy | null = null;
afterEach(async () => {
  await proxy?.close();
  await api?.close();
  proxy = null;
  api = null;
});

const weather = sseFromMessage({
  content: [
    { type: 'text', text: 'Checking the weather in Zürich 🌦' },
    { type: 'tool_use', id: 'toolu_01Rec', name: 'get_weather', input: { city: 'Zürich' } },
  ],
  stopReason: 'tool_use',
});
const done = sseFromMessage({ content: [{ type: 'text', text: 'Wear a coat.' }], stopReason: 'end_turn' });

async function throughProxy(replies: Parameters<typeof startFakeMessagesApi>[0] = {}, redact: string[] = []) {
  api = await startFakeMessagesApi(replies);
  const dir = await tempDir('record');
  proxy = await startRecordingProxy({ upstream: api.url, dir, redact });
  const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
  return { dir, client };
}

describe('turnstate record: the loopback proxy', () => {
  it('writes each streamed response byte-exact, one file per request, named by sequence, model and stop reason', async () => {
    const { dir, client } = await throughProxy({ replies: [{ body: weather, chunkSize: 7, delayMs: 1 }, done] });
    const first = await parseTurn(await client.beta.messages.create({ ...params('Weather in Zürich?'), stream: true }).asResponse());
    const second = await parseTurn(await client.beta.messages.create({ ...params('And now?', { model: 'claude-haiku-4-5' }), stream: true }).asResponse());
    expect(first.ok && first.stopReason).toBe('tool_use');
    expect(second.ok && second.stopReason).toBe('end_turn');
    await proxy!.flush();
    const files = await filesIn(dir);
    expect([...files.keys()]).toEqual([
      '0001-claude-sonnet-4-6-tool_use.meta.json',
      '0001-claude-sonnet-4-6-tool_use.sse',
      '0002-claude-haiku-4-5-end_turn.meta.json',
      '0002-claude-haiku-4-5-end_turn.sse',
    ]);
    // Byte equality with what the upstream sent (the fake's script, as UTF-8).
    expect(files.get('0001-claude-sonnet-4-6-tool_use.sse')!.equals(Buffer.from(weather, 'utf8'))).toBe(true);
    expect(files.get('0002-claude-haiku-4-5-end_turn.sse')!.equals(Buffer.from(done, 'utf8'))).toBe(true);
    const [meta] = await metas(dir);
    expect(meta).toMatchObject({
      format: 'turnstate.cassette',
      version: 1,
      sequence: 1,
      request: { method: 'POST', path: '/v1/messages', model: 'claude-sonnet-4-6', stream: true, params: { messages: [{ role: 'user', content: 'Weather in Zürich?' }] } },
      response: { status: 200, requestId: 'req_fake_0001', stopReason: 'tool_use', errorType: null, cut: false, bytes: Buffer.byteLength(weather) },
    });
    expect(meta!.response.headers['content-type']).toMatch(/text\/event-stream/);
    // The hash is of what the upstream received, and key order does not matter.
    expect(meta!.request.paramsHash).toBe(paramsHash(api!.requests[0]!.body));
    expect(meta!.request.paramsHash).toBe(paramsHash(Object.fromEntries(Object.entries(api!.requests[0]!.body as object).reverse())));
    expect(meta!.request.paramsHash).not.toBe(paramsHash(api!.requests[1]!.body));
    // A time for every chunk (7-byte pieces) and for every event, in order.
    expect(meta!.timing.chunks.length).toBeGreaterThan(Buffer.byteLength(weather) / 7 / 4);
    expect(meta!.timing.chunks[0]![0]).toBe(0);
    expect(meta!.timing.events.map(([type]) => type)).toEqual(weather.match(/^event: (\w+)$/gm)!.map((l) => l.slice(7)));
    const times = meta!.timing.events.map(([, ms]) => ms);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(meta!.timing.firstByteMs).toBeGreaterThanOrEqual(meta!.timing.headersMs);
  });

  it('never writes the key, authorization or x-api-key; --redact scrubs bodies, params and names', async () => {
    const echo = sseFromMessage({ content: [{ type: 'text', text: `Your key is ${KEY} and your mail ada@example.com` }], stopReason: 'end_turn' });
    const { dir, client } = await throughProxy({ replies: [echo, { status: 401, json: { type: 'error', error: { type: 'authentication_error', message: `bad key ${KEY}` } } }] }, ['[a-z]+@example\\.com']);
    const bearer = new Anthropic({ authToken: `${KEY}-bearer`, baseURL: proxy!.url, maxRetries: 0 });
    const turn = await parseTurn(await client.beta.messages.create({ ...params(`my key: ${KEY}, mail ada@example.com`), stream: true }).asResponse());
    // The client still gets the real bytes: redaction is for the files only.
    expect(turn.ok && turn.message.content[0]).toMatchObject({ text: expect.stringContaining(KEY) });
    await expect(bearer.beta.messages.create(params('hi'))).rejects.toMatchObject({ status: 401 });
    await proxy!.flush();
    expect(api!.requests[1]!.headers['authorization']).toBe(`Bearer ${KEY}-bearer`);
    const written = await expectNowhere(dir, KEY.slice(0, 30));
    expect(written).toBe(4);
    await expectNowhere(dir, 'ada@example.com');
    // A key the model echoes is split across text deltas; only whole matches in the bytes can be scrubbed (README says so).
    const all = [...(await filesIn(dir)).values()].map((b) => b.toString('utf8')).join('\n');
    expect(all).not.toMatch(/x-api-key|authorization/i);
    expect(all).toContain('[REDACTED]');
    const [streamed, denied] = await metas(dir);
    // the key and the address in the params; in the body both were split across deltas
    expect(streamed!.redactions).toBe(2);
    expect(denied).toMatchObject({ response: { status: 401, errorType: 'authentication_error' } });
  });

  it('records non-streaming replies, HTTP errors, event: error mid-stream and a connection the upstream cut', async () => {
    const message = { id: 'msg_01X', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } };
    const overloaded = errorAfterSse({ content: [{ type: 'text', text: 'partial answer' }], stopReason: 'end_turn' }, 4);
    const { dir, client } = await throughProxy({
      replies: [
        { json: message },
        { status: 529, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, headers: { 'retry-after': '3' } },
        overloaded,
        { body: done, dropAfterBytes: 120 },
      ],
    });
    expect((await client.beta.messages.create(params('plain'))).content).toEqual([{ type: 'text', text: 'hi' }]);
    await expect(client.beta.messages.create({ ...params('busy'), stream: true })).rejects.toMatchObject({ status: 529 });
    const failed = await parseTurn(await client.beta.messages.create({ ...params('fails'), stream: true }).asResponse());
    expect(failed.error).toMatchObject({ code: 'api_error', apiErrorType: 'overloaded_error' });
    const cut = await parseTurn(await client.beta.messages.create({ ...params('cut'), stream: true }).asResponse());
    // The cut reaches the client as a cut, not as a clean (short) end.
    expect(cut.error?.code).toBe('source_failed');
    await proxy!.flush();
    const files = [...(await filesIn(dir)).keys()];
    expect(files).toEqual([
      '0001-claude-sonnet-4-6-end_turn.meta.json',
      '0001-claude-sonnet-4-6-end_turn.response.json',
      '0002-claude-sonnet-4-6-http-529.meta.json',
      '0002-claude-sonnet-4-6-http-529.response.json',
      '0003-claude-sonnet-4-6-error-overloaded_error.meta.json',
      '0003-claude-sonnet-4-6-error-overloaded_error.sse',
      '0004-claude-sonnet-4-6-cut.meta.json',
      '0004-claude-sonnet-4-6-cut.sse',
    ]);
    const all = await metas(dir);
    expect(all[1]!.response).toMatchObject({ status: 529, errorType: 'overloaded_error', headers: { 'retry-after': '3' } });
    expect(all[2]!.response).toMatchObject({ status: 200, errorType: 'overloaded_error', stopReason: null, cut: false });
    expect(all[3]!.response).toMatchObject({ cut: true, bytes: 120 });
    const files2 = await filesIn(dir);
    expect(files2.get('0004-claude-sonnet-4-6-cut.sse')!.equals(Buffer.from(done, 'utf8').subarray(0, 120))).toBe(true);
    expect(files2.get('0003-claude-sonnet-4-6-error-overloaded_error.sse')!.toString('utf8')).toBe(overloaded);
  });

  it('passes each chunk on as it arrives: the upstream holds chunk 2 until the client has chunk 1', async () => {
    const pieces = [Buffer.from(done.slice(0, 40)), Buffer.from(done.slice(40, 300)), Buffer.from(done.slice(300))];
    let release: () => void = () => {};
    const sentAt: number[] = [];
    const upstream: Server = createServer((req, res: ServerResponse) => {
      req.resume();
      req.on('end', async () => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_latency' });
        for (const [i, piece] of pieces.entries()) {
          sentAt.push(performance.now());
          res.write(piece);
          // Only after the client saw this piece: a proxy that buffered would deadlock here.
          if (i < pieces.length - 1) await new Promise<void>((resolve) => (release = resolve));
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const dir = await tempDir('latency');
    proxy = await startRecordingProxy({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, dir });
    const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
    const response = await client.beta.messages.create({ ...params('latency'), stream: true }).asResponse();
    const latencies: number[] = [];
    const received: Buffer[] = [];
    let got = 0;
    let piece = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received.push(Buffer.from(chunk));
      got += chunk.length;
      while (piece < pieces.length && got >= pieces.slice(0, piece + 1).reduce((n, p) => n + p.length, 0)) {
        latencies.push(performance.now() - sentAt[piece]!);
        piece += 1;
        release();
      }
    }
    upstream.close();
    expect(Buffer.concat(received).toString('utf8')).toBe(done);
    expect(latencies).toHaveLength(3);
    process.stdout.write(`record proxy: upstream write → client read, per chunk: ${latencies.map((ms) => `${ms.toFixed(2)} ms`).join(', ')}\n`);
    await proxy.flush();
    const [meta] = await metas(dir);
    expect(meta!.timing.chunks.map(([offset]) => offset)).toEqual([0, 40, 300].map((n) => Buffer.byteLength(done.slice(0, n))));
  });
});

describe('recordingFetch', () => {
  it('records through the SDK client\'s fetch option, byte-exact, and the client reads the same stream', async () => {
    api = await startFakeMessagesApi({ replies: [{ body: weather, chunkSize: 5 }, { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } } }] });
    const dir = await tempDir('fetch');
    const fetch = recordingFetch({ dir });
    const client = new Anthropic({ apiKey: KEY, baseURL: api.url, maxRetries: 0, fetch });
    const turn = await parseTurn(await client.beta.messages.create({ ...params('via fetch'), stream: true }).asResponse());
    expect(turn.ok && turn.message.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    await expect(client.beta.messages.create(params('bad'))).rejects.toMatchObject({ status: 400 });
    await fetch.flush();
    const files = await filesIn(dir);
    expect(files.get('0001-claude-sonnet-4-6-tool_use.sse')!.equals(Buffer.from(weather))).toBe(true);
    expect(files.has('0002-claude-sonnet-4-6-http-400.response.json')).toBe(true);
    await expectNowhere(dir, KEY);
    const [meta] = await metas(dir);
    expect(meta!.request.headers).toMatchObject({ 'anthropic-version': expect.any(String) });
    expect(Object.keys(meta!.request.headers).sort()).toEqual(['anthropic-version', 'content-type']);
  });

  it('continues the numbering of a directory that already has recordings', async () => {
    api = await startFakeMessagesApi({ replies: [done, done] });
    const dir = await tempDir('fetch-append');
    for (let run = 0; run < 2; run += 1) {
      const fetch = recordingFetch({ dir });
      const client = new Anthropic({ apiKey: KEY, baseURL: api.url, maxRetries: 0, fetch });
      await (await client.beta.messages.create({ ...params('again'), stream: true }).asResponse()).text();
      await fetch.flush();
    }
    expect([...(await filesIn(dir)).keys()].filter((n) => n.endsWith('.sse'))).toEqual(['0001-claude-sonnet-4-6-end_turn.sse', '0002-claude-sonnet-4-6-end_turn.sse']);
  });

  it('gives requests made at the same time numbers of their own', async () => {
    api = await startFakeMessagesApi({ replies: [done, done, done, done] });
    const dir = join(await tempDir('fetch-parallel'), 'not-yet-there');
    const fetch = recordingFetch({ dir });
    const client = new Anthropic({ apiKey: KEY, baseURL: api.url, maxRetries: 0, fetch });
    await Promise.all([1, 2, 3, 4].map(async (n) => (await client.beta.messages.create({ ...params(`n${n}`), stream: true }).asResponse()).text()));
    await fetch.flush();
    expect((await metas(dir)).map((m) => m.sequence).sort()).toEqual([1, 2, 3, 4]);
  });
});
