/**
 * The lock file itself, in one process: each kind of holder record found at `acquire` (none, live, dead,
 * expired, unreadable, a takeover in progress), release and renewal, and the leftovers a killed writer
 * leaves. The two-process cases are in lease.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asyncFs } from '../../../src/controller/journal/fs.js';
import { acquireFileLease, GUARD_TRIES, GUARD_WAIT_MS, removeLeftovers, staleReason } from '../../../src/controller/journal/lease.js';

const tmp = () => mkdtemp(join(tmpdir(), 'turnstate-leasefile-'));
/** A pid no process has: Linux pids stop at 2^22. */
const DEAD_PID = 4_194_305;
const T = 1_800_000_000_000;
const opts = { ttlMs: 60_000, now: () => T };
const readLock = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
const rejection = (p: Promise<unknown>) => p.then(() => null, (error: unknown) => error);

describe('acquireFileLease', () => {
  it('no lock: takes it, writing this process as the holder with the ttl from now', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    expect(lease.tookOver).toBeNull();
    expect(lease.holder).toMatchObject({ pid: process.pid, host: hostname(), acquiredAt: T, expiresAt: T + 60_000 });
    expect(await readLock(path)).toEqual(lease.holder);
    await lease.release();
    expect(existsSync(path)).toBe(false);
  });

  it('a live holder (this process, unexpired): run_locked naming it, the lock left as it was', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const live = { pid: process.pid, host: hostname(), token: 'live', acquiredAt: T - 5, expiresAt: T + 1 };
    await writeFile(path, JSON.stringify(live));
    const error = await rejection(acquireFileLease(asyncFs, path, 'run_1', opts));
    expect(error).toMatchObject({ code: 'run_locked', holder: live });
    expect((error as Error).message).toBe(`run run_1 is owned by pid ${process.pid} on ${hostname()} (lease expires ${new Date(T + 1).toISOString()}): one owner at a time`);
    expect(await readLock(path)).toEqual(live);
  });

  it('a lease that expires exactly now still counts; one that expired a millisecond ago is taken over', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const foreign = { pid: 1, host: 'elsewhere.example', token: 'f', acquiredAt: 0, expiresAt: T };
    await writeFile(path, JSON.stringify(foreign));
    expect(await rejection(acquireFileLease(asyncFs, path, 'run_1', opts))).toMatchObject({ code: 'run_locked' });
    await writeFile(path, JSON.stringify({ ...foreign, expiresAt: T - 1 }));
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    expect(lease.tookOver).toEqual({ reason: 'expired', holder: { ...foreign, expiresAt: T - 1 } });
    expect((await readLock(path))['token']).toBe(lease.holder.token);
    await lease.release();
  });

  it('a dead holder on this host is taken over at once, however far off its expiry', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const dead = { pid: DEAD_PID, host: hostname(), token: 'd', acquiredAt: 3, expiresAt: T + 10 ** 9 };
    await writeFile(path, JSON.stringify(dead));
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    expect(lease.tookOver).toEqual({ reason: 'holder_dead', holder: dead });
    await lease.release();
  });

  it('an unreadable lock (torn, or not a holder) is taken over as "unreadable"', async () => {
    const fields = (over: Record<string, unknown>) => JSON.stringify({ pid: 12, host: 'h', token: 't', expiresAt: 1, ...over });
    for (const content of ['{"pid":12', fields({ pid: '12' }), fields({ host: 1 }), fields({ token: 1 }), fields({ expiresAt: '1' }), '[]', 'null']) {
      const path = join(await tmp(), 'run.json.lock');
      await writeFile(path, content);
      const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
      expect(lease.tookOver).toEqual({ reason: 'unreadable', holder: { pid: -1, host: '(unreadable)', token: '', acquiredAt: 0, expiresAt: 0 } });
      await lease.release();
    }
  });

  it('a holder record without acquiredAt reads as 0', async () => {
    const path = join(await tmp(), 'run.json.lock');
    await writeFile(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), token: 'old', expiresAt: 5 }));
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    expect(lease.tookOver?.holder).toEqual({ pid: DEAD_PID, host: hostname(), token: 'old', acquiredAt: 0, expiresAt: 5 });
    await lease.release();
  });

  it('a stale lease another live process is taking over: run_locked naming the taker-over', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    await writeFile(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), token: 'd', acquiredAt: 0, expiresAt: 0 }));
    const taker = { pid: process.pid, host: hostname(), token: 'taker', acquiredAt: T, expiresAt: T + 1000 };
    await writeFile(`${path}.takeover`, JSON.stringify(taker));
    const error = await rejection(acquireFileLease(asyncFs, path, 'run_1', opts));
    expect(error).toMatchObject({ code: 'run_locked', holder: taker });
    expect((error as Error).message).toContain(' (taking over a stale lease): one owner at a time');
  });

  it('a takeover guard left by a dead taker-over is removed and the takeover goes on; no guard is left', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    await writeFile(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), token: 'd', acquiredAt: 0, expiresAt: 0 }));
    await writeFile(`${path}.takeover`, JSON.stringify({ pid: DEAD_PID, host: hostname(), token: 'gone', acquiredAt: 0, expiresAt: T + 10 ** 9 }));
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    expect(lease.tookOver?.reason).toBe('holder_dead');
    expect((await readdir(dir)).sort()).toEqual(['run.json.lock']);
    await lease.release();
  });
});

describe('renewal files', () => {
  it('a lease renewed between the first look and the takeover guard is live after all: run_locked, the lock left alone', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const expired = { pid: 1, host: 'elsewhere.example', token: 'tok-1', acquiredAt: T - 100, expiresAt: T - 1 };
    await writeFile(path, JSON.stringify(expired));
    const io = {
      ...asyncFs,
      link: async (existing: string, name: string) => {
        // the holder renews just as the taker-over takes its guard
        if (name === `${path}.takeover`) await writeFile(`${path}.renewed-tok-1`, JSON.stringify({ expiresAt: T + 500 }));
        return asyncFs.link(existing, name);
      },
    };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'run_locked', holder: { ...expired, expiresAt: T + 500 } });
    expect(await readLock(path)).toEqual(expired);
    expect(existsSync(`${path}.takeover`)).toBe(false);
  });

  it('a renewal counts only when later than the lock’s own expiry and readable; a taken-over holder’s file goes with it', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const holder = { pid: 1, host: 'elsewhere.example', token: 'tok-2', acquiredAt: T - 100, expiresAt: T + 10 };
    await writeFile(path, JSON.stringify(holder));
    for (const renewal of [JSON.stringify({ expiresAt: T - 50 }), '{"expiresAt":"soon"}', '{"expires', 'null']) {
      await writeFile(`${path}.renewed-tok-2`, renewal);
      expect(await rejection(acquireFileLease(asyncFs, path, 'run_1', opts))).toMatchObject({ code: 'run_locked', holder });
    }
    await writeFile(`${path}.renewed-tok-2`, JSON.stringify({ expiresAt: T - 50 }));
    const lease = await acquireFileLease(asyncFs, path, 'run_1', { ttlMs: 60_000, now: () => T + 11 });
    expect(lease.tookOver).toEqual({ reason: 'expired', holder });
    expect((await readdir(dir)).sort()).toEqual(['run.json.lock']);
    await lease.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a token that is no safe file-name part has no renewal file: nothing outside the lock’s name is read', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const holder = { pid: 1, host: 'elsewhere.example', token: '../escape', acquiredAt: 0, expiresAt: T - 1 };
    await writeFile(path, JSON.stringify(holder));
    // what `${path}.renewed-${token}` would name: a file in a directory beside the lock, which it must not read
    await mkdir(`${path}.renewed-..`);
    await writeFile(`${path}.renewed-../escape`, JSON.stringify({ expiresAt: T + 10 ** 6 }));
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    expect(lease.tookOver).toEqual({ reason: 'expired', holder });
    await lease.release();
  });
});

describe('FileLease', () => {
  it('release leaves a lock that is no longer ours alone', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    const other = { pid: 1, host: 'elsewhere.example', token: 'theirs', acquiredAt: 0, expiresAt: T + 1 };
    await writeFile(path, JSON.stringify(other));
    await lease.release();
    expect(await readLock(path)).toEqual(other);
    await lease.release(); // twice is harmless
  });

  it('renewal moves the expiry on from the clock; a lock taken by someone else is noticed (lostTo)', async () => {
    const path = join(await tmp(), 'run.json.lock');
    let now = T;
    const lease = await acquireFileLease(asyncFs, path, 'run_1', { ttlMs: 30, now: () => now });
    now = T + 1_000;
    const token = lease.holder.token;
    for (let i = 0; i < 400 && lease.holder.expiresAt !== T + 1_030; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lease.holder).toMatchObject({ token, expiresAt: T + 1_030 });
    // the lock itself is as created; the renewal is the holder's own file, and another process reads both
    expect(await readLock(path)).toMatchObject({ token, expiresAt: T + 30 });
    expect(JSON.parse(await readFile(`${path}.renewed-${token}`, 'utf8'))).toEqual({ expiresAt: T + 1_030 });
    const probe = await rejection(acquireFileLease(asyncFs, path, 'run_1', { ttlMs: 30, now: () => T + 1_030 }));
    expect(probe).toMatchObject({ code: 'run_locked', holder: { token, expiresAt: T + 1_030 } });
    expect(lease.lostTo).toBeNull();
    const thief = { pid: 1, host: 'elsewhere.example', token: 'stolen', acquiredAt: 0, expiresAt: T + 5_000 };
    // written again each time round (a renewal that read the lock just before may rename ours back over it),
    // and renamed into place as a real holder does: a reader must never see it half-written
    for (let i = 0; i < 400 && lease.lostTo === null; i++) {
      await writeFile(`${path}.thief`, JSON.stringify(thief));
      await rename(`${path}.thief`, path);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(lease.lostTo).toEqual(thief);
    await lease.release();
    expect(await readLock(path)).toEqual(thief);
  });

  it('a lock file that disappeared is lost to "(nobody)"', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const lease = await acquireFileLease(asyncFs, path, 'run_1', { ttlMs: 30, now: () => T });
    for (let i = 0; i < 400 && lease.lostTo === null; i++) {
      await asyncFs.unlink(path).catch(() => {}); // again: a renewal in flight may have put it back
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(lease.lostTo).toMatchObject({ pid: -1, host: '(nobody)', token: lease.holder.token });
    await lease.release();
  });
});

describe('release under the takeover guard', () => {
  const guardOf = (path: string) => `${path}.takeover`;
  const liveTaker = { pid: process.pid, host: hostname(), token: 'taker', acquiredAt: T, expiresAt: T + 60_000 };
  /** A file system whose readFile and unlink first call `hooks` (set after the lease is taken). */
  const hooked = () => {
    const hooks: { readFile?: (name: string) => Promise<void>; unlink?: (name: string) => Promise<void>; link?: (name: string) => Promise<void> } = {};
    const io = {
      ...asyncFs,
      readFile: async (name: string) => (await hooks.readFile?.(name), asyncFs.readFile(name)),
      unlink: async (name: string) => (await hooks.unlink?.(name), asyncFs.unlink(name)),
      link: async (existing: string, name: string) => (await hooks.link?.(name), asyncFs.link(existing, name)),
    };
    return { io, hooks };
  };

  it('the lock is found ours and unlinked while the guard names this process; then the guard goes too', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const { io, hooks } = hooked();
    const lease = await acquireFileLease(io, path, 'run_1', opts);
    const seen: unknown[] = [];
    hooks.unlink = async (name) => void (name === path && seen.push(existsSync(guardOf(path)) ? await readLock(guardOf(path)) : 'no guard'));
    await lease.release();
    expect(seen).toEqual([{ pid: process.pid, host: hostname(), token: expect.any(String), acquiredAt: T, expiresAt: T + 60_000 }]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a live taker-over’s guard is waited out: once it is gone, the lock is removed', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const { io, hooks } = hooked();
    const lease = await acquireFileLease(io, path, 'run_1', opts);
    await writeFile(guardOf(path), JSON.stringify(liveTaker));
    let looks = 0;
    // the taker-over is done (it found the lease live and left it) once release has looked at its guard three times
    hooks.readFile = async (name) => void (name === guardOf(path) && ++looks === 3 && (await asyncFs.unlink(name)));
    await lease.release();
    expect(looks).toBe(3);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a guard a live taker-over keeps through every try: the lock is left to expire, the guard left alone', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const { io, hooks } = hooked();
    const lease = await acquireFileLease(io, path, 'run_1', opts);
    await writeFile(guardOf(path), JSON.stringify(liveTaker));
    let looks = 0;
    hooks.readFile = async (name) => void (name === guardOf(path) && looks++);
    const started = Date.now();
    await lease.release();
    expect(looks).toBe(GUARD_TRIES);
    expect(Date.now() - started).toBeGreaterThanOrEqual(GUARD_TRIES * GUARD_WAIT_MS * 0.9); // waited between tries, not spun
    expect(await readLock(path)).toEqual(lease.holder);
    expect(await readLock(guardOf(path))).toEqual(liveTaker);
    expect((await readdir(dir)).sort()).toEqual(['run.json.lock', 'run.json.lock.takeover']);
  });

  it('a dead taker-over’s guard is removed and release goes on; nothing is left', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    await writeFile(guardOf(path), JSON.stringify({ ...liveTaker, pid: DEAD_PID }));
    await lease.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a guard that vanishes between the failed create and the look is simply tried again', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const { io, hooks } = hooked();
    const lease = await acquireFileLease(io, path, 'run_1', opts);
    await writeFile(guardOf(path), JSON.stringify(liveTaker));
    let looks = 0;
    hooks.readFile = async (name) => void (name === guardOf(path) && ++looks === 1 && (await asyncFs.unlink(name)));
    await lease.release();
    expect(looks).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a guard that cannot be written (a full disk) cannot be written by a taker-over either: the lock is removed without it', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const { io, hooks } = hooked();
    const lease = await acquireFileLease(io, path, 'run_1', opts);
    hooks.link = async (name) => {
      if (name === guardOf(path)) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
    };
    await lease.release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('staleReason', () => {
  it('null → unreadable; dead on this host → holder_dead; past expiry → expired; else live', () => {
    expect(staleReason(null, T)).toBe('unreadable');
    expect(staleReason({ pid: DEAD_PID, host: hostname(), token: '', acquiredAt: 0, expiresAt: T + 1 }, T)).toBe('holder_dead');
    // another host's pid is not ours to probe: only the expiry counts
    expect(staleReason({ pid: DEAD_PID, host: 'elsewhere.example', token: '', acquiredAt: 0, expiresAt: T + 1 }, T)).toBeNull();
    expect(staleReason({ pid: process.pid, host: hostname(), token: '', acquiredAt: 0, expiresAt: T - 1 }, T)).toBe('expired');
    expect(staleReason({ pid: process.pid, host: hostname(), token: '', acquiredAt: 0, expiresAt: T }, T)).toBeNull();
  });
});

describe('removeLeftovers', () => {
  it('removes the journal’s temp files and dead writers’ lock temps; keeps live ones and everything else', async () => {
    const dir = await tmp();
    const file = join(dir, 'run.json');
    const names = [
      'run.json',
      'run.json.lock',
      `run.json.${DEAD_PID}-aaaaaaaa.tmp`, // a snapshot a killed writer left
      `run.json.${process.pid}-bbbbbbbb.tmp`, // any journal temp: the run is ours now
      `run.json.lock.${DEAD_PID}-cccccccc.tmp`,
      `run.json.lock.takeover.${DEAD_PID}-dddddddd.tmp`,
      `run.json.lock.${process.pid}-eeeeeeee.tmp`, // a live writer's: kept
      'run.json.lock.nopid.tmp', // no pid to judge by: kept
      'other.json.1-ffffffff.tmp',
      'run.json.bak',
    ];
    for (const name of names) await writeFile(join(dir, name), 'x');
    const removed = await removeLeftovers(asyncFs, file);
    expect(removed.sort()).toEqual([`run.json.${DEAD_PID}-aaaaaaaa.tmp`, `run.json.${process.pid}-bbbbbbbb.tmp`, `run.json.lock.${DEAD_PID}-cccccccc.tmp`, `run.json.lock.takeover.${DEAD_PID}-dddddddd.tmp`].sort());
    expect((await readdir(dir)).sort()).toEqual(['other.json.1-ffffffff.tmp', 'run.json', 'run.json.bak', 'run.json.lock', `run.json.lock.${process.pid}-eeeeeeee.tmp`, 'run.json.lock.nopid.tmp'].sort());
  });

  it('a directory that cannot be read: nothing removed, no error', async () => {
    expect(await removeLeftovers(asyncFs, join(await tmp(), 'missing', 'run.json'))).toEqual([]);
  });
});
