/**
 * The real Restate engine for tests and the bench: restate-server from
 * node_modules on loopback (ephemeral ports, a scratch data dir), worker
 * processes serving turnstate handlers, registration through the admin API,
 * calls through the ingress — every client call with a timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The server executable the npm package ships (its platform package's `bin/restate-server`), or null. */
export function restateServerBinary(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/package.json`);
    const bin = join(dirname(pkg), 'bin', 'restate-server');
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Polls `probe` until it returns a value (not undefined), or throws after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 25): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

export async function http(url: string, init: { method?: string; body?: unknown; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: response.status, body, text };
}

export interface RestateServer {
  readonly ingress: string;
  readonly admin: string;
  readonly process: ChildProcess;
  /** Registers (or re-registers, `force`) a worker deployment. */
  register(workerPort: number): Promise<void>;
  /** SQL over the server's introspection tables (`sys_invocation`, `sys_journal` …). */
  query(sql: string): Promise<any[]>;
  stop(): Promise<void>;
}

/** Starts restate-server with fast retries and one partition; resolves once admin and ingress are healthy. */
export async function startRestateServer(binary: string, extraEnv: Record<string, string> = {}): Promise<RestateServer> {
  const dir = await mkdtemp(join(tmpdir(), 'turnstate-restate-'));
  const [ingressPort, adminPort, nodePort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    RESTATE_BASE_DIR: dir,
    RESTATE_NODE_NAME: 'turnstate-test',
    RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingressPort}`,
    RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${adminPort}`,
    RESTATE_BIND_ADDRESS: `127.0.0.1:${nodePort}`,
    RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${nodePort}/`,
    RESTATE_LISTEN_MODE: 'tcp',
    RESTATE_DISABLE_TELEMETRY: 'true',
    RESTATE_DEFAULT_NUM_PARTITIONS: '1',
    RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL: '50ms',
    RESTATE_DEFAULT_RETRY_POLICY__MAX_INTERVAL: '200ms',
    // Fast retries would run out (and pause the invocation) within ~14 s: a worker restart on a loaded machine can take longer.
    RESTATE_DEFAULT_RETRY_POLICY__MAX_ATTEMPTS: '10000',
    RESTATE_LOG_FILTER: 'warn',
    ...extraEnv,
  };
  const child = spawn(binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ingress = `http://127.0.0.1:${ingressPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'restate-server to be healthy',
      async () => {
        if (child.exitCode !== null) throw new Error(`restate-server exited ${child.exitCode}: ${output}`);
        const [a, i] = await Promise.all([http(`${admin}/health`, { timeoutMs: 2_000 }), http(`${ingress}/restate/health`, { timeoutMs: 2_000 })]);
        return a.status === 200 && i.status === 200 ? true : undefined;
      },
      60_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ingress,
    admin,
    process: child,
    register: async (workerPort) => {
      const response = await http(`${admin}/deployments`, { body: { uri: `http://127.0.0.1:${workerPort}`, force: true }, timeoutMs: 30_000 });
      if (response.status >= 300) throw new Error(`registering the worker failed: ${response.status} ${response.text}`);
    },
    query: async (sql) => {
      const response = await http(`${admin}/query`, { body: { query: sql }, headers: { accept: 'application/json' }, timeoutMs: 10_000 });
      if (response.status >= 300) throw new Error(`query failed: ${response.status} ${response.text}`);
      return (response.body as { rows: any[] }).rows;
    },
    stop,
  };
}

export interface Worker {
  readonly process: ChildProcess;
  readonly port: number;
  /** What the worker printed (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGKILL, then wait until it is gone. */
  kill(): Promise<void>;
}

/** Starts `script` (TypeScript, through tsx) with PORT set; resolves when it prints `ready`. */
export async function startWorker(script: string, port: number, env: Record<string, string>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes('ready\n')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before it was ready: ${output}`)));
  });
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const timer = setTimeout(() => void kill(), 60_000);
  try {
    await ready;
  } catch (error) {
    await kill();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { process: child, port, output: () => output, kill };
}
