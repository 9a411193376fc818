/**
 * The clients of `npm run bench:chat`: as cheap as a client can be, so the
 * load generator (which shares the machine with what it measures) costs
 * little and costs the same on both paths.
 *
 * node:http with one keep-alive agent, not fetch (undici's web streams cost
 * several times more per chunk). Each response's bytes are split into SSE
 * frames by hand (`\n\n`, then the `event:`/`id:` line) and the receive time
 * is taken once per socket read, before any parsing: that is when the bytes
 * reached this process. Delta payloads are kept as strings and parsed only
 * after the phase (for the cross-talk check); only the few events a client
 * must act on (the tool call, the stop reason) are parsed as they come.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

export const epochNow = (): number => performance.timeOrigin + performance.now();

const agent = new Agent({ keepAlive: true, maxSockets: Infinity, keepAliveMsecs: 60_000 });

export interface Session {
  /** Receive times (epoch ms) of the deltas, per segment. */
  readonly segments: number[][];
  /** When the request that starts the turn was sent (epoch ms). */
  requestAt: number;
  doneAt: number;
  readonly errors: string[];
  /** The delta payloads (JSON text), parsed after the phase. */
  readonly textData: string[];
  readonly inputData: string[];
  toolUseId: string | null;
  status: string | null;
  /** SSE frames received (all kinds). */
  frames: number;
}

export const newSession = (): Session => ({ segments: [], requestAt: 0, doneAt: 0, errors: [], textData: [], inputData: [], toolUseId: null, status: null, frames: 0 });

interface Frame {
  readonly event: string;
  readonly id: string | null;
  readonly data: string;
}

/** Splits one SSE frame (`field: value` lines) without a general parser: these servers write `id`, `event`, `data` lines, one each. */
function parseFrame(raw: string): Frame | null {
  let event = 'message';
  let id: string | null = null;
  let data = '';
  for (const line of raw.split('\n')) {
    if (line.startsWith('data: ')) data = line.slice(6);
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('id: ')) id = line.slice(4);
  }
  return data === '' && id === null ? null : { event, id, data };
}

interface Call {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

function send(call: Call): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(call.url, { method: call.method, agent, headers: { ...(call.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(call.body) }), ...call.headers } }, resolve);
    req.on('error', reject);
    req.end(call.body);
  });
}

async function json(call: Call): Promise<{ status: number; body: unknown }> {
  const response = await send(call);
  let text = '';
  response.setEncoding('utf8');
  for await (const part of response) text += part;
  return { status: response.statusCode ?? 0, body: text.length > 0 ? JSON.parse(text) : null };
}

/** Reads an SSE response; `onFrame` gets each frame with the time its bytes arrived. Resolves at the end, or when `onFrame` returns true. */
function readSse(response: IncomingMessage, onFrame: (frame: Frame, at: number) => boolean | void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let done = false;
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      const at = epochNow();
      if (done) return;
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame && onFrame(frame, at) === true) {
          done = true;
          response.destroy();
          resolve();
          return;
        }
      }
    });
    response.on('end', () => resolve());
    response.on('error', (error) => (done ? resolve() : reject(error)));
    response.on('close', () => resolve());
  });
}

export const promptOf = (k: number): string => `Please save a note: bench session ${k} ${'x'.repeat(k % 7)}`;
export const noteOf = (k: number): string => `bench session ${k} ${'x'.repeat(k % 7)}`.trim();

/** What the backend does, done by the client against the fake: a request, on tool_use the tool result and the next request. */
export async function direct(fakeUrl: string, k: number): Promise<Session> {
  const s = newSession();
  const messages: unknown[] = [{ role: 'user', content: [{ type: 'text', text: promptOf(k) }] }];
  s.requestAt = epochNow();
  for (let segment = 0; segment < 3; segment += 1) {
    const response = await send({
      method: 'POST',
      url: `${fakeUrl}/v1/messages`,
      headers: { 'x-api-key': 'bench', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 1024, stream: true, messages }),
    });
    if (response.statusCode !== 200) {
      s.errors.push(`HTTP ${response.statusCode}`);
      response.resume();
      return s;
    }
    const times: number[] = [];
    s.segments.push(times);
    let stop: string | null = null;
    let tool: { id: string; name: string } | null = null;
    const input: string[] = [];
    await readSse(response, (f, at) => {
      s.frames += 1;
      if (f.event === 'content_block_delta') {
        times.push(at);
        // The delta's type is in its first bytes: no parse on the hot path.
        if (f.data.includes('"input_json_delta"')) input.push(f.data);
        else s.textData.push(f.data);
      } else if (f.event === 'content_block_start') {
        const b = (JSON.parse(f.data) as { content_block: { type: string; id: string; name: string } }).content_block;
        if (b.type === 'tool_use') tool = { id: b.id, name: b.name };
      } else if (f.event === 'message_delta') stop = (JSON.parse(f.data) as { delta: { stop_reason: string } }).delta.stop_reason;
    });
    s.inputData.push(...input);
    if (stop === 'tool_use' && tool) {
      const { id, name } = tool as { id: string; name: string };
      s.toolUseId = id;
      const parsed = JSON.parse(input.map((d) => (JSON.parse(d) as { delta: { partial_json: string } }).delta.partial_json).join('')) as unknown;
      messages.push({ role: 'assistant', content: [{ type: 'tool_use', id, name, input: parsed }] });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: `saved note (tool call ${id})` }] });
      continue;
    }
    s.status = stop === 'end_turn' ? 'completed' : `stop ${stop}`;
    break;
  }
  s.doneAt = epochNow();
  return s;
}

/** A page's part: create the conversation, subscribe to its events, post the prompt, read to turn_end. */
export async function viaBackend(serverUrl: string, k: number): Promise<Session> {
  const s = newSession();
  const step = <T>(name: string, p: Promise<T>): Promise<T> => p.catch((error: unknown) => Promise.reject(new Error(`${name}: ${(error as Error).message}`)));
  const created = await step('create', json({ method: 'POST', url: `${serverUrl}api/conversations` }));
  if (created.status !== 201) {
    s.errors.push(`create: HTTP ${created.status}`);
    return s;
  }
  const { id } = created.body as { id: string };
  const events = await step('subscribe', send({ method: 'GET', url: `${serverUrl}api/conversations/${id}/events` }));
  let times: number[] = [];
  let lastSeq = -1;
  let subscribed!: () => void;
  const snapshot = new Promise<void>((resolve) => (subscribed = resolve));
  const reading = step('read events', readSse(events, (f, at) => {
    s.frames += 1;
    const seq = Number(f.id?.split('-')[1]);
    if (lastSeq !== -1 && seq !== lastSeq + 1) s.errors.push(`event ids jump ${lastSeq} → ${seq}`);
    lastSeq = seq;
    switch (f.event) {
      case 'snapshot':
        subscribed();
        break;
      case 'segment_start':
        s.segments.push((times = []));
        break;
      case 'text':
        times.push(at);
        s.textData.push(f.data);
        break;
      case 'input':
        times.push(at);
        s.inputData.push(f.data);
        break;
      case 'block_start': {
        const data = JSON.parse(f.data) as { blockType: string; id: string };
        if (data.blockType === 'tool_use') s.toolUseId = data.id;
        break;
      }
      case 'turn_end':
        s.status = (JSON.parse(f.data) as { ending: { status: string } }).ending.status;
        s.doneAt = epochNow();
        return true;
    }
    return false;
  }));
  reading.catch(() => {});
  await Promise.race([snapshot, reading]);
  s.requestAt = epochNow();
  const posted = await step('send', json({ method: 'POST', url: `${serverUrl}api/conversations/${id}/messages`, body: JSON.stringify({ text: promptOf(k) }) }));
  if (posted.status !== 202) {
    s.errors.push(`send: HTTP ${posted.status}`);
    events.destroy();
    return s;
  }
  await reading;
  if (s.status === null) s.errors.push('the event stream ended before turn_end');
  return s;
}

/** The turn a session received, from its delta payloads: the text and the tool input. */
export function received(s: Session): { text: string; input: string } {
  const piece = (d: string): string => {
    const v = JSON.parse(d) as { delta: string | { text?: string; partial_json?: string } };
    return typeof v.delta === 'string' ? v.delta : (v.delta.text ?? v.delta.partial_json ?? '');
  };
  return { text: s.textData.map(piece).join(''), input: s.inputData.map(piece).join('') };
}
