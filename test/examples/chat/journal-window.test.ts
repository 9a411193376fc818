import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChatServer, type ChatServer } from '../../../examples/chat/server.js';
import { EventStream, post, turnEnded } from './sse-client.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipped: mounting a tiny tmpfs (a real ENOSPC) needs root');

const servers: ChatServer[] = [];
const streams: EventStream[] = [];
const mounts: string[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  for (const s of servers.splice(0)) await s.close();
  for (const dir of mounts.splice(0)) execFileSync('umount', [dir]);
});

describe.skipIf(!isRoot)('turnstate chat: the first model request does not wait for the run\'s journal snapshot', () => {
  it('with room for the lease but not the snapshot (a full tmpfs), the first response streams, then the run fails checkpoint_failed before the tool runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-window-'));
    const runs = join(dir, 'runs');
    mkdirSync(runs);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', runs]);
    mounts.push(runs);
    // Fill it to one free page: the lease file (a few hundred bytes) takes it, the snapshot finds none (ENOSPC).
    const { bsize, bavail } = statfsSync(runs);
    writeFileSync(join(runs, 'filler'), Buffer.alloc((bavail - 1) * bsize));
    expect(statfsSync(runs).bavail).toBe(1);

    const server = await startChatServer({ dataDir: dir, pace: { eventDelayMs: 2 } });
    servers.push(server);
    const { json } = await post(`${server.url}api/conversations`);
    const events = new EventStream(`${server.url}api/conversations/${json.id}/events`);
    streams.push(events);
    await events.until((f) => f.length > 0);
    expect((await post(`${server.url}api/conversations/${json.id}/messages`, { text: 'Please save a note: buy oat milk' })).status).toBe(202);
    const frames = await events.until(turnEnded, 30_000);
    const kinds = frames.map((f) => f.event);
    // The request went out and its answer streamed, the tool call included…
    expect(kinds).toContain('segment_start');
    expect(frames.filter((f) => f.event === 'text').length).toBeGreaterThan(0);
    expect(frames.some((f) => f.event === 'input')).toBe(true);
    // …but the tool did not run: the save before it (its `started` record) carried the snapshot's failure.
    expect(kinds).not.toContain('tool_start');
    expect(existsSync(join(dir, 'notes.jsonl'))).toBe(false);
    const end = frames.find((f) => f.event === 'turn_end')!;
    expect(end.data.ending).toMatchObject({ status: 'failed', error: { code: 'checkpoint_failed', message: expect.stringContaining('ENOSPC') } });
  });
});
