import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnChat } from '../../support/chat-process.js';
import { EventStream, post, turnEnded, type Frame } from './sse-client.js';

const chat = (dir: string, port = 0) => spawnChat(dir, { port, delayMs: 25 }, children);

const children: ChildProcess[] = [];
const streams: EventStream[] = [];
afterEach(() => {
  for (const s of streams.splice(0)) s.close();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const notes = (dir: string): string[] => (existsSync(join(dir, 'notes.jsonl')) ? readFileSync(join(dir, 'notes.jsonl'), 'utf8').trim().split('\n') : []);

async function killed(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Connects again and again (the restarted server may take a moment), as a page's EventSource does, until a frame arrives. */
async function reconnect(url: string, lastEventId: string): Promise<EventStream> {
  for (let attempt = 0; ; attempt += 1) {
    const stream = new EventStream(url, { 'last-event-id': lastEventId });
    streams.push(stream);
    try {
      await stream.until((f) => f.length > 0, 10_000);
      if (stream.frames.length > 0) return stream;
    } catch {
      // not up yet
    }
    stream.close();
    if (attempt > 40) throw new Error('the restarted server never answered');
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('turnstate chat killed (SIGKILL) mid-turn and started again', () => {
  for (const when of [
    'after the tool ran, while the answer streams',
    'before the tool ran, while the tool call streams',
    // The first request leaves before the run's first journal snapshot is durable (examples/chat/journal.ts): killed
    // here, the journal may be missing, and the run starts again from the conversation file.
    'as the first request goes out, its journal snapshot perhaps not yet written',
  ] as const) {
    it(`${when}: the run resumes from its journal, the turn finishes, and the tool ran exactly once`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-kill-'));
      const first = await chat(dir);
      const { json } = await post(`${first.url}api/conversations`);
      const events = `${first.url}api/conversations/${json.id}/events`;
      const before = new EventStream(events);
      streams.push(before);
      await before.until((f) => f.length > 0);
      await post(`${first.url}api/conversations/${json.id}/messages`, { text: 'Please save a note: buy oat milk' });
      const killPoint = (f: Frame[]): boolean =>
        when.startsWith('after')
          ? f.some((x) => x.event === 'segment_start' && x.data.segment === 1) && f.filter((x) => x.event === 'text').length > 12
          : when.startsWith('before')
            ? f.some((x) => x.event === 'input')
            : f.some((x) => x.event === 'segment_start');
      const seen = await before.until(killPoint);
      const lastId = seen.at(-1)!.id!;
      await killed(first.child);
      expect(notes(dir)).toHaveLength(when.startsWith('after') ? 1 : 0);

      const second = await chat(dir, first.port);
      const after = await reconnect(events, lastId);
      const frames = await after.until(turnEnded, 30_000);
      // A new process: the old id is not its own, so the page is sent where the conversation stands.
      expect(frames[0]!.event).toBe('snapshot');
      expect(frames[0]!.id!.split('-')[0]).not.toBe(lastId.split('-')[0]);
      const resumed = [frames[0]!.data.live[0], ...frames.slice(1).map((f) => f.data)].find((e: any) => e?.type === 'turn_start');
      expect(resumed).toMatchObject({ resumed: true });
      const end = frames.find((f) => f.event === 'turn_end')!;
      expect(end.data.ending).toMatchObject({ status: 'completed', stopReason: 'end_turn' });
      const roles = end.data.messages.map((m: any) => m.role);
      expect(roles).toEqual(['user', 'assistant', 'user', 'assistant']);
      const toolUse = end.data.messages[1].content.find((b: any) => b.type === 'tool_use');
      const line = JSON.parse(notes(dir)[0]!);
      expect(notes(dir)).toHaveLength(1);
      expect(line.toolUseId).toBe(toolUse.id);
      // The answer the resumed run streamed quotes the one result.
      expect(end.data.messages[3].content.at(-1).text).toContain(`saved note (tool call ${toolUse.id})`);
      const exited = once(second.child, 'exit');
      second.child.kill('SIGINT');
      const [code] = await exited;
      expect(code).toBe(130);
      expect(second.output().split('\n')[0]).toBe(second.url);
    });
  }
});
