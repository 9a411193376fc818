/**
 * A loopback recording proxy: point the SDK at it (`ANTHROPIC_BASE_URL`), it
 * forwards every request to the upstream and passes each response chunk on
 * the moment it arrives — written to the client first, then handed to the
 * recorder — and writes one recording per request once the response ends.
 *
 * node:http/https on both sides, not fetch: fetch would decode
 * content-encoding and hide the chunks; here the upstream is asked for
 * `identity` and its bytes go through untouched, with backpressure (the
 * upstream is paused while the client is slow).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from './listen.js';
import { request as httpsRequest } from 'node:https';
import { TestingError } from './errors.js';
import { Recorder, type RecorderOptions } from './record.js';

export const DEFAULT_UPSTREAM = 'https://api.anthropic.com';

export interface RecordingProxyOptions extends RecorderOptions {
  /** Where requests go (default the public API). A path prefix is kept. */
  readonly upstream?: string;
  readonly port?: number;
  /** Bind address (default 127.0.0.1: loopback only). */
  readonly host?: string;
}

export interface RecordingProxy {
  /** For ANTHROPIC_BASE_URL / the SDK's `baseURL`. */
  readonly url: string;
  readonly port: number;
  /** Resolves when every recording started so far is written. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Connection-level headers, which belong to one hop and are not forwarded (RFC 9110 §7.6.1). */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

function lowerHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function parseUpstream(upstream: string): URL {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch (error) {
    throw new TestingError('invalid_option', `upstream ${JSON.stringify(upstream)} is not a URL`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TestingError('invalid_option', `upstream ${upstream}: only http: and https: are supported`);
  return url;
}

/** Starts the proxy on a loopback port (ephemeral unless `port`). */
export async function startRecordingProxy(options: RecordingProxyOptions): Promise<RecordingProxy> {
  const upstream = parseUpstream(options.upstream ?? DEFAULT_UPSTREAM);
  const prefix = upstream.pathname.replace(/\/+$/, '');
  const recorder = new Recorder(options);
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = Buffer.concat(parts);
    const headers = lowerHeaders(req.headers);
    const path = req.url ?? '/';
    const session = recorder.begin({ method: req.method ?? 'GET', path: path.split('?')[0]!, headers, body: body.toString('utf8') });
    const forward: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (!HOP.has(k)) forward[k] = v;
    forward['accept-encoding'] = 'identity';
    forward['content-length'] = String(body.length);
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const out = send(new URL(`${prefix}${path}`, upstream.origin), { method: req.method ?? 'GET', headers: forward });
    let finished = false;
    res.on('close', () => {
      // The client went away: stop the upstream request too, and keep what arrived.
      if (!finished) out.destroy();
    });
    out.on('response', (up) => {
      const passed: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) passed[k] = v;
      session.response(up.statusCode ?? 502, up.headers);
      res.writeHead(up.statusCode ?? 502, up.statusMessage, passed);
      res.flushHeaders();
      up.on('data', (chunk: Buffer) => {
        // Forward first; the recorder only keeps a reference.
        if (!res.write(chunk)) {
          up.pause();
          res.once('drain', () => up.resume());
        }
        session.chunk(chunk);
      });
      up.on('end', () => {
        finished = true;
        res.end();
        track(session.end(null));
      });
      up.on('error', (error) => {
        if (finished) return;
        finished = true;
        // A cut upstream is a cut for the client too: never a clean end it would take as complete.
        res.destroy();
        track(session.end(`upstream connection broke: ${error.message}`));
      });
      up.on('aborted', () => {
        if (finished) return;
        finished = true;
        res.destroy();
        track(session.end('upstream connection broke mid-body'));
      });
    });
    out.on('error', (error) => {
      if (finished) return;
      finished = true;
      if (res.headersSent) {
        res.destroy();
        track(session.end(`upstream connection broke: ${error.message}`));
        return;
      }
      const message = `turnstate record: could not reach the upstream ${upstream.origin}: ${error.message}`;
      options.onError?.(new TestingError('upstream_failed', message, { cause: error }));
      res.writeHead(502, { 'content-type': 'application/json', 'x-should-retry': 'false' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message } }));
    });
    out.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `turnstate record failed: ${(error as Error).message}` } }));
    });
  });
  const listening = await listen(server, options);
  const flush = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  return {
    url: listening.url,
    port: listening.port,
    flush,
    close: async () => {
      await listening.close();
      await flush();
    },
  };
}
