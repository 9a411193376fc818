/**
 * The few file-system calls the journal and the lease make, behind one
 * interface: the default store uses node's asynchronous calls, `sync: true`
 * the synchronous ones (no thread-pool round trips, but the event loop waits),
 * and tests inject a file system that short-writes or fails where they say.
 */
import * as fs from 'node:fs';

export interface JournalFs {
  open(path: string, flags: string): Promise<number>;
  /** Writes at `position`; resolves with the bytes written, which may be fewer than asked (a full disk). */
  write(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Fails with EEXIST if `name` exists: the atomic "create with this content". */
  link(existing: string, name: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string): Promise<void>;
}

const cb =
  <T>(resolve: (value: T) => void, reject: (error: unknown) => void) =>
  (error: NodeJS.ErrnoException | null, value?: T): void =>
    error ? reject(error) : resolve(value as T);

/** Node's asynchronous calls (the thread pool): the default. */
export const asyncFs: JournalFs = {
  open: (path, flags) => new Promise((res, rej) => fs.open(path, flags, 0o644, cb(res, rej))),
  write: (fd, data, offset, length, position) => new Promise((res, rej) => fs.write(fd, data, offset, length, position, cb(res, rej))),
  fdatasync: (fd) => new Promise((res, rej) => fs.fdatasync(fd, cb(res, rej))),
  fsync: (fd) => new Promise((res, rej) => fs.fsync(fd, cb(res, rej))),
  ftruncate: (fd, length) => new Promise((res, rej) => fs.ftruncate(fd, length, cb(res, rej))),
  close: (fd) => new Promise((res, rej) => fs.close(fd, cb(res, rej))),
  rename: (from, to) => fs.promises.rename(from, to),
  link: (existing, name) => fs.promises.link(existing, name),
  unlink: (path) => fs.promises.unlink(path),
  readFile: (path) => fs.promises.readFile(path, 'utf8'),
  readdir: (path) => fs.promises.readdir(path),
  mkdir: async (path) => void (await fs.promises.mkdir(path, { recursive: true })),
};

/** The synchronous calls, wrapped: the event loop waits for the disk. */
export const syncFs: JournalFs = {
  open: async (path, flags) => fs.openSync(path, flags, 0o644),
  write: async (fd, data, offset, length, position) => fs.writeSync(fd, data, offset, length, position),
  fdatasync: async (fd) => fs.fdatasyncSync(fd),
  fsync: async (fd) => fs.fsyncSync(fd),
  ftruncate: async (fd, length) => fs.ftruncateSync(fd, length),
  close: async (fd) => fs.closeSync(fd),
  rename: async (from, to) => fs.renameSync(from, to),
  link: async (existing, name) => fs.linkSync(existing, name),
  unlink: async (path) => fs.unlinkSync(path),
  readFile: async (path) => fs.readFileSync(path, 'utf8'),
  readdir: async (path) => fs.readdirSync(path),
  mkdir: async (path) => void fs.mkdirSync(path, { recursive: true }),
};

export const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

/**
 * Writes all of `data` at `position`, however many calls it takes. A write
 * that makes no progress is an error (`ENOSPC` when the disk said nothing
 * better): node's own `fs.write` reports a short count and leaves the rest to
 * the caller, which is how write-file-atomic 7 lost the tail of a checkpoint.
 */
export async function writeAll(io: JournalFs, fd: number, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const n = await io.write(fd, data, done, data.length - done, position + done);
    if (!(n > 0)) throw Object.assign(new Error(`short write: ${done} of ${data.length} bytes, then none`), { code: 'ENOSPC' });
    done += n;
  }
}

/** fsync of a directory, so a rename in it is durable. Some file systems refuse it: that is no error. */
export async function syncDir(io: JournalFs, dir: string): Promise<void> {
  let fd: number;
  try {
    fd = await io.open(dir, 'r');
  } catch {
    return;
  }
  try {
    await io.fsync(fd);
  } catch (error) {
    if (!['EINVAL', 'EISDIR', 'ENOTSUP', 'EBADF'].includes(errno(error) ?? '')) throw error;
  } finally {
    await io.close(fd).catch(() => {});
  }
}
