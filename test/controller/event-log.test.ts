import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, startRun, type ControllerEvent } from '../../src/controller/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { echoTool, text, toolUse } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts) execFileSync('umount', [dir]);
});

/** A run that logs to `eventLog`; resolves to its result and every event the callbacks saw. */
async function runLogging(eventLog: string, replies = [toolUse([{ id: 't1', name: 'echo', input: { a: 1 } }], 'Checking.'), text('Done.')]) {
  const events: ControllerEvent[] = [];
  const handle = startRun({
    params: { model: 'm', max_tokens: 10 },
    messages: 'x',
    tools: [echoTool()],
    createStream: scriptedModel(replies).createStream,
    checkpoint: new MemoryCheckpointStore(),
    onEvent: (e) => events.push(e),
    eventLog,
  });
  const iterated: ControllerEvent[] = [];
  for await (const e of handle.events()) iterated.push(e);
  const result = await handle.settled;
  return { result, events, iterated };
}

function expectReported(events: ControllerEvent[], path: string, code: string) {
  const failures = events.filter((e) => e.type === 'observer_failed');
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({ type: 'observer_failed', observer: 'eventLog', path, code });
}

describe('eventLog never crashes the process: the log stops, an observer_failed event says why, the run goes on', () => {
  it('a directory (EISDIR)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-evlog-'));
    const { result, events, iterated } = await runLogging(dir);
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Done.');
    expectReported(events, dir, 'EISDIR');
    expectReported(iterated, dir, 'EISDIR');
    expect(events.at(-1)?.type === 'run_end' || events.at(-2)?.type === 'run_end').toBe(true);
  });

  it('a path under a file (ENOTDIR, thrown synchronously by mkdir)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-evlog-'));
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const path = join(file, 'sub', 'events.jsonl');
    const { result, events } = await runLogging(path);
    expect(result.status).toBe('completed');
    expectReported(events, path, 'ENOTDIR');
  });

  it.skipIf(!isRoot)('a read-only file system (a real `mount -t tmpfs -o ro`; EROFS)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-evlog-ro-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]);
    mounts.push(dir);
    const path = join(dir, 'events.jsonl');
    const { result, events } = await runLogging(path);
    expect(result.status).toBe('completed');
    expectReported(events, path, 'EROFS');
  });

  it.skipIf(!isRoot)('a file system that fills up mid-run (a 64 KiB tmpfs; ENOSPC): what was written stays, the run completes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-evlog-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    mounts.push(dir);
    // leave a little room: the log's first events fit, the long text's deltas do not
    const filler = join(dir, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(60 * 1024));
    } catch {
      // full already is fine too
    }
    const path = join(dir, 'events.jsonl');
    const long = 'x'.repeat(40).concat(' ').repeat(1500);
    const { result, events } = await runLogging(path, [text(long)]);
    expect(result.status).toBe('completed');
    expect(result.text).toBe(long);
    expectReported(events, path, 'ENOSPC');
    const written = await readFile(path, 'utf8');
    expect(written.length).toBeGreaterThan(0);
    // whole lines at the start are the run's first events, in order
    const first = JSON.parse(written.split('\n')[0]!) as ControllerEvent;
    expect(first.type).toBe('run_start');
    await rm(filler, { force: true });
  });

  it.skipIf(isRoot)('(not root: the read-only and full file system cases need `mount`; skipped)', () => {});

  it('a log that works still gets every event, and no observer_failed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-evlog-'));
    mkdirSync(join(dir, 'logs'));
    const path = join(dir, 'logs', 'events.jsonl');
    const { events } = await runLogging(path);
    const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ControllerEvent);
    expect(events.some((e) => e.type === 'observer_failed')).toBe(false);
    expect(lines).toEqual(events);
  });
});
