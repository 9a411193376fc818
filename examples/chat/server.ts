/**
 * The reference streaming chat backend on turnstate: `npx turnstate chat`.
 *
 * HTTP is node:http, on purpose: the whole surface is six routes, a JSON
 * body and one long-lived text/event-stream response per page, and SSE needs
 * nothing but `res.write` — with node:http every byte and every flush is in
 * plain view, there is no framework buffering or compression in the way of a
 * stream (the classic SSE bug), and the example adds no dependency to the
 * package.
 *
 * Routes (JSON unless said):
 *   GET  /                                  the page (page/index.html, page.js, style.css)
 *   GET  /api/info                          { mode, model, scenarios }
 *   POST /api/conversations                 → 201 { id }
 *   GET  /api/conversations/:id             → { id, turns, running }
 *   POST /api/conversations/:id/messages    { text } → 202 { turnId }
 *   POST /api/conversations/:id/stop        → 202 { turnId }
 *   GET  /api/conversations/:id/events      text/event-stream; `Last-Event-ID` (or ?lastEventId=) resumes
 */
import Anthropic from '@anthropic-ai/sdk';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeMessagesApi } from 'turnstate/testing';
import { ChatBackend } from './backend.js';
import { ChatError } from './errors.js';
import { SCENARIOS, startScriptedApi, type ScriptedPace } from './scripted.js';
import { saveNoteTool } from './tools.js';

export interface ChatServerOptions {
  /** Where conversations, run journals and notes go (created if missing). */
  readonly dataDir: string;
  /** Default 0: an ephemeral port. Always bound to 127.0.0.1. */
  readonly port?: number;
  /** The real API when set (ANTHROPIC_API_KEY); else the built-in fake. */
  readonly apiKey?: string | undefined;
  /** For the real-API mode: another base URL (ANTHROPIC_BASE_URL). */
  readonly baseURL?: string | undefined;
  readonly model?: string;
  readonly maxTokens?: number;
  /** Pace of the built-in fake model. */
  readonly pace?: ScriptedPace;
  readonly logLimit?: number;
  readonly fsync?: boolean;
  /**
   * How long an idle keep-alive connection stays open (default 65 000 ms).
   * Longer than clients keep idle connections (undici: 4 s), so a reused
   * connection is never closed under a request: with node's 5 s default, a
   * thousand sessions saw `fetch failed` on reused connections.
   */
  readonly keepAliveTimeoutMs?: number;
  readonly onWarning?: (message: string) => void;
}

export interface ChatServer {
  /** The page: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  readonly port: number;
  readonly mode: 'fake' | 'api';
  readonly backend: ChatBackend;
  close(): Promise<void>;
}

const BODY_LIMIT = 64 * 1024;
/** A page that reads slower than this much unsent data is cut off; it reconnects with Last-Event-ID. */
const SLOW_READER_BYTES = 1024 * 1024;
const KEEPALIVE_MS = 15_000;
const LISTEN_BACKLOG = 4096;

function pageDir(): string {
  // From source (examples/chat/) the page is beside; from the build (dist/examples/chat/) it is in the package's examples/.
  const beside = fileURLToPath(new URL('./page/', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../../examples/chat/page/', import.meta.url));
}

function loadPage(): Map<string, { type: string; body: Buffer }> {
  const dir = pageDir();
  const files = new Map<string, { type: string; body: Buffer }>();
  files.set('/', { type: 'text/html; charset=utf-8', body: readFileSync(join(dir, 'index.html')) });
  files.set('/page.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(dir, 'page.js')) });
  files.set('/style.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(dir, 'style.css')) });
  return files;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request) {
    size += (part as Buffer).length;
    if (size > BODY_LIMIT) throw new ChatError('too_large', `the request body is over ${BODY_LIMIT} bytes`);
    parts.push(part as Buffer);
  }
  const raw = Buffer.concat(parts).toString('utf8');
  if (raw.length === 0) return null;
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new ChatError('bad_request', `the body is not JSON: ${(error as Error).message}`);
  }
}

function textOf(body: unknown): string {
  const text = (body as { text?: unknown } | null)?.text;
  if (typeof text !== 'string' || text.trim().length === 0) throw new ChatError('bad_request', 'send { "text": "…" } with a non-empty string');
  if (text.length > 32_000) throw new ChatError('too_large', 'a message is at most 32,000 characters');
  return text;
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) }).end(body);
}

export async function startChatServer(options: ChatServerOptions): Promise<ChatServer> {
  let fake: FakeMessagesApi | null = null;
  let client: Anthropic;
  if (options.apiKey) {
    client = new Anthropic({ apiKey: options.apiKey, ...(options.baseURL ? { baseURL: options.baseURL } : {}) });
  } else {
    fake = await startScriptedApi(options.pace ?? {});
    client = new Anthropic({ apiKey: 'not-needed-for-the-fake', baseURL: fake.url, maxRetries: 0 });
  }
  const model = options.model ?? 'claude-sonnet-4-6';
  const backend = new ChatBackend({
    dataDir: options.dataDir,
    client,
    params: {
      model,
      max_tokens: options.maxTokens ?? 1024,
      system: 'You are the assistant of the turnstate chat demo. You can save notes for the person with the save_note tool, and search the web.',
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
    },
    tools: [saveNoteTool(join(options.dataDir, 'notes.jsonl'))],
    ...(options.logLimit === undefined ? {} : { logLimit: options.logLimit }),
    ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  const files = loadPage();
  const sockets = new Set<Socket>();
  const streams = new Set<ServerResponse>();
  let port = 0;
  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const events = (response: ServerResponse, request: IncomingMessage, id: string, url: URL): void => {
    const conversation = backend.get(id);
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // Reconnect fast: a restarted server is back within a second or two.
    response.write('retry: 500\n\n');
    const lastId = (request.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId');
    const missed = conversation.log.since(lastId);
    if (missed === null) response.write(conversation.log.snapshot(backend.turns(conversation)));
    else for (const f of missed) response.write(f);
    const subscriber = {
      write: (f: string) => {
        if (response.writableLength > SLOW_READER_BYTES) response.destroy();
        else response.write(f);
      },
    };
    conversation.log.subscribers.add(subscriber);
    streams.add(response);
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    response.on('close', () => {
      clearInterval(keepalive);
      conversation.log.subscribers.delete(subscriber);
      streams.delete(response);
    });
  };

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    // Loopback only, and only for pages of this server: another site (or a DNS-rebound name) gets nothing.
    if (!allowedHosts().has(request.headers.host ?? '')) throw new ChatError('forbidden', 'this server answers only to 127.0.0.1 / localhost on its own port');
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedHosts().has(origin.replace(/^http:\/\//, ''))) throw new ChatError('forbidden', `requests from ${origin} are refused`);
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
    const path = url.pathname;
    const method = request.method ?? 'GET';
    const file = method === 'GET' ? files.get(path) : undefined;
    if (file) {
      response
        .writeHead(200, {
          'content-type': file.type,
          'cache-control': 'no-cache',
          'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
        })
        .end(file.body);
      return;
    }
    if (method === 'GET' && path === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (method === 'GET' && path === '/api/info') return sendJson(response, 200, { mode: fake ? 'fake' : 'api', model, scenarios: SCENARIOS });
    if (method === 'POST' && path === '/api/conversations') return sendJson(response, 201, { id: await backend.create() });
    const match = /^\/api\/conversations\/([^/]+)(\/messages|\/stop|\/events)?$/.exec(path);
    if (match) {
      const id = decodeURIComponent(match[1]!);
      const action = match[2] ?? '';
      if (method === 'GET' && action === '') {
        const conversation = backend.get(id);
        return sendJson(response, 200, { id, turns: backend.turns(conversation), running: backend.running(conversation) });
      }
      if (method === 'GET' && action === '/events') return events(response, request, id, url);
      if (method === 'POST' && action === '/messages') {
        const text = textOf(await readJson(request));
        return sendJson(response, 202, { turnId: await backend.send(id, text) });
      }
      if (method === 'POST' && action === '/stop') return sendJson(response, 202, { turnId: backend.stop(id) });
    }
    throw new ChatError('not_found', `no route for ${method} ${path}`);
  };

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      const chat = error instanceof ChatError ? error : new ChatError('bad_request', (error as Error)?.message ?? String(error));
      if (!(error instanceof ChatError)) options.onWarning?.(`turnstate chat: ${request.method} ${request.url}: ${(error as Error)?.message ?? String(error)}`);
      if (response.headersSent) response.destroy();
      else sendJson(response, error instanceof ChatError ? chat.status : 500, chat.toJSON());
      // A body left unread (too large): close rather than read the rest.
      if (chat.code === 'too_large') request.destroy();
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A thousand pages connecting at once overflow node's default accept queue (511): the kernel drops the
    // SYNs it cannot queue and each client retries a second or more later. The kernel caps this at somaxconn.
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  // Resumed runs stream into the log from the start: the server listens first, so no page waits on them.
  await backend.open();
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    mode: fake ? 'fake' : 'api',
    backend,
    close: async () => {
      await backend.close();
      for (const s of streams) s.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await fake?.close();
    },
  };
}
