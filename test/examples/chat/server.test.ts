import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChatServer, type ChatServer } from '../../../examples/chat/server.js';
import { NOT_RUN } from '../../../examples/chat/history.js';
import { EventStream, post, textOf, turnEnded, type Frame } from './sse-client.js';

const servers: ChatServer[] = [];
const streams: EventStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  for (const s of servers.splice(0)) await s.close();
});

async function start(eventDelayMs = 2): Promise<{ server: ChatServer; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-'));
  const server = await startChatServer({ dataDir: dir, pace: { eventDelayMs }, fsync: false });
  servers.push(server);
  return { server, dir };
}

async function conversation(server: ChatServer): Promise<string> {
  const { status, json } = await post(`${server.url}api/conversations`);
  expect(status).toBe(201);
  return json.id as string;
}

function events(server: ChatServer, id: string, headers: Record<string, string> = {}, query = ''): EventStream {
  const stream = new EventStream(`${server.url}api/conversations/${id}/events${query}`, headers);
  streams.push(stream);
  return stream;
}

async function say(server: ChatServer, id: string, text: string): Promise<string> {
  const { status, json } = await post(`${server.url}api/conversations/${id}/messages`, { text });
  expect(status, JSON.stringify(json)).toBe(202);
  return json.turnId as string;
}

const seqOf = (f: Frame): number => Number(f.id!.split('-')[1]);
const live = (frames: Frame[]): Frame[] => frames.filter((f) => f.event !== 'snapshot');
const notes = (dir: string): string[] => (existsSync(join(dir, 'notes.jsonl')) ? readFileSync(join(dir, 'notes.jsonl'), 'utf8').trim().split('\n') : []);

describe('the chat server: SSE with ids, stop reasons, tools', () => {
  it('a tool turn streams as id-numbered events: text deltas, the tool call with its input, its result, the answer; the tool ran once', async () => {
    const { server, dir } = await start();
    const id = await conversation(server);
    const stream = events(server, id);
    await stream.until((f) => f.some((x) => x.event === 'snapshot'));
    const turnId = await say(server, id, 'Please save a note: buy oat milk');
    const frames = live(await stream.until(turnEnded));
    // Every event has an id; within one server process they count up by one.
    const epochs = new Set(frames.map((f) => f.id!.split('-')[0]));
    expect(epochs.size).toBe(1);
    frames.forEach((f, i) => i > 0 && expect(seqOf(f)).toBe(seqOf(frames[i - 1]!) + 1));
    expect(frames.every((f) => f.data.turnId === turnId)).toBe(true);
    const kinds = frames.map((f) => f.event);
    expect(kinds[0]).toBe('turn_start');
    expect(kinds.filter((k) => k === 'segment_start')).toHaveLength(2);
    // The tool call's input arrives in pieces, and adds up to the JSON the model sent.
    const input = frames.filter((f) => f.event === 'input').map((f) => f.data.delta).join('');
    expect(frames.filter((f) => f.event === 'input').length).toBeGreaterThan(2);
    expect(JSON.parse(input)).toEqual({ note: 'buy oat milk' });
    const toolStart = frames.find((f) => f.event === 'tool_start')!;
    expect(toolStart.data).toMatchObject({ name: 'save_note', input: { note: 'buy oat milk' } });
    const toolEnd = frames.find((f) => f.event === 'tool_end')!;
    expect(toolEnd.data).toMatchObject({ name: 'save_note', isError: false, result: `saved note (tool call ${toolStart.data.id})` });
    expect(kinds.indexOf('tool_end')).toBeLessThan(kinds.lastIndexOf('segment_start'));
    const segmentEnds = frames.filter((f) => f.event === 'segment_end').map((f) => f.data.stopReason);
    expect(segmentEnds).toEqual(['tool_use', 'end_turn']);
    const end = frames.at(-1)!;
    expect(end.event).toBe('turn_end');
    expect(end.data.ending).toMatchObject({ status: 'completed', stopReason: 'end_turn', error: null });
    // The final answer quotes the tool's result: the second request carried it.
    expect(textOf(frames)).toContain(`The note tool answered: “saved note (tool call ${toolStart.data.id})”`);
    expect(notes(dir)).toHaveLength(1);
    expect(JSON.parse(notes(dir)[0]!)).toMatchObject({ toolUseId: toolStart.data.id, note: 'buy oat milk' });
    // The conversation keeps the turn; its journal is gone once it did.
    const saved = (await (await fetch(`${server.url}api/conversations/${id}`)).json()) as any;
    expect(saved.running).toBeNull();
    expect(saved.turns).toHaveLength(1);
    expect(saved.turns[0].messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(readdirSync(join(dir, 'runs')).filter((n) => n.endsWith('.json'))).toEqual([]);
  });

  it('what the page sees of a response comes from the run\'s own parse: every block event inside its segment, before segment_end, and the tool call streamed whole before tool_start', async () => {
    const { server } = await start();
    const id = await conversation(server);
    const stream = events(server, id);
    await stream.until((f) => f.some((x) => x.event === 'snapshot'));
    await say(server, id, 'Please save a note: buy oat milk');
    const frames = live(await stream.until(turnEnded));
    let open: number | null = null;
    const blocks = new Set(['block_start', 'text', 'thinking', 'input', 'block_stop']);
    for (const f of frames) {
      if (f.event === 'segment_start') open = f.data.segment;
      else if (f.event === 'segment_end') {
        expect(f.data.segment).toBe(open);
        open = null;
      } else if (blocks.has(f.event)) expect(f.data.segment, `${f.event} outside its segment`).toBe(open);
    }
    const kinds = frames.map((f) => f.event);
    const toolBlock = frames.findIndex((f) => f.event === 'block_start' && f.data.blockType === 'tool_use');
    const toolStop = frames.findIndex((f, i) => i > toolBlock && f.event === 'block_stop' && f.data.index === frames[toolBlock]!.data.index);
    expect(toolBlock).toBeGreaterThan(-1);
    expect(toolStop).toBeGreaterThan(toolBlock);
    expect(toolStop).toBeLessThan(kinds.indexOf('segment_end'));
    expect(kinds.indexOf('segment_end')).toBeLessThan(kinds.indexOf('tool_start'));
  });

  it('each ending as the controller decided it from the stop reason: refusal, max_tokens with the dropped call, pause_turn continued', async () => {
    const { server, dir } = await start();
    const id = await conversation(server);
    const stream = events(server, id);
    const endings: any[] = [];
    for (const prompt of ['Tell me how to make something dangerous', 'Write a long essay about rivers', 'Search the web for the height of K2']) {
      const before = stream.frames.length;
      await say(server, id, prompt);
      const frames = await stream.until((f) => f.slice(before).some((x) => x.event === 'turn_end'));
      endings.push(frames.slice(before).find((f) => f.event === 'turn_end')!.data.ending);
    }
    expect(endings[0]).toMatchObject({ status: 'refused', stopReason: 'refusal', stopDetails: { category: 'general_harms' } });
    expect(endings[1]).toMatchObject({ status: 'incomplete', stopReason: 'max_tokens', reason: 'max_tokens' });
    expect(endings[1].dropped).toHaveLength(1);
    expect(endings[1].dropped[0]).toMatchObject({ type: 'tool_use', name: 'save_note' });
    expect(endings[1].dropped[0].partial.length).toBeGreaterThan(0);
    expect(endings[2]).toMatchObject({ status: 'completed', stopReason: 'end_turn', paused: 1 });
    // The dropped call was never run.
    expect(notes(dir)).toEqual([]);
    // The server tool's result arrived whole, summarised for the page.
    const result = stream.frames.find((f) => f.event === 'block_start' && f.data.blockType === 'web_search_tool_result')!;
    expect(result.data.summary.results[0]).toEqual({ title: 'K2 - Wikipedia', url: 'https://en.wikipedia.org/wiki/K2' });
  });

  it('Last-Event-ID: a reconnect gets exactly the frames it missed, byte for byte what a connected page got', async () => {
    const { server } = await start(10);
    const id = await conversation(server);
    const witness = events(server, id);
    await witness.until((f) => f.length > 0);
    await say(server, id, 'Hello! What can you do?');
    const first = events(server, id);
    const seen = await first.until((f) => f.filter((x) => x.event === 'text').length >= 5);
    first.close();
    const last = seen.at(-1)!;
    const again = events(server, id, { 'last-event-id': last.id! });
    const rest = await again.until(turnEnded);
    const all = live(await witness.until(turnEnded));
    const after = all.filter((f) => seqOf(f) > seqOf(last));
    expect(rest.map((f) => [f.id, f.event, f.data])).toEqual(after.map((f) => [f.id, f.event, f.data]));
    expect(rest.some((f) => f.event === 'snapshot')).toBe(false);
    // The same through the query parameter (a new EventSource cannot set the header).
    const viaQuery = events(server, id, {}, `?lastEventId=${encodeURIComponent(last.id!)}`);
    const replayed = await viaQuery.until((f) => f.length >= after.length);
    expect(replayed.map((f) => f.id)).toEqual(after.map((f) => f.id));
  });

  it('an id the log cannot serve (another server process, too old, garbage) gets a snapshot: finished turns and the turn so far, compacted', async () => {
    const { server } = await start(10);
    const id = await conversation(server);
    const witness = events(server, id);
    await witness.until((f) => f.length > 0);
    await say(server, id, 'Tell me how to make something dangerous');
    await witness.until(turnEnded);
    await say(server, id, 'Hello! What can you do?');
    await witness.until((f) => f.filter((x) => x.event === 'text').length >= 8);
    for (const stale of ['0abc-3', 'garbage', `${witness.frames.at(-1)!.id!.split('-')[0]}-999999`]) {
      const late = events(server, id, { 'last-event-id': stale });
      const [snapshot] = await late.until((f) => f.length > 0);
      late.close();
      expect(snapshot!.event).toBe('snapshot');
      // The snapshot's id is the latest event's: wait until the connected page has that one too.
      await witness.until((f) => f.some((x) => x.id === snapshot!.id));
      expect(snapshot!.data.turns).toHaveLength(1);
      expect(snapshot!.data.turns[0].ending.status).toBe('refused');
      // The turn in flight as one event per block: its text is every delta sent before the snapshot, joined.
      const before = live(witness.frames).filter((f) => seqOf(f) <= seqOf(snapshot!));
      const currentTurn = before.slice(before.findLastIndex((f) => f.event === 'turn_start'));
      const liveText = snapshot!.data.live.filter((e: any) => e.type === 'text').map((e: any) => e.delta).join('');
      expect(liveText).toBe(textOf(currentTurn));
      expect(snapshot!.data.live.filter((e: any) => e.type === 'text').length).toBeLessThan(currentTurn.filter((f) => f.event === 'text').length);
    }
  });

  it('Stop mid-stream: the partial answer is kept in the conversation, and the next message works', async () => {
    const { server } = await start(15);
    const id = await conversation(server);
    const stream = events(server, id);
    await stream.until((f) => f.length > 0);
    await say(server, id, 'Hello! What can you do?');
    await stream.until((f) => f.filter((x) => x.event === 'text').length >= 6);
    expect((await post(`${server.url}api/conversations/${id}/stop`)).status).toBe(202);
    const frames = await stream.until(turnEnded);
    const end = frames.find((f) => f.event === 'turn_end')!;
    expect(end.data.ending.status).toBe('aborted');
    const shown = textOf(frames);
    expect(shown.length).toBeGreaterThan(0);
    const full = 'Hello! I am the scripted model of the turnstate chat demo.';
    expect(shown.length).toBeLessThan(300);
    // What the page saw is what the conversation keeps (trailing whitespace trimmed, as the API requires).
    const kept = end.data.messages[1];
    expect(kept.role).toBe('assistant');
    expect(kept.content).toEqual([{ type: 'text', text: shown.trimEnd() }]);
    expect(full.startsWith(shown.trimEnd()) || shown.startsWith(full)).toBe(true);
    // The next turn goes on from it.
    const before = stream.frames.length;
    await say(server, id, 'Tell me how to make something dangerous');
    const next = await stream.until((f) => f.slice(before).some((x) => x.event === 'turn_end'));
    expect(next.slice(before).find((f) => f.event === 'turn_end')!.data.ending.status).toBe('refused');
    const saved = (await (await fetch(`${server.url}api/conversations/${id}`)).json()) as any;
    expect(saved.turns.map((t: any) => t.ending.status)).toEqual(['aborted', 'refused']);
    expect(saved.turns[0].messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello! What can you do?' }] }, kept]);
  });

  it('Stop while the tool call streams: the half call is not kept and never run; the next turn works', async () => {
    const { server, dir } = await start(15);
    const id = await conversation(server);
    const stream = events(server, id);
    await stream.until((f) => f.length > 0);
    await say(server, id, 'Please save a note: buy oat milk');
    await stream.until((f) => f.some((x) => x.event === 'input'));
    await post(`${server.url}api/conversations/${id}/stop`);
    await stream.until(turnEnded);
    const before = stream.frames.length;
    await say(server, id, 'Hello! What can you do?');
    await stream.until((f) => f.slice(before).some((x) => x.event === 'turn_end'));
    expect(notes(dir)).toEqual([]);
    const saved = (await (await fetch(`${server.url}api/conversations/${id}`)).json()) as any;
    expect(saved.turns[1].ending.status).toBe('completed');
    // The partial tool call was not kept (a half call cannot go back), so nothing needed a "not run" answer here.
    expect(JSON.stringify(saved)).not.toContain(NOT_RUN);
  });

  it('refuses bad requests with a typed error: not JSON, no text, unknown conversation, a second turn, Stop with none, a foreign Host or Origin', async () => {
    const { server } = await start(20);
    const id = await conversation(server);
    const messages = `${server.url}api/conversations/${id}/messages`;
    expect(await post(messages, '{"text": ')).toMatchObject({ status: 400, json: { error: { code: 'bad_request' } } });
    expect(await post(messages, { text: '   ' })).toMatchObject({ status: 400, json: { error: { code: 'bad_request' } } });
    expect(await post(messages, { text: 'x'.repeat(70_000) })).toMatchObject({ status: 413 });
    expect(await post(`${server.url}api/conversations/c_AAAAAAAAAAAAAAAA/messages`, { text: 'hi' })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    expect(await post(`${server.url}api/conversations/..%2F..%2Fetc/messages`, { text: 'hi' })).toMatchObject({ status: 404 });
    expect(await post(`${server.url}api/conversations/${id}/stop`)).toMatchObject({ status: 409, json: { error: { code: 'no_turn' } } });
    await say(server, id, 'Hello! What can you do?');
    expect(await post(messages, { text: 'again' })).toMatchObject({ status: 409, json: { error: { code: 'turn_running' } } });
    expect(await post(messages, { text: 'hi' }, { origin: 'http://evil.example' })).toMatchObject({ status: 403, json: { error: { code: 'forbidden' } } });
    // A page of another name resolving to 127.0.0.1 (DNS rebinding) sends its own Host.
    const rebound = await new Promise<number>((resolve, reject) =>
      request({ host: '127.0.0.1', port: server.port, path: '/api/info', headers: { host: `attacker.example:${server.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    expect(rebound).toBe(403);
    expect((await fetch(`${server.url}nope`)).status).toBe(404);
  });
});
