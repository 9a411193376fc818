/**
 * The two other processes of `npm run bench:chat`, each on its own so each
 * is measured on its own:
 *   node --import tsx bench/chat-child.ts fake DELAY_MS [CHUNK]  the paced fake Messages API (the scripted model's turns; CHUNK characters per text delta, default 6)
 *   node --import tsx bench/chat-child.ts server FAKE_URL DIR   the chat backend, talking to that fake as "the API"
 * Each prints one JSON line `{ "url": … }` once it listens, and runs until
 * killed; over the IPC channel each answers `stats` (CPU, event-loop delay).
 *
 * The fake is the bench's own loop around the scripted model's replies
 * (`scriptedReply`, the same bytes `turnstate chat` plays), for two reasons:
 * - The real API's pace does not depend on this machine: event i of a
 *   response goes out at (request received) + (i + 1) × DELAY on a fixed
 *   schedule, not DELAY after the previous write, so a busy machine does not
 *   slow the upstream down (and flatter whatever is downstream).
 * - It notes when each delta event was written to the socket, so a client can
 *   tell each event's latency from the source (its own receive time minus the
 *   send time, both in epoch ms from `performance.timeOrigin`), on both paths.
 */
import type { BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { scriptedReply } from '../examples/chat/scripted.js';
import { startChatServer } from '../examples/chat/server.js';

const epochNow = (): number => performance.timeOrigin + performance.now();

/** What a stats request answers: the event loop's delay since the last one, and this process's CPU. */
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'stats') return;
  const ms = (ns: number): number => ns / 1e6;
  process.send!({
    type: 'stats',
    eventLoopDelayMs: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max) },
    cpuUs: process.cpuUsage(),
    memory: process.memoryUsage(),
  });
  eld.reset();
});
// A disconnected parent (the bench ended or died) ends the child: no stray servers.
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

/** Per (session, segment): when the fake received the request, and when it wrote each delta event. */
interface Timing {
  received: number;
  deltas: number[];
  /** When the last event (message_stop) was written. */
  end: number;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function sessionOf(messages: BetaMessageParam[]): number {
  const first = messages[0];
  const text = typeof first?.content === 'string' ? first.content : (first?.content ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('');
  return Number(/bench session (\d+)/.exec(text)?.[1] ?? -1);
}

async function fake(delayMs: number, chunkSize: number): Promise<string> {
  const timings = new Map<string, Timing>();
  const server = createServer((request, response) => {
    void (async () => {
      const received = epochNow();
      const raw = await readBody(request);
      if (request.method === 'GET' && request.url === '/bench/timings') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(timings)));
        timings.clear();
        return;
      }
      const body = JSON.parse(raw) as { messages: BetaMessageParam[] };
      const key = `${sessionOf(body.messages)}:${body.messages.filter((m) => m.role === 'assistant').length}`;
      const timing: Timing = { received, deltas: [], end: 0 };
      timings.set(key, timing);
      const { chunks } = scriptedReply({ method: 'POST', path: '/v1/messages', headers: request.headers, body, raw, index: 0 }, { eventDelayMs: delayMs, chunkSize }) as { chunks: string[] };
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_bench_${key}` });
      response.flushHeaders();
      const start = performance.now();
      let i = 0;
      const next = (): void => {
        if (response.destroyed) return;
        const chunk = chunks[i] as string;
        response.write(chunk);
        const at = epochNow();
        if (chunk.startsWith('event: content_block_delta')) timing.deltas.push(at);
        i += 1;
        if (i === chunks.length) {
          timing.end = at;
          response.end();
          return;
        }
        setTimeout(next, Math.max(0, start + (i + 1) * delayMs - performance.now()));
      };
      setTimeout(next, delayMs);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(error) } }));
    });
  });
  // Longer than any client keeps an idle connection: no request races the server closing it.
  server.keepAliveTimeout = 65_000;
  // As the chat server: a burst of connections must not overflow the accept queue (node's default, 511).
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const [role, a, b, ...flags] = process.argv.slice(2);
let url: string;
if (role === 'fake') {
  url = await fake(Number(a ?? 50), Number(b ?? 6));
} else if (role === 'server') {
  // The API mode pointed at the fake: the same code path as with a key, the fake in its own process.
  const server = await startChatServer({
    dataDir: b!,
    apiKey: 'bench',
    baseURL: a!,
    ...(flags.includes('--no-fsync') ? { fsync: false } : {}),
    onWarning: (m) => process.stderr.write(`${m}\n`),
  });
  url = server.url;
} else {
  throw new Error(`chat-child: unknown role ${role}`);
}
process.stdout.write(`${JSON.stringify({ url })}\n`);
