import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { assign, createActor, setup } from 'xstate';
import { startInspectServer, type InspectServer } from '../../src/inspect/server.js';
import { emptyStreamTrace } from '../../src/trace/index.js';
import type { TraceStep } from '../../src/trace/types.js';

const step = (n: number): TraceStep => ({ machine: 'stream', kind: 'event', eventIndex: n, byteOffset: null, type: 'ping', detail: '', before: 'a', after: 'a', transitions: [], ms: n });

/** Reads server-sent events from `url` until `until` says stop. */
async function readEvents(url: string, until: (events: { event: string; data: string }[]) => boolean) {
  const response = await fetch(url);
  const reader = response.body!.getReader();
  const events: { event: string; data: string }[] = [];
  let buffer = '';
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += new TextDecoder().decode(value);
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      events.push({ event: /^event: (.*)$/m.exec(block)![1]!, data: /^data: (.*)$/m.exec(block)![1]! });
    }
  }
  await reader.cancel();
  return events;
}

describe('startInspectServer', () => {
  let server: InspectServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('serves the live page on loopback, and the steps to late and early clients alike', async () => {
    server = await startInspectServer({ trace: emptyStreamTrace('t') });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await (await fetch(server.url)).text();
    expect(page).toContain(`connect-src 'self'`);
    expect(page).toContain('"live":"/trace/steps"');
    server.publishStep(step(0));
    const early = readEvents(`${server.url}trace/steps`, (e) => e.some((x) => x.event === 'trace'));
    server.publishStep(step(1));
    server.publishTrace({ ...emptyStreamTrace('t'), verdict: 'ok' });
    const late = await readEvents(`${server.url}trace/steps`, (e) => e.some((x) => x.event === 'trace'));
    for (const events of [await early, late]) {
      expect(events.filter((e) => e.event === 'step').map((e) => (JSON.parse(e.data) as TraceStep).eventIndex)).toEqual([0, 1]);
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ verdict: 'ok' });
    }
    expect((await fetch(`${server.url}nope`)).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });

  it('relays Stately inspection events, sanitised: a huge context leaves the process capped', async () => {
    server = await startInspectServer({ trace: emptyStreamTrace('t') });
    const client = new WebSocket(server.wsUrl);
    const received: string[] = [];
    client.on('message', (data) => received.push(data.toString()));
    await once(client, 'open');
    // The context comes from the input, as turnstate's machines' do (a context in the config would be in the definition).
    const machine = setup({ types: { context: {} as { transcript: string[] }, input: {} as { transcript: string[] } } }).createMachine({
      id: 'big',
      context: ({ input }) => input,
      on: { grow: { actions: assign({ transcript: ({ context }) => [...context.transcript, 'more'] }) } },
    });
    const actor = createActor(machine, { input: { transcript: Array.from({ length: 1000 }, () => 'x'.repeat(100_000)) }, inspect: server.inspect }).start();
    actor.send({ type: 'grow' });
    await expect.poll(() => received.some((m) => m.includes('"@xstate.snapshot"')), { timeout: 10_000 }).toBe(true);
    for (const message of received) expect(message.length).toBeLessThan(50_000);
    // A late client gets what was buffered.
    const late = new WebSocket(server.wsUrl);
    const replayed: string[] = [];
    late.on('message', (data) => replayed.push(data.toString()));
    await once(late, 'open');
    await expect.poll(() => replayed.length, { timeout: 10_000 }).toBe(received.length);
    client.close();
    late.close();
  });

  it('an observer never breaks what it observes: odd inspection events are dropped, not thrown', async () => {
    server = await startInspectServer({ trace: emptyStreamTrace('t') });
    expect(() => server!.inspect({ type: '@xstate.event' } as never)).not.toThrow();
  });

  it('close() leaves nothing running: a process that used it exits on its own', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const { repoRoot } = await import('../support/corpus.js');
    const script = `
      import { startInspectServer } from ${JSON.stringify(join(repoRoot, 'src/inspect/server.ts'))};
      import { emptyStreamTrace } from ${JSON.stringify(join(repoRoot, 'src/trace/index.ts'))};
      import { TurnParser } from ${JSON.stringify(join(repoRoot, 'src/turn/turn-parser.ts'))};
      import WebSocket from 'ws';
      const live = await startInspectServer({ trace: emptyStreamTrace('t') });
      const client = new WebSocket(live.wsUrl);
      await new Promise((r) => client.once('open', r));
      const turn = new TurnParser({ actorSteps: 'every-event', inspect: live.inspect });
      turn.write('event: ping\\ndata: {"type":"ping"}\\n\\n');
      await live.close();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    expect({ code, signal, out: out.trim() }).toEqual({ code: 0, signal: null, out: 'closed' });
  });

  it('a taken port is an error at start, not a crash later', async () => {
    server = await startInspectServer({ trace: emptyStreamTrace('t') });
    const port = Number(new URL(server.url).port);
    await expect(startInspectServer({ trace: emptyStreamTrace('t'), port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
