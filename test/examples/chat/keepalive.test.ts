import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChatServer, type ChatServer } from '../../../examples/chat/server.js';
import { repoRoot } from '../../support/corpus.js';

const children: ChildProcess[] = [];
const servers: ChatServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) await s.close();
});

/** One keep-alive GET on a raw socket: the response head, and the socket left open as a client's pool keeps it. */
async function get(port: number, path: string): Promise<{ head: string; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
  // A data listener, not for-await: leaving a for-await loop would destroy the socket.
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(received.slice(0, end))?.[1] ?? NaN);
      if (received.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ head: received.slice(0, end), socket });
    };
    const onClose = (): void => reject(new Error(`the connection closed before the response was complete: ${received}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** `turnstate chat` as a user starts it (the built bin), in its own process; resolves with its port once it prints the URL. */
async function command(dir: string): Promise<number> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/turnstate.js'), 'chat', '--data', dir], { cwd: dir, env: { ...process.env, ANTHROPIC_API_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(Number(new URL(out.split('\n')[0]!).port));
    });
    child.once('exit', (code) => reject(new Error(`chat exited (${code}) before printing its URL`)));
  });
}

describe('the chat server keeps idle connections longer than clients do', () => {
  it('the server `turnstate chat` starts announces, and keeps, a 65 s keep-alive — not node’s 5 s default, which closed connections clients were reusing', async () => {
    const port = await command(mkdtempSync(join(tmpdir(), 'turnstate-chat-keepalive-')));
    const { head } = await get(port, '/api/info');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    // node:http states its keepAliveTimeout in this header: it is what the server will do.
    expect(head).toMatch(/\r\nkeep-alive: timeout=65(\r\n|$)/i);
  });

  it('an idle connection is closed after the configured time and not before: a short injected value closes first, the default keeps its connection', async () => {
    const dir = (name: string) => mkdtempSync(join(tmpdir(), `turnstate-chat-keepalive-${name}-`));
    const short = await startChatServer({ dataDir: dir('short'), keepAliveTimeoutMs: 200, fsync: false });
    const usual = await startChatServer({ dataDir: dir('usual'), fsync: false });
    servers.push(short, usual);
    const a = await get(short.port, '/api/info');
    const b = await get(usual.port, '/api/info');
    expect(a.head).toMatch(/\r\nkeep-alive: timeout=0(\r\n|$)/i);
    expect(b.head).toMatch(/\r\nkeep-alive: timeout=65(\r\n|$)/i);
    let usualClosed = false;
    b.socket.once('close', () => (usualClosed = true));
    // The server ends the idle connection on its own (the client never does here).
    await once(a.socket, 'close');
    expect(usualClosed).toBe(false);
    // And the connection the default server kept is still usable for the next request.
    b.socket.write(`GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:${usual.port}\r\n\r\n`);
    const [again] = (await once(b.socket, 'data')) as [Buffer];
    expect(again.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
  }, 30_000);

  it('the listening socket queues a burst of a thousand connections (backlog 4096, not node’s 511, which dropped SYNs: clients retried seconds later)', async (context) => {
    try {
      execFileSync('ss', ['-V'], { stdio: 'ignore' });
    } catch {
      context.skip('no `ss` (iproute2) here: the listen backlog cannot be read');
      return;
    }
    const server = await startChatServer({ dataDir: mkdtempSync(join(tmpdir(), 'turnstate-chat-backlog-')), fsync: false });
    servers.push(server);
    // For a listening socket, ss's Send-Q column is its backlog (as the kernel took it: at most somaxconn).
    const ss = execFileSync('ss', ['-ltnH', `sport = :${server.port}`], { encoding: 'utf8' });
    const backlog = Number(ss.trim().split(/\s+/)[2]);
    // node's default would show 511 here.
    expect(backlog).toBe(Math.min(4096, Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))));
  });
});
