/**
 * What the recording proxy (turnstate record) adds to a stream's latency
 * (issue 8): an upstream on loopback writes one SSE event, and the time until
 * the client reads it is measured — straight from the upstream, and through
 * the proxy — interleaved so both see the same machine load. Then the rest of
 * the body, so every request is also a whole recording written to disk.
 *
 * Options: --runs N (default 200).
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRecordingProxy } from '../src/testing/record-proxy.js';
import { sseFromMessage } from '../src/testing/sse.js';

const { values } = parseArgs({ options: { runs: { type: 'string' } } });
const runs = Math.max(20, Number(values.runs ?? 200));

const body = Buffer.from(sseFromMessage({ content: [{ type: 'text', text: 'latency '.repeat(40) }], stopReason: 'end_turn' }));
const firstEvent = body.indexOf('\n\n') + 2;

let sentAt = 0;
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_bench' });
    res.flushHeaders();
    // The headers first, then the first event on its own: what is timed is that event's trip.
    setTimeout(() => {
      sentAt = performance.now();
      res.write(body.subarray(0, firstEvent));
      setTimeout(() => res.end(body.subarray(firstEvent)), 1);
    }, 2);
  });
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
const dir = await mkdtemp(join(tmpdir(), 'turnstate-bench-cassettes-'));
const proxy = await startRecordingProxy({ upstream: upstreamUrl, dir });

/** One streamed request; resolves with ms from the upstream's write of the first event to the client's read of it. */
function once(base: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const req = request(`${base}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-bench' }, agent: false });
    req.on('response', (res: IncomingMessage) => {
      let latency: number | null = null;
      res.on('data', () => {
        latency ??= performance.now() - sentAt;
      });
      res.on('end', () => resolve(latency!));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const direct: number[] = [];
const proxied: number[] = [];
for (let i = 0; i < 10; i += 1) await once(upstreamUrl), await once(proxy.url);
for (let i = 0; i < runs; i += 1) {
  direct.push(await once(upstreamUrl));
  proxied.push(await once(proxy.url));
}
await proxy.close();
upstream.close();
await rm(dir, { recursive: true, force: true });

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const row = (name: string, xs: number[]) => `${name.padEnd(22)} median ${q(xs, 0.5).toFixed(3)} ms   p95 ${q(xs, 0.95).toFixed(3)} ms   max ${Math.max(...xs).toFixed(3)} ms`;
process.stdout.write(`first event, upstream write → client read (${runs} requests each, interleaved, ${body.length}-byte body)\n`);
process.stdout.write(`${row('direct', direct)}\n${row('through turnstate record', proxied)}\n`);
process.stdout.write(`added by the proxy: median ${(q(proxied, 0.5) - q(direct, 0.5)).toFixed(3)} ms\n`);
