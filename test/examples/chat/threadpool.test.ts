import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnChat } from '../../support/chat-process.js';

// libuv starts all of its pool's threads at the pool's first use (the ES module loader's read of the entry), so a
// running server's thread count shows the pool size: node's own threads (main, V8's platform workers, the signal
// watcher…) are about ten.
const threadsOf = (pid: number): number => readdirSync(`/proc/${pid}/task`).length;
const OWN_THREADS_AT_MOST = 20;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const hasProc = existsSync('/proc/self/task');
if (!hasProc) console.log('skipped: no /proc/PID/task to count a process\'s threads on this system');

describe.skipIf(!hasProc)('turnstate chat sizes libuv\'s thread pool (the journal\'s fsyncs overlap)', () => {
  const envWithout = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_API_KEY: '' };
    delete env['UV_THREADPOOL_SIZE'];
    return env;
  };

  it('runs with 64 pool threads when the user set no UV_THREADPOOL_SIZE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-pool-'));
    const chat = await spawnChat(dir, { port: 0, delayMs: 0, env: envWithout() }, children);
    expect(threadsOf(chat.child.pid!)).toBeGreaterThanOrEqual(64);
  });

  it('keeps the size the user set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-pool-'));
    const chat = await spawnChat(dir, { port: 0, delayMs: 0, env: { ...envWithout(), UV_THREADPOOL_SIZE: '4' } }, children);
    expect(threadsOf(chat.child.pid!)).toBeLessThanOrEqual(OWN_THREADS_AT_MOST);
    const big = await spawnChat(mkdtempSync(join(tmpdir(), 'turnstate-chat-pool-')), { port: 0, delayMs: 0, env: { ...envWithout(), UV_THREADPOOL_SIZE: '100' } }, children);
    expect(threadsOf(big.child.pid!)).toBeGreaterThanOrEqual(100);
  });
});
