/**
 * Replay: a fake Messages API on loopback that answers each request with its
 * recording — the recorded bytes in the recorded chunks, at the recorded pace
 * when asked, broken on purpose when a chaos rule says so. Never a live call:
 * a request with no recording is answered from the closest one (with a
 * warning), or, under `lockdown`, with an HTTP 400 naming the closest
 * recording and what differs — also kept in `mismatches`, so a test can fail
 * even when the code under test swallowed the error.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from './listen.js';
import { loadCassetteDir, type Cassette } from './cassette.js';
import { planResponse, ruleFor, statusBody, validateChaos, type ChaosRule } from './chaos.js';
import { TestingError } from './errors.js';
import { Matcher, type MatchOptions } from './serve-match.js';

export interface CassetteServerOptions extends MatchOptions {
  /** The cassette directory (or pass `cassettes`). */
  readonly dir?: string;
  readonly cassettes?: readonly Cassette[];
  /** No match is an HTTP 400 naming the closest recording, never a stand-in. */
  readonly lockdown?: boolean;
  /** At the recorded pace (`speed: 1`). */
  readonly realtime?: boolean;
  /** The recorded pace × X (2: twice as fast); default: as fast as possible, in the recorded chunks. */
  readonly speed?: number;
  readonly chaos?: ChaosRule | readonly ChaosRule[];
  readonly port?: number;
  readonly host?: string;
  /** Told when a request is answered by a stand-in (no lockdown). */
  readonly onWarning?: (message: string) => void;
}

export interface ServedResponse {
  /** 1-based, in answering order (what chaos rules count). */
  readonly response: number;
  readonly recording: string | null;
  readonly exact: boolean;
  readonly chaos: ChaosRule | null;
}

export interface CassetteServer {
  readonly url: string;
  readonly port: number;
  readonly cassettes: readonly Cassette[];
  readonly served: ServedResponse[];
  /** Lockdown refusals, each naming the closest recording and what differs. */
  readonly mismatches: string[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function refuse(res: ServerResponse, status: number, type: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/json', 'x-should-retry': 'false', 'request-id': 'req_turnstate_serve' });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_turnstate_serve' }));
}

export async function startCassetteServer(options: CassetteServerOptions): Promise<CassetteServer> {
  if (options.speed !== undefined && !(typeof options.speed === 'number' && Number.isFinite(options.speed) && options.speed > 0)) throw new TestingError('invalid_option', `speed must be a number > 0, got ${JSON.stringify(options.speed)}`);
  const speed = options.realtime ? 1 : options.speed ?? 0;
  const rules: readonly ChaosRule[] = options.chaos === undefined ? [] : Array.isArray(options.chaos) ? options.chaos : [options.chaos as ChaosRule];
  validateChaos(rules);
  const cassettes = options.cassettes ?? (options.dir === undefined ? [] : await loadCassetteDir(options.dir));
  if (cassettes.length === 0) throw new TestingError('no_cassette', `no recordings to serve${options.dir === undefined ? '' : ` in ${options.dir}`} (record some with turnstate record or useCassette)`);
  const matcher = new Matcher(cassettes, options);
  const served: ServedResponse[] = [];
  const mismatches: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const path = (req.url ?? '/').split('?')[0]!;
    let params: unknown = null;
    try {
      params = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      // matched as null params
    }
    const pick = matcher.pick(path, params);
    if (!pick.exact && (options.lockdown || pick.cassette === null)) {
      const message = `turnstate serve${options.lockdown ? ' (lockdown)' : ''}: ${pick.why}`;
      mismatches.push(message);
      refuse(res, 400, 'invalid_request_error', message);
      return;
    }
    const cassette = pick.cassette!;
    if (!pick.exact) options.onWarning?.(`turnstate serve: answering with a stand-in: ${pick.why}`);
    const response = served.length + 1;
    const rule = ruleFor(rules, response);
    served.push({ response, recording: cassette.meta.response.body, exact: pick.exact, chaos: rule });
    const headers: Record<string, string> = { ...cassette.meta.response.headers, 'x-turnstate-cassette': cassette.meta.response.body };
    if (rule?.status !== undefined) {
      const extra: Record<string, string> = rule.retryAfter === undefined ? {} : { 'retry-after': String(rule.retryAfter) };
      res.writeHead(rule.status, { 'content-type': 'application/json', 'request-id': headers['request-id'] ?? 'req_turnstate_chaos', ...extra });
      res.end(statusBody(rule.status));
      return;
    }
    let plan;
    try {
      plan = planResponse(cassette, rule, speed);
    } catch (error) {
      refuse(res, 500, 'api_error', `turnstate serve: ${(error as Error).message}`);
      return;
    }
    if (speed > 0 && cassette.meta.timing.headersMs > 0) await sleep(cassette.meta.timing.headersMs / speed);
    res.writeHead(cassette.meta.response.status, headers);
    res.flushHeaders();
    const start = performance.now();
    for (const piece of plan.pieces) {
      const wait = start + piece.at - performance.now();
      if (wait > 0) await sleep(wait);
      if (res.destroyed) return;
      await new Promise<void>((resolve) => res.write(piece.bytes, () => resolve()));
    }
    if (plan.finish === 'destroy') {
      // The bytes are out (the write callbacks fired); now drop the connection mid-body.
      res.socket?.destroy();
      return;
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) refuse(res, 500, 'api_error', `turnstate serve failed: ${(error as Error).message}`);
      else res.destroy();
    });
  });
  const listening = await listen(server, options);
  return {
    url: listening.url,
    port: listening.port,
    cassettes,
    served,
    mismatches,
    close: listening.close,
  };
}
