/**
 * A fake Anthropic Messages API on loopback, for tests — turnstate's own and
 * its users'. Each `POST /v1/messages` is answered with the next scripted
 * reply (SSE bytes, optionally chunked and delayed, or an HTTP error), and
 * every request body is kept, so a test can drive the real SDK client over a
 * real socket and then check exactly what was sent.
 *
 * ```ts
 * const api = await startFakeMessagesApi({ replies: [sseFromMessage({ content: [{ type: 'text', text: 'Hi' }], stopReason: 'end_turn' })] });
 * const client = new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
 * // … run the code under test …
 * expect(api.requests[0]!.body.messages).toEqual([...]);
 * await api.close();
 * ```
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from './listen.js';

/** One scripted answer. A string or bytes is a 200 SSE body sent at once. */
export type FakeReply =
  | string
  | Uint8Array
  | {
      /** SSE body (200, text/event-stream) unless `status`/`json` say otherwise. */
      readonly body?: string | Uint8Array;
      /** Send the body in these pieces instead (bytes can split anywhere, even inside a UTF-8 character). */
      readonly chunks?: readonly (string | Uint8Array)[];
      /** Split `body` into pieces of this many bytes. */
      readonly chunkSize?: number;
      /** Pause before each piece (ms). */
      readonly delayMs?: number;
      /** HTTP status (e.g. 529, 500, 400); with `json` as the error body. */
      readonly status?: number;
      readonly json?: unknown;
      readonly headers?: Readonly<Record<string, string>>;
      /** After sending this many bytes of the body, destroy the socket: a dropped connection. */
      readonly dropAfterBytes?: number;
      /** Send the headers and the body so far, then never finish (until the client aborts or the server closes). */
      readonly hang?: boolean;
      /** Send this many bytes of the body, then nothing more, keeping the connection open: a stalled stream. */
      readonly stallAfterBytes?: number;
    };

/** A request the fake received. */
export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** The parsed JSON body (`null` when it was not JSON). */
  readonly body: any;
  readonly raw: string;
  /** 0-based index among POST /v1/messages requests. */
  readonly index: number;
}

export type FakeScript = readonly FakeReply[] | ((request: FakeRequest) => FakeReply | Promise<FakeReply>);

export interface FakeMessagesApiOptions {
  readonly replies?: FakeScript;
  /** Host to bind (default 127.0.0.1: loopback only). */
  readonly host?: string;
  readonly port?: number;
}

export interface FakeMessagesApi {
  /** Base URL for the SDK's `baseURL` / ANTHROPIC_BASE_URL (`http://127.0.0.1:PORT`). */
  readonly url: string;
  readonly port: number;
  /** Every POST /v1/messages, in arrival order. */
  readonly requests: FakeRequest[];
  /** Adds replies to the queue (only when the script is a list). */
  enqueue(...replies: FakeReply[]): void;
  /** How many queued replies are left. */
  remaining(): number;
  /** Streaming responses still open (a client that gave up on a stalled stream closes its one). */
  openResponses(): number;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const bytesOf = (value: string | Uint8Array): Uint8Array => (typeof value === 'string' ? encoder.encode(value) : value);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function readBody(request: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function errorJson(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: `req_fake_error` });
}

/** Starts the fake on an ephemeral loopback port. */
export async function startFakeMessagesApi(options: FakeMessagesApiOptions = {}): Promise<FakeMessagesApi> {
  const script = options.replies ?? [];
  const queue: FakeReply[] = Array.isArray(script) ? [...(script as readonly FakeReply[])] : [];
  const scriptFn = typeof script === 'function' ? script : null;
  const requests: FakeRequest[] = [];
  const responses = new Set<ServerResponse>();

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const raw = await readBody(request);
    const path = (request.url ?? '/').split('?')[0]!;
    if (request.method !== 'POST' || path !== '/v1/messages') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(errorJson('not_found_error', `fake API: no route for ${request.method} ${path}`));
      return;
    }
    let body: unknown = null;
    try {
      body = JSON.parse(raw);
    } catch {
      // kept as raw
    }
    const entry: FakeRequest = { method: request.method, path, headers: request.headers, body, raw, index: requests.length };
    requests.push(entry);
    const reply = scriptFn ? await scriptFn(entry) : queue.shift();
    const requestId = `req_fake_${String(entry.index + 1).padStart(4, '0')}`;
    if (reply === undefined) {
      response
        .writeHead(500, { 'content-type': 'application/json', 'request-id': requestId })
        .end(errorJson('api_error', `fake API: no scripted reply left for request ${entry.index + 1}`));
      return;
    }
    const spec = typeof reply === 'string' || reply instanceof Uint8Array ? { body: reply } : reply;
    if (spec.status !== undefined && spec.status !== 200) {
      response.writeHead(spec.status, { 'content-type': 'application/json', 'request-id': requestId, ...spec.headers });
      response.end(spec.json === undefined ? errorJson('api_error', `fake API: status ${spec.status}`) : JSON.stringify(spec.json));
      return;
    }
    if (spec.json !== undefined) {
      response.writeHead(200, { 'content-type': 'application/json', 'request-id': requestId, ...spec.headers }).end(JSON.stringify(spec.json));
      return;
    }
    responses.add(response);
    response.on('close', () => responses.delete(response));
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': requestId, ...spec.headers });
    response.flushHeaders();
    let pieces: Uint8Array[];
    if (spec.chunks) pieces = spec.chunks.map(bytesOf);
    else {
      const all = bytesOf(spec.body ?? '');
      const size = spec.chunkSize ?? all.length;
      pieces = [];
      for (let i = 0; i < all.length; i += Math.max(1, size)) pieces.push(all.subarray(i, i + Math.max(1, size)));
    }
    let sent = 0;
    for (const piece of pieces) {
      if (spec.delayMs) await sleep(spec.delayMs);
      if (response.destroyed) return;
      if (spec.stallAfterBytes !== undefined && sent + piece.length >= spec.stallAfterBytes) {
        const part = piece.subarray(0, spec.stallAfterBytes - sent);
        if (part.length > 0) response.write(part);
        return;
      }
      if (spec.dropAfterBytes !== undefined && sent + piece.length >= spec.dropAfterBytes) {
        const part = piece.subarray(0, spec.dropAfterBytes - sent);
        if (part.length > 0) await new Promise<void>((resolve) => response.write(part, () => resolve()));
        // Give the bytes a moment to leave, then cut the connection mid-body.
        await sleep(5);
        response.socket?.destroy();
        return;
      }
      response.write(piece);
      sent += piece.length;
    }
    if (spec.hang) return;
    response.end();
  };

  const server: Server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end(errorJson('api_error', `fake API failed: ${(error as Error).message}`));
    });
  });
  const listening = await listen(server, options);

  return {
    url: listening.url,
    port: listening.port,
    requests,
    enqueue: (...replies) => {
      if (scriptFn) throw new Error('fake API: enqueue() needs a list script, not a function');
      queue.push(...replies);
    },
    remaining: () => queue.length,
    openResponses: () => responses.size,
    close: async () => {
      for (const response of responses) response.destroy();
      await listening.close();
    },
  };
}
