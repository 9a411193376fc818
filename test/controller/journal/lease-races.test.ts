/**
 * The lock file when the file system changes under `acquire` (another process acting between two of its calls,
 * simulated by an injected file system doing it at that call), when a write fails, and which renewal file names
 * are read. The clean cases are in lease-file.test.ts, the two-process ones in lease.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asyncFs, type JournalFs } from '../../../src/controller/journal/fs.js';
import { acquireFileLease, renewalPath } from '../../../src/controller/journal/lease.js';

const tmp = () => mkdtemp(join(tmpdir(), 'turnstate-leaserace-'));
const DEAD_PID = 4_194_305;
const T = 1_800_000_000_000;
const opts = { ttlMs: 60_000, now: () => T };
const readLock = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
const rejection = (p: Promise<unknown>) => p.then(() => null, (error: unknown) => error);
const failure = (code: string) => Object.assign(new Error(`injected ${code}`), { code });
const dead = { pid: DEAD_PID, host: hostname(), token: 'dead', acquiredAt: 0, expiresAt: 0 };
const live = { pid: process.pid, host: hostname(), token: 'live', acquiredAt: T, expiresAt: T + 60_000 };

describe('acquire while the lock changes under it', () => {
  it('a stale lock replaced by a live holder between the first look and the guard: run_locked naming the new holder', async () => {
    const path = join(await tmp(), 'run.json.lock');
    await writeFile(path, JSON.stringify(dead));
    const io: JournalFs = {
      ...asyncFs,
      link: async (existing, name) => {
        if (name === `${path}.takeover`) await writeFile(path, JSON.stringify(live)); // someone took it over first
        return asyncFs.link(existing, name);
      },
    };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'run_locked', holder: live });
    expect(await readLock(path)).toEqual(live);
    expect(existsSync(`${path}.takeover`)).toBe(false);
  });

  it('a stale lock that vanishes just before the takeover unlinks it (ENOENT) is taken all the same', async () => {
    const path = join(await tmp(), 'run.json.lock');
    await writeFile(path, JSON.stringify(dead));
    const io: JournalFs = {
      ...asyncFs,
      unlink: async (name) => {
        if (name === path && existsSync(path)) await asyncFs.unlink(name); // released meanwhile: ours then fails ENOENT
        return asyncFs.unlink(name);
      },
    };
    const lease = await acquireFileLease(io, path, 'run_1', opts);
    expect(lease.tookOver).toEqual({ reason: 'holder_dead', holder: dead });
    expect((await readLock(path))['token']).toBe(lease.holder.token);
    await lease.release();
  });

  it('a lock created by another process between the takeover’s unlink and its create: run_locked naming it', async () => {
    const path = join(await tmp(), 'run.json.lock');
    await writeFile(path, JSON.stringify(dead));
    let unlinked = false;
    const io: JournalFs = {
      ...asyncFs,
      unlink: async (name) => {
        await asyncFs.unlink(name);
        if (name === path && !unlinked) {
          unlinked = true;
          await writeFile(path, JSON.stringify(live)); // a fresh acquire got in
        }
      },
    };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'run_locked', holder: live });
    expect(await readLock(path)).toEqual(live);
  });

  it('a lock that exists for link but never for a read (churning): five tries, then run_locked "(contended)"', async () => {
    const path = join(await tmp(), 'run.json.lock');
    let links = 0;
    const io: JournalFs = {
      ...asyncFs,
      link: async () => {
        links++;
        throw failure('EEXIST');
      },
      readFile: async (name) => (name === path ? Promise.reject(failure('ENOENT')) : asyncFs.readFile(name)),
    };
    const error = await rejection(acquireFileLease(io, path, 'run_1', opts));
    expect(error).toMatchObject({ code: 'run_locked', holder: { pid: -1, host: '(contended)', token: '' } });
    expect((error as Error).message).toMatch(/ \(contended\): one owner at a time$/);
    expect(links).toBe(5);
  });

  it('contended five times by live holders that each gave way: run_locked "(contended)" names the last one seen', async () => {
    const path = join(await tmp(), 'run.json.lock');
    let reads = 0;
    const io: JournalFs = {
      ...asyncFs,
      link: async () => Promise.reject(failure('EEXIST')),
      // each look finds the lock gone, but the last (for the error) finds a holder
      readFile: async (name) => (name === path && ++reads <= 5 ? Promise.reject(failure('ENOENT')) : JSON.stringify(live)),
    };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'run_locked', holder: live });
  });

  it('a guard that vanishes between its failed create and the look: the takeover is tried again and succeeds', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    await writeFile(path, JSON.stringify(dead));
    await writeFile(`${path}.takeover`, JSON.stringify(live));
    const io: JournalFs = {
      ...asyncFs,
      readFile: async (name) => {
        if (name === `${path}.takeover` && existsSync(name)) await asyncFs.unlink(name); // the taker-over finished
        return asyncFs.readFile(name);
      },
    };
    const lease = await acquireFileLease(io, path, 'run_1', opts);
    expect(lease.tookOver?.reason).toBe('holder_dead');
    expect((await readdir(dir)).sort()).toEqual(['run.json.lock']);
    await lease.release();
  });
});

describe('acquire when the disk fails', () => {
  it('creating the lock fails for a reason other than EEXIST: that error, and no temp file left', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const io: JournalFs = { ...asyncFs, link: async () => Promise.reject(failure('EACCES')) };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'EACCES' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('writing the lock’s content fails (a full disk): that error, the temp file closed and removed', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    const closed: number[] = [];
    const io: JournalFs = {
      ...asyncFs,
      write: async () => Promise.reject(failure('ENOSPC')),
      close: async (fd) => (closed.push(fd), asyncFs.close(fd)),
    };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'ENOSPC' });
    expect(closed).toHaveLength(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('the takeover guard cannot be created (not EEXIST): that error; the stale lock is left as it was', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    await writeFile(path, JSON.stringify(dead));
    const io: JournalFs = { ...asyncFs, link: async (existing, name) => (name === `${path}.takeover` ? Promise.reject(failure('EIO')) : asyncFs.link(existing, name)) };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'EIO' });
    expect(await readLock(path)).toEqual(dead);
    expect((await readdir(dir)).sort()).toEqual(['run.json.lock']);
  });

  it('re-creating the lock after unlinking the stale one fails (not EEXIST): that error, the guard removed', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    await writeFile(path, JSON.stringify(dead));
    let lockLinks = 0;
    const io: JournalFs = { ...asyncFs, link: async (existing, name) => (name === path && ++lockLinks === 2 ? Promise.reject(failure('EIO')) : asyncFs.link(existing, name)) };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'EIO' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('a lock that cannot be read (not ENOENT): that error', async () => {
    const path = join(await tmp(), 'run.json.lock');
    await writeFile(path, JSON.stringify(live));
    const io: JournalFs = { ...asyncFs, readFile: async (name) => (name === path ? Promise.reject(failure('EIO')) : asyncFs.readFile(name)) };
    expect(await rejection(acquireFileLease(io, path, 'run_1', opts))).toMatchObject({ code: 'EIO' });
  });

  it('a renewal that cannot be written (a full disk) keeps the lease as it was and leaves no temp file; a later one lands', async () => {
    const dir = await tmp();
    const path = join(dir, 'run.json.lock');
    let now = T;
    let full = true;
    const renames: string[] = [];
    const io: JournalFs = {
      ...asyncFs,
      rename: async (from, to) => (renames.push(to), full ? Promise.reject(failure('ENOSPC')) : asyncFs.rename(from, to)),
    };
    const lease = await acquireFileLease(io, path, 'run_1', { ttlMs: 30, now: () => now });
    now = T + 1_000;
    for (let i = 0; i < 400 && renames.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lease.holder.expiresAt).toBe(T + 30);
    expect(lease.lostTo).toBeNull();
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    full = false;
    for (let i = 0; i < 400 && lease.holder.expiresAt !== T + 1_030; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lease.holder.expiresAt).toBe(T + 1_030);
    await lease.release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('renewal files', () => {
  it('a token of 1 to 64 letters, digits, _ and - names one beside the lock; anything else none', () => {
    const lock = '/runs/run.json.lock';
    expect(renewalPath(lock, 'tok-1_A')).toBe('/runs/run.json.lock.renewed-tok-1_A');
    expect(renewalPath(lock, 'a'.repeat(64))).toBe(`/runs/run.json.lock.renewed-${'a'.repeat(64)}`);
    for (const token of ['', 'a'.repeat(65), 'ok/../../x', '../escape', 'a b', 'tok\n']) expect(renewalPath(lock, token)).toBeNull();
  });

  it('a renewal whose expiry is not a finite number (1e999 reads as Infinity) is ignored', async () => {
    const path = join(await tmp(), 'run.json.lock');
    const holder = { pid: 1, host: 'elsewhere.example', token: 'tok-3', acquiredAt: 0, expiresAt: T - 1 };
    await writeFile(path, JSON.stringify(holder));
    await writeFile(`${path}.renewed-tok-3`, '{"expiresAt":1e999}');
    const lease = await acquireFileLease(asyncFs, path, 'run_1', opts);
    expect(lease.tookOver).toEqual({ reason: 'expired', holder });
    await lease.release();
  });
});
