/**
 * A2: one owner per run. Two real processes resuming one checkpoint: the second
 * fails at once with `run_locked` naming the first, and every tool runs once.
 * A stale lease (holder dead on this host, or expired) is taken over, and that
 * is an event.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ControllerError } from '../../../src/controller/errors.js';
import { asyncFs } from '../../../src/controller/journal/fs.js';
import { acquireFileLease } from '../../../src/controller/journal/lease.js';
import { FileCheckpointStore, MemoryCheckpointStore, startRun, startResume, resume, type ControllerEvent } from '../../../src/controller/index.js';
import { scriptedModel } from '../../../src/testing/index.js';
import { text, toolUse } from '../helpers.js';

const CHILD = fileURLToPath(new URL('../fixtures/lease-child.ts', import.meta.url));

/** A checkpoint with two calls pending (the run stopped by a budget before its batch). */
async function pendingBatch(dir: string): Promise<string> {
  const path = join(dir, 'run.json');
  const result = await startRun({
    params: { model: 'm', max_tokens: 10 },
    messages: 'note twice',
    tools: [{ name: 'note', run: () => 'never' }],
    createStream: scriptedModel([toolUse([{ id: 'toolu_A', name: 'note', input: { n: 1 } }, { id: 'toolu_B', name: 'note', input: { n: 2 } }])]).createStream,
    checkpoint: { path },
    budgets: { maxToolCalls: 0 },
  }).settled;
  expect(result.error?.code).toBe('budget_exceeded');
  // a larger budget in the checkpoint, so a plain resume runs the batch
  const store = new FileCheckpointStore({ path });
  const lease = await store.acquire(result.runId);
  const loaded = (await store.load(result.runId))!;
  await lease.save({ ...loaded, seq: loaded.seq + 1, state: { ...loaded.state, settings: { ...loaded.state.settings, budgets: { ...loaded.state.settings.budgets, maxToolCalls: null } } } });
  await lease.release();
  return path;
}

type Message = { running?: string; locked?: { pid: number; host: string }; done?: string; takeover?: string; previous?: number };
function spawn(path: string, effects: string): { proc: ChildProcess; messages: Message[]; next: (pred: (m: Message) => boolean) => Promise<Message>; exit: Promise<NodeJS.Signals | null> } {
  const proc = fork(CHILD, [path, effects], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const messages: Message[] = [];
  const waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  proc.on('message', (m: Message) => {
    messages.push(m);
    for (const w of waiters.filter((w) => w.pred(m))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const exit = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_c, s) => resolve(s)));
  const next = (pred: (m: Message) => boolean) =>
    new Promise<Message>((resolve, reject) => {
      const seen = messages.find(pred);
      if (seen) return resolve(seen);
      waiters.push({ pred, resolve });
      void exit.then(() => setTimeout(() => reject(new Error(`child exited; messages: ${JSON.stringify(messages)}`)), 100));
    });
  return { proc, messages, next, exit };
}

const effectLines = async (file: string) => (existsSync(file) ? (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean) : []);

describe('the run lease', () => {
  it('two processes resume one checkpoint: the second fails at once with run_locked naming the first; each tool runs once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-lease-'));
    const path = await pendingBatch(dir);
    const effects = join(dir, 'effects.log');
    const first = spawn(path, effects);
    await first.next((m) => m.running !== undefined); // the first owns the run and is inside a tool
    const second = spawn(path, effects);
    const refused = await second.next((m) => m.locked !== undefined);
    expect(refused.locked).toMatchObject({ pid: first.proc.pid, host: hostname() });
    await second.exit;
    first.proc.send({ go: true });
    await first.next((m) => m.running === 'toolu_B');
    first.proc.send({ go: true });
    expect(await first.next((m) => m.done !== undefined)).toMatchObject({ done: 'completed' });
    await first.exit;
    expect((await effectLines(effects)).map((l) => l.split(' ')[0])).toEqual(['toolu_A', 'toolu_B']);
    expect(existsSync(`${path}.lock`)).toBe(false); // released at the end
  }, 120_000);

  it('a holder killed with SIGKILL leaves a stale lease: the next resume takes it over (an event) and goes on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-lease-'));
    const path = await pendingBatch(dir);
    const effects = join(dir, 'effects.log');
    const first = spawn(path, effects);
    await first.next((m) => m.running === 'toolu_A');
    first.proc.kill('SIGKILL');
    await first.exit;
    expect(existsSync(`${path}.lock`)).toBe(true);
    const events: ControllerEvent[] = [];
    const runs: string[] = [];
    // the killed calls are in doubt; the side-effect log says which really ran
    const ran = (await effectLines(effects)).map((l) => l.split(' ')[0]!);
    expect(ran).toContain('toolu_A');
    const decisions = Object.fromEntries(['toolu_A', 'toolu_B'].map((id) => [id, ran.includes(id) ? { content: 'noted (checked)', is_error: false } : ('rerun' as const)]));
    const result = await resume(path, {
      tools: [{ name: 'note', run: (_input: unknown, context?: { toolUseBlock?: { id: string } }) => (runs.push(context!.toolUseBlock!.id), 'ok') }],
      createStream: scriptedModel([text('noted')]).createStream,
      decisions,
      onEvent: (e) => events.push(e),
    });
    expect(result.status).toBe('completed');
    const takeover = events.find((e) => e.type === 'lease_takeover');
    expect(takeover).toMatchObject({ reason: 'holder_dead', previous: { pid: first.proc.pid, host: hostname() } });
    expect(events.findIndex((e) => e.type === 'lease_takeover')).toBeLessThan(events.findIndex((e) => e.type === 'checkpoint'));
    expect(runs).toEqual(['toolu_A', 'toolu_B'].filter((id) => !ran.includes(id)));
  }, 120_000);

  it('an expired lease of another host is taken over; an unexpired one is run_locked, decided at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-lease-'));
    const path = await pendingBatch(dir);
    const foreign = { pid: 1, host: 'elsewhere.example', token: 'tok', acquiredAt: 0, expiresAt: Date.now() + 600_000 };
    await writeFile(`${path}.lock`, JSON.stringify(foreign));
    const tools = [{ name: 'note', run: () => 'ok' }];
    const t0 = Date.now();
    const locked = await resume(path, { tools, createStream: scriptedModel([text('x')]).createStream }).catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(ControllerError);
    expect(locked).toMatchObject({ code: 'run_locked', holder: { pid: 1, host: 'elsewhere.example' }, message: expect.stringMatching(/pid 1 on elsewhere\.example/) });
    expect(Date.now() - t0).toBeLessThan(10_000); // no waiting it out
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toEqual(foreign); // left alone
    await writeFile(`${path}.lock`, JSON.stringify({ ...foreign, expiresAt: Date.now() - 1 }));
    const events: ControllerEvent[] = [];
    const result = await resume(path, { tools, createStream: scriptedModel([text('x')]).createStream, onEvent: (e) => events.push(e) });
    expect(result.status).toBe('completed');
    expect(events.find((e) => e.type === 'lease_takeover')).toMatchObject({ reason: 'expired', previous: { host: 'elsewhere.example' } });
  });

  it('in one process too: a second run of the same run id is run_locked while the first is live; the lease is renewed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-lease-'));
    const path = join(dir, 'run.json');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inTool = new Promise<void>((r) => (started = r));
    const first = startRun({
      params: { model: 'm', max_tokens: 10 },
      messages: 'x',
      runId: 'run_same',
      tools: [{ name: 'note', run: async () => (started(), await gate, 'ok') }],
      createStream: scriptedModel([toolUse([{ id: 'toolu_1', name: 'note' }]), text('done')]).createStream,
      checkpoint: new FileCheckpointStore({ path, leaseTtlMs: 300 }),
    });
    await inTool;
    const before = JSON.parse(await readFile(`${path}.lock`, 'utf8')) as { expiresAt: number; token: string };
    // renewed while live: the expiry moves on (polled: no fixed sleep decides the outcome), in the holder's own file
    const renewed = async () => (existsSync(`${path}.lock.renewed-${before.token}`) ? (JSON.parse(await readFile(`${path}.lock.renewed-${before.token}`, 'utf8')) as { expiresAt: number }).expiresAt : 0);
    for (let i = 0; i < 200 && (await renewed()) <= before.expiresAt; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await renewed()).toBeGreaterThan(before.expiresAt);
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ token: before.token, expiresAt: before.expiresAt });
    const second = await startRun({ params: { model: 'm', max_tokens: 10 }, messages: 'x', runId: 'run_same', createStream: scriptedModel([text('no')]).createStream, checkpoint: new FileCheckpointStore({ path, leaseTtlMs: 60_000 }) }).settled;
    expect(second.error?.code).toBe('run_locked');
    expect(second.error?.holder?.pid).toBe(process.pid);
    release();
    expect((await first.settled).status).toBe('completed');
    expect(existsSync(`${path}.lock.renewed-${before.token}`)).toBe(false); // released with the lock
    // the memory store has the same contract
    const memory = new MemoryCheckpointStore();
    const held = await memory.acquire('run_m');
    await expect(memory.acquire('run_m')).rejects.toMatchObject({ code: 'run_locked' });
    await held.release();
    await (await memory.acquire('run_m')).release();
    void startResume;
  });
});

const RENEW_CHILD = fileURLToPath(new URL('../fixtures/renew-child.ts', import.meta.url));
const RELEASE_CHILD = fileURLToPath(new URL('../fixtures/release-child.ts', import.meta.url));

/** Forks a lease fixture on `lockFile`; `next(key)` waits for its first message carrying `key`. */
function leaseChild(fixture: string, lockFile: string) {
  const proc = fork(fixture, [lockFile], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  proc.on('message', (m: Record<string, unknown>) => (messages.push(m), waiters.splice(0).forEach((w) => w())));
  const exit = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const next = async (key: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const seen = messages.find((m) => key in m);
      if (seen) return seen;
      await Promise.race([new Promise<void>((r) => waiters.push(r)), exit.then(() => Promise.reject(new Error(`child exited; messages: ${JSON.stringify(messages)}`)))]);
    }
  };
  return { proc, next, exit };
}

/** Another process's clock an hour on: the child's lease, renewed or not, is past. */
const later = () => Date.now() + 3_600_000;

describe('lease renewal racing a takeover (two processes)', () => {
  it('a renewal stalled past its check cannot overwrite the lease another process took meanwhile: the taker keeps it, the stalled holder learns it lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-lease-race-'));
    const lockFile = join(dir, 'run.json.lock');
    const { proc, next, exit } = leaseChild(RENEW_CHILD, lockFile);
    const childToken = (await next('acquired'))['acquired'];
    await next('stalled'); // the child read the lock, found its own token, and is about to make its renewal visible
    // Another process judges the lease expired and takes it.
    const taker = await acquireFileLease(asyncFs, lockFile, 'run_race', { ttlMs: 60_000, now: later });
    expect(taker.tookOver).toMatchObject({ reason: 'expired', holder: { pid: proc.pid, token: childToken } });
    proc.send({ go: true });
    await next('renewed');
    const lock = JSON.parse(await readFile(lockFile, 'utf8')) as { token: string; pid: number };
    expect(lock).toMatchObject({ token: taker.holder.token, pid: process.pid }); // not overwritten by the late renewal
    expect((await next('lostTo'))['lostTo']).toMatchObject({ token: taker.holder.token, pid: process.pid });
    await exit;
    // the child's release left the taker's lock alone; a third process still finds the taker live
    expect(await acquireFileLease(asyncFs, lockFile, 'run_race', { ttlMs: 60_000, now: later }).catch((e: unknown) => e)).toMatchObject({ code: 'run_locked', holder: { token: taker.holder.token } });
    expect(taker.lostTo).toBeNull();
    await taker.release();
    expect(existsSync(lockFile)).toBe(false);
  }, 120_000);
});

describe('lease release racing a takeover (two processes)', () => {
  it('between release finding the lock its own and removing it, no other process can take the lease over — so release never deletes a new owner’s lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-lease-release-'));
    const lockFile = join(dir, 'run.json.lock');
    const { proc, next, exit } = leaseChild(RELEASE_CHILD, lockFile);
    const childToken = (await next('acquired'))['acquired'];
    await next('stalled'); // the child's release read the lock, found its token, and is about to unlink it
    // Its lease is expired (taken with its clock an hour behind): a takeover now would take it from under the release.
    const attempt = await acquireFileLease(asyncFs, lockFile, 'run_release', { ttlMs: 60_000 }).catch((e: unknown) => e);
    try {
      expect(attempt).toMatchObject({ code: 'run_locked', holder: { pid: proc.pid } });
      expect((attempt as Error).message).toContain('(taking over a stale lease)');
      expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ token: childToken, pid: proc.pid });
    } finally {
      proc.send({ go: true });
      // on a release without the guard the takeover succeeded, and the release then deleted the taker's lock
      if (!(attempt instanceof Error)) await (attempt as { release(): Promise<void> }).release();
    }
    await next('released');
    await exit;
    expect(await readdir(dir)).toEqual([]); // the lock, its guard and renewal file all gone
    const after = await acquireFileLease(asyncFs, lockFile, 'run_release', { ttlMs: 60_000 });
    expect(after.tookOver).toBeNull(); // released, not abandoned: taken fresh
    await after.release();
  }, 120_000);
});
