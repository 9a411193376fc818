/**
 * Live inspection on loopback: one HTTP port serving
 *
 * - `/`             turnstate's live trace page (the viewer of `replay --html`,
 *                   fed as the machine steps; works with no internet);
 * - `/trace/steps`  the steps as server-sent events (`step`, then `trace` when
 *                   the run or stream has settled), buffered for late clients;
 * - `/stately`      a bridge page embedding the hosted Stately inspector
 *                   (needs internet), fed from
 * - `/inspect`      a WebSocket feed of Stately-format inspection events
 *                   (converted by @statelyai/inspect's `createInspector`, with
 *                   an adapter that hands them straight to the connected
 *                   clients); what a client sends (another process's
 *                   `createWebSocketInspector`) is relayed to the others.
 *
 * The feed is not a WebSocket client of its own server: @statelyai/inspect's
 * WebSocket adapter retries a failed or refused connection every 5 s with a
 * timer nothing can cancel, which keeps a process alive after `close()`.
 *
 * What is sent is sanitised: machine contexts can hold whole transcripts, so
 * contexts and events are capped (`capValue`) before they leave the process.
 * Nothing here is loaded unless inspection is asked for.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InspectionEvent } from 'xstate';
import { WebSocketServer, WebSocket } from 'ws';
import { createInspector } from '@statelyai/inspect';
import { capValue, type CapLimits } from '../trace/cap.js';
import { sanitizeInspectionEvent } from './sanitize.js';
import { renderTraceHtml } from '../trace/html.js';
import type { Trace, TraceStep } from '../trace/types.js';

/** What a machine context or event may show the inspector: small enough for any transcript. */
export const INSPECT_CAP: CapLimits = { string: 300, items: 30, depth: 8, nodes: 2000 };

export interface InspectServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** The empty trace the live page starts from (its title and machines). */
  readonly trace: Trace;
  /** Messages kept for clients that connect late (default 10 000 steps, 2 000 inspector events). */
  readonly maxBuffered?: number;
}

export interface InspectServer {
  /** The live page. */
  readonly url: string;
  /** The bridge to the hosted Stately inspector. */
  readonly statelyUrl: string;
  /** The WebSocket relay (Stately inspection protocol). */
  readonly wsUrl: string;
  /** Pass as an actor's `inspect`: sanitised events to every Stately client. */
  readonly inspect: (event: InspectionEvent) => void;
  /** A step for the live page. */
  publishStep(step: TraceStep): void;
  /** The settled trace (verdict, message, segments …) for the live page. */
  publishTrace(trace: Trace): void;
  close(): Promise<void>;
}

function statelyBridge(wsUrl: string): string {
  // The hosted inspector runs in an iframe and takes events by postMessage; this page relays them from the socket.
  return `<!doctype html><html><head><meta charset="utf-8"><title>turnstate → Stately inspector</title>
<style>html,body,iframe{margin:0;width:100%;height:100%;border:0}</style></head><body>
<iframe id="inspector" src="https://stately.ai/inspect"></iframe>
<script>
const frame = document.getElementById('inspector'); const buffer = []; let connected = false;
window.addEventListener('message', (e) => { if (e.data && e.data.type === '@statelyai.connected') { connected = true; for (const m of buffer) frame.contentWindow.postMessage(m, '*'); buffer.length = 0; } });
const ws = new WebSocket(${JSON.stringify(wsUrl)});
ws.onmessage = (e) => { const m = JSON.parse(e.data); if (connected) frame.contentWindow.postMessage(m, '*'); else buffer.push(m); };
</script></body></html>`;
}

export async function startInspectServer(options: InspectServerOptions): Promise<InspectServer> {
  const maxSteps = options.maxBuffered ?? 10_000;
  const steps: string[] = [];
  let settled: string | null = null;
  const listeners = new Set<ServerResponse>();
  const relayed: string[] = [];
  const page = await renderTraceHtml(options.trace, { live: '/trace/steps' });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
    } else if (path === '/stately') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(statelyBridge(wsUrl));
    } else if (path === '/trace/steps') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      for (const step of steps) res.write(`event: step\ndata: ${step}\n\n`);
      if (settled !== null) res.write(`event: trace\ndata: ${settled}\n\n`);
      listeners.add(res);
      res.on('close', () => listeners.delete(res));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  const wss = new WebSocketServer({ server, path: '/inspect' });
  const relay = (message: string, from: WebSocket | null): void => {
    relayed.push(message);
    if (relayed.length > 2000) relayed.shift();
    for (const client of wss.clients) if (client !== from && client.readyState === WebSocket.OPEN) client.send(message);
  };
  wss.on('connection', (socket) => {
    for (const message of relayed) socket.send(message);
    socket.on('message', (data) => relay(data.toString(), socket));
    // A client that goes away mid-send must not take the process down.
    socket.on('error', () => socket.terminate());
  });
  wss.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  const wsUrl = `ws://127.0.0.1:${port}/inspect`;
  const inspector = createInspector(
    {
      send: (event) => {
        // Contexts are capped before conversion (sanitizeInspectionEvent), so this is small and acyclic.
        try {
          relay(JSON.stringify(event), null);
        } catch {
          /* an event that cannot be serialised is not sent */
        }
      },
    },
    {
      sanitizeContext: (context) => capValue(context, INSPECT_CAP) as typeof context,
      sanitizeEvent: (event) => capValue(event, INSPECT_CAP) as typeof event,
    },
  );
  const send = (event: string, data: string): void => {
    for (const res of listeners) res.write(`event: ${event}\ndata: ${data}\n\n`);
  };
  return {
    url,
    statelyUrl: `${url}stately`,
    wsUrl,
    inspect: (event) => {
      // An observer never breaks what it observes: the inspector works later (in an idle callback), so
      // anything it could trip on is checked and capped here, before it is handed over.
      const safe = sanitizeInspectionEvent(event, INSPECT_CAP);
      if (safe !== null) inspector.inspect.next?.(safe);
    },
    publishStep(step) {
      const data = JSON.stringify(step);
      steps.push(data);
      if (steps.length > maxSteps) steps.shift();
      send('step', data);
    },
    publishTrace(trace) {
      settled = JSON.stringify(trace);
      send('trace', settled);
    },
    async close() {
      for (const res of listeners) res.end();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
