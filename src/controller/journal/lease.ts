/**
 * The file store's lease: `<checkpoint>.lock`, holding the owner's pid, host,
 * a token and an expiry, created atomically and renewed while the run is live.
 *
 * Why not a lock library: proper-lockfile (the well-kept one) locks with
 * mkdir and judges staleness by the directory's mtime alone — it records no
 * pid or host, so it can neither name the holder in `run_locked` nor see at
 * once that the holder died on this host (it waits out `stale`, ≥ 2 s), and a
 * takeover is not reported. lockfile (npm's old one) is O_EXCL + age, also
 * without an owner. What is needed is small: the content is written to a temp
 * file and hard-linked to the lock name (`link` fails with EEXIST and the
 * file is complete the instant it exists — no reader ever sees it empty).
 *
 * Taking over a stale lease races with others doing the same, so it happens
 * under a second, short-lived lock (`.lock.takeover`, same mechanism), and
 * only if the lock, read again under it, still holds the very token judged
 * stale and is still stale. Release takes the same guard to check that the
 * lock is still its own and unlink it, so no takeover can land in between.
 *
 * The lock file is never rewritten: a renewal writes the new expiry to the
 * holder's own file, `.lock.renewed-<token>` (temp + rename), which readers
 * take together with the lock whose token names it. Renewing by replacing
 * the lock was read-check-rename: a takeover landing between the check and
 * the rename was overwritten, and two processes each held "the" lease. A
 * renewal that comes too late now writes a file nobody reads any more —
 * however long the renewer stalled — and no check has to be atomic.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { LeaseHolder } from '../types.js';
import { errno, writeAll, type JournalFs } from './fs.js';
import { ownHolder, runLocked, type StaleLease } from './store.js';

/** Whether a process of this host is alive (EPERM: alive, not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

export function staleReason(holder: LeaseHolder | null, now: number): StaleLease['reason'] | null {
  if (holder === null) return 'unreadable';
  if (holder.host === hostname() && !alive(holder.pid)) return 'holder_dead';
  if (holder.expiresAt < now) return 'expired';
  return null;
}

function parseHolder(text: string): LeaseHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LeaseHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string' && typeof value.expiresAt === 'number') {
      return { pid: value.pid, host: value.host, token: value.token, acquiredAt: value.acquiredAt ?? 0, expiresAt: value.expiresAt };
    }
  } catch {
    // unreadable: judged stale by the caller
  }
  return null;
}

/** The file a holder's renewals go to; null for a token that is no safe file-name part (a foreign or hand-made lock). */
export function renewalPath(path: string, token: string): string | null {
  return /^[\w-]{1,64}$/.test(token) ? `${path}.renewed-${token}` : null;
}

/** The renewed expiry in `renewal`, or null: none yet, or not a renewal record. */
async function readRenewal(io: JournalFs, renewal: string | null): Promise<number | null> {
  if (renewal === null) return null;
  try {
    const value = (JSON.parse(await io.readFile(renewal)) as { expiresAt?: unknown } | null)?.expiresAt;
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
  } catch {
    return null; // none (ENOENT), or unreadable: the lock's own expiry stands
  }
}

/** The lock's holder, its expiry moved on by its renewal file. */
async function readHolder(io: JournalFs, path: string): Promise<LeaseHolder | null | 'missing'> {
  let holder: LeaseHolder | null;
  try {
    holder = parseHolder(await io.readFile(path));
  } catch (error) {
    if (errno(error) === 'ENOENT') return 'missing';
    throw error;
  }
  if (holder === null) return null;
  const renewed = await readRenewal(io, renewalPath(path, holder.token));
  return renewed !== null && renewed > holder.expiresAt ? { ...holder, expiresAt: renewed } : holder;
}

/** A temp name beside `path` that names its writer (so a dead writer's leftovers can be told apart). */
export const tempName = (path: string): string => `${path}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`;

async function writeTemp(io: JournalFs, path: string, text: string): Promise<string> {
  const temp = tempName(path);
  const fd = await io.open(temp, 'wx');
  try {
    await writeAll(io, fd, Buffer.from(text), 0);
  } catch (error) {
    await io.close(fd).catch(() => {});
    await io.unlink(temp).catch(() => {});
    throw error;
  }
  await io.close(fd);
  return temp;
}

/** Creates `path` holding `text`, atomically; rejects with EEXIST if it exists. */
async function createExclusive(io: JournalFs, path: string, text: string): Promise<void> {
  const temp = await writeTemp(io, path, text);
  try {
    await io.link(temp, path);
  } finally {
    await io.unlink(temp).catch(() => {});
  }
}

export interface FileLeaseOptions {
  readonly ttlMs: number;
  readonly now?: () => number;
}

export class FileLease {
  readonly holder: LeaseHolder;
  readonly tookOver: StaleLease | null;
  readonly #io: JournalFs;
  readonly #path: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | null = null;
  /** Set when the lock no longer holds our token: someone took the run over. */
  lostTo: LeaseHolder | null = null;
  #released = false;

  constructor(io: JournalFs, path: string, holder: LeaseHolder, tookOver: StaleLease | null, options: FileLeaseOptions) {
    this.#io = io;
    this.#path = path;
    this.holder = holder;
    this.tookOver = tookOver;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => {
      this.#renewing ??= this.#renew().finally(() => (this.#renewing = null));
    }, Math.max(10, Math.floor(this.#ttlMs / 3)));
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    const current = await readHolder(this.#io, this.#path).catch(() => undefined);
    if (current === undefined || this.#released) return; // unreadable for now: try again next time
    if (current === 'missing' || current === null || current.token !== this.holder.token) {
      this.lostTo = current === 'missing' || current === null ? { ...this.holder, pid: -1, host: '(nobody)' } : current;
      clearInterval(this.#timer);
      return;
    }
    const renewed: LeaseHolder = { ...this.holder, expiresAt: this.#now() + this.#ttlMs };
    // Only our own file is written: if the lock was taken over since the check above, this lands where no reader looks.
    const target = renewalPath(this.#path, this.holder.token)!;
    try {
      const temp = await writeTemp(this.#io, this.#path, JSON.stringify({ expiresAt: renewed.expiresAt }));
      await this.#io.rename(temp, target).catch(async (error) => {
        await this.#io.unlink(temp).catch(() => {});
        throw error;
      });
      (this as { holder: LeaseHolder }).holder = renewed;
    } catch {
      // a full disk: the lease runs on until it expires; renewal tries again
    }
  }

  /**
   * Removes the lock if it is still ours. The check and the unlink happen
   * under the takeover guard: a takeover only happens under it, so the lock
   * read as ours cannot be taken over (once our lease expired) between the
   * two — read-then-unlink without it deleted the new owner's lock. A guard a
   * live taker-over holds (for a few file calls) is waited for; if it stays
   * held, the lock is left to expire rather than risked. A guard that cannot
   * be written (a full disk) cannot be written by a taker-over either: the
   * check and unlink then go ahead without it.
   */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    await this.#renewing;
    const guard = `${this.#path}.takeover`;
    const taken = await takeGuard(this.#io, guard, this.#ttlMs, this.#now);
    if (taken !== 'busy') {
      try {
        const current = await readHolder(this.#io, this.#path).catch(() => null);
        if (current !== null && current !== 'missing' && current.token === this.holder.token) await this.#io.unlink(this.#path).catch(() => {});
      } finally {
        if (taken === 'held') await this.#io.unlink(guard).catch(() => {});
      }
    }
    await this.#io.unlink(renewalPath(this.#path, this.holder.token)!).catch(() => {});
  }
}

/** How often, and how long apart, release tries for a takeover guard a live taker-over holds. */
export const GUARD_TRIES = 50;
export const GUARD_WAIT_MS = 20;

/** Takes the takeover guard for release: 'busy' if a live taker-over kept it through every try. */
async function takeGuard(io: JournalFs, guard: string, ttlMs: number, now: () => number): Promise<'held' | 'busy' | 'unwritable'> {
  for (let attempt = 0; attempt < GUARD_TRIES; attempt++) {
    try {
      await createExclusive(io, guard, JSON.stringify(ownHolder(ttlMs, now())));
      return 'held';
    } catch (error) {
      if (errno(error) !== 'EEXIST') return 'unwritable';
    }
    const other = await readHolder(io, guard).catch(() => 'missing' as const);
    if (other === 'missing') continue;
    if (staleReason(other, now()) !== null) await io.unlink(guard).catch(() => {}); // a taker-over that died
    else await delay(GUARD_WAIT_MS);
  }
  return 'busy';
}

/**
 * Takes the lease at `path` for `runId`, or rejects with `run_locked` naming
 * the live holder. A stale lease is taken over (`tookOver` says whose).
 */
export async function acquireFileLease(io: JournalFs, path: string, runId: string, options: FileLeaseOptions): Promise<FileLease> {
  const now = options.now ?? Date.now;
  for (let attempt = 0; attempt < 5; attempt++) {
    const holder = ownHolder(options.ttlMs, now());
    try {
      await createExclusive(io, path, JSON.stringify(holder));
      return new FileLease(io, path, holder, null, options);
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw error;
    }
    const current = await readHolder(io, path);
    if (current === 'missing') continue; // released meanwhile: try again
    const reason = staleReason(current, now());
    if (reason === null) throw runLocked(runId, current!);
    const stale: LeaseHolder = current ?? { pid: -1, host: '(unreadable)', token: '', acquiredAt: 0, expiresAt: 0 };
    const guard = `${path}.takeover`;
    try {
      await createExclusive(io, guard, JSON.stringify(holder));
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw error;
      const other = await readHolder(io, guard);
      if (other !== 'missing' && staleReason(other, now()) === null) throw runLocked(runId, other ?? stale, ' (taking over a stale lease)');
      await io.unlink(guard).catch(() => {}); // a taker-over that died: its guard goes
      continue;
    }
    try {
      // Judged again under the guard: replaced since (another token), or renewed since (its holder is live after all).
      const again = await readHolder(io, path);
      if (again !== 'missing' && ((again?.token ?? '') !== (current?.token ?? '') || staleReason(again, now()) === null)) continue;
      await io.unlink(path).catch((error) => {
        if (errno(error) !== 'ENOENT') throw error;
      });
      try {
        await createExclusive(io, path, JSON.stringify(holder));
      } catch (error) {
        if (errno(error) === 'EEXIST') continue;
        throw error;
      }
      const staleRenewal = renewalPath(path, stale.token);
      if (staleRenewal !== null) await io.unlink(staleRenewal).catch(() => {}); // the previous holder's: nobody reads it now
      return new FileLease(io, path, holder, { holder: stale, reason }, options);
    } finally {
      await io.unlink(guard).catch(() => {});
    }
  }
  const current = await readHolder(io, path);
  throw runLocked(runId, current === 'missing' || current === null ? { pid: -1, host: '(contended)', token: '', acquiredAt: 0, expiresAt: 0 } : current, ' (contended)');
}

/**
 * Removes what killed writers left beside `file`: journal temp files (the run
 * is ours now, so any is a leftover) and lock temp files whose writer is dead.
 * It lists the whole directory, so the store calls it only after a takeover.
 */
export async function removeLeftovers(io: JournalFs, file: string): Promise<string[]> {
  const dir = dirname(file);
  const base = basename(file);
  let names: string[];
  try {
    names = await io.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`) || !name.endsWith('.tmp')) continue;
    const rest = name.slice(base.length + 1);
    if (rest.startsWith('lock.')) {
      const pid = Number(/^lock\.(?:takeover\.)?(\d+)-/.exec(rest)?.[1]);
      if (!Number.isInteger(pid) || alive(pid)) continue;
    }
    await io.unlink(join(dir, name)).then(
      () => removed.push(name),
      () => {},
    );
  }
  return removed;
}
