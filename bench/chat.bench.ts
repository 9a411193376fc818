/**
 * `npm run bench:chat`: N concurrent chat sessions (default 1,000) through
 * the chat backend, against the same N reached directly at the fake
 * Messages API, one after the other in one run.
 *
 * Three processes: the fake API (the built-in scripted model, paced at
 * DELAY ms per SSE event: 20 events/s per stream by default), the chat
 * backend (`startChatServer` in API mode, pointed at the fake — the journal
 * on disk with fdatasync, as `turnstate chat` runs), and this one, the
 * clients. Each session is one multi-segment turn with a tool call (text +
 * a `save_note` tool_use → the tool runs → text, end_turn): ~75 SSE events
 * from the fake, ~60 of them deltas.
 *
 * - direct: each client does what the backend does — request, read the SSE
 *   stream, on tool_use send the tool result, read the second stream.
 * - backend: each client opens its conversation's event stream and posts
 *   the prompt.
 *
 * Measured per session and per delta event (text and tool-input deltas,
 * which arrive one for one on both paths): the event's time since the first
 * delta of its segment; "added latency per event" is the backend's minus the
 * direct one, for the same session index and event index. TTFB: from the
 * request (the POST of the message) to the first delta. The gap between
 * segments (the tool call: run, journaled, next request) is reported
 * separately. RSS of the backend process: sampled every 100 ms; per session =
 * (peak with N sessions in flight − before) / N. Cross-talk: each session
 * must receive exactly its own turn — the tool input it asked for, and the
 * answer quoting its own tool call id.
 *
 * Options: --sessions N --delay MS --out FILE (JSON result).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createParser } from 'eventsource-parser';

const { values } = parseArgs({ options: { sessions: { type: 'string' }, delay: { type: 'string' }, out: { type: 'string' } } });
const SESSIONS = Number(values.sessions ?? 1000);
const DELAY = Number(values.delay ?? 50);

const root = new URL('..', import.meta.url);
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function child(args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root.pathname, 'bench/chat-child.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve({ proc, url: (JSON.parse(out.split('\n')[0]!) as { url: string }).url });
    });
    proc.once('exit', (code) => reject(new Error(`chat-child ${args[0]} exited ${code}`)));
  });
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

interface Session {
  /** Arrival times (ms) of the deltas, per segment. */
  segments: number[][];
  requestAt: number;
  errors: string[];
  input: string;
  text: string;
  toolUseId: string | null;
  status: string | null;
}

const newSession = (): Session => ({ segments: [], requestAt: 0, errors: [], input: '', text: '', toolUseId: null, status: null });
const now = (): number => performance.now();
const promptOf = (k: number): string => `Please save a note: bench session ${k} ${'x'.repeat(k % 7)}`;
const noteOf = (k: number): string => `bench session ${k} ${'x'.repeat(k % 7)}`.trim();

async function* sse(response: Response): AsyncGenerator<{ event: string; data: string; id: string | undefined }> {
  const queue: { event: string; data: string; id: string | undefined }[] = [];
  const parser = createParser({ onEvent: (m) => queue.push({ event: m.event ?? 'message', data: m.data, id: m.id }) });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    while (queue.length > 0) yield queue.shift()!;
  }
}

/** What the backend does, done by the client against the fake: two requests, the tool result in between. */
async function direct(fakeUrl: string, k: number): Promise<Session> {
  const s = newSession();
  const messages: unknown[] = [{ role: 'user', content: [{ type: 'text', text: promptOf(k) }] }];
  s.requestAt = now();
  for (let segment = 0; segment < 3; segment += 1) {
    const response = await fetch(`${fakeUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'bench', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 1024, stream: true, messages }),
    });
    if (response.status !== 200) {
      s.errors.push(`HTTP ${response.status}`);
      return s;
    }
    const times: number[] = [];
    s.segments.push(times);
    let stop: string | null = null;
    let tool: { id: string; name: string } | null = null;
    for await (const e of sse(response)) {
      if (e.event === 'content_block_delta') {
        times.push(now());
        const d = JSON.parse(e.data).delta;
        if (d.type === 'text_delta') s.text += d.text;
        else if (d.type === 'input_json_delta') s.input += d.partial_json;
      } else if (e.event === 'content_block_start') {
        const b = JSON.parse(e.data).content_block;
        if (b.type === 'tool_use') tool = { id: b.id, name: b.name };
      } else if (e.event === 'message_delta') stop = JSON.parse(e.data).delta.stop_reason;
    }
    if (stop === 'tool_use' && tool) {
      s.toolUseId = tool.id;
      messages.push({ role: 'assistant', content: [{ type: 'tool_use', id: tool.id, name: tool.name, input: JSON.parse(s.input) }] });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: tool.id, content: `saved note (tool call ${tool.id})` }] });
      continue;
    }
    s.status = stop === 'end_turn' ? 'completed' : `stop ${stop}`;
    return s;
  }
  return s;
}

async function viaBackend(serverUrl: string, k: number): Promise<Session> {
  const s = newSession();
  const created = await fetch(`${serverUrl}api/conversations`, { method: 'POST' });
  if (created.status !== 201) {
    s.errors.push(`create: HTTP ${created.status}`);
    return s;
  }
  const { id } = (await created.json()) as { id: string };
  const controller = new AbortController();
  const events = await fetch(`${serverUrl}api/conversations/${id}/events`, { signal: controller.signal });
  const stream = sse(events);
  await stream.next(); // the snapshot: subscribed
  s.requestAt = now();
  const posted = await fetch(`${serverUrl}api/conversations/${id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: promptOf(k) }) });
  if (posted.status !== 202) {
    s.errors.push(`send: HTTP ${posted.status}`);
    controller.abort();
    return s;
  }
  let times: number[] = [];
  let lastSeq = -1;
  try {
    for await (const e of stream) {
      const seq = Number(e.id?.split('-')[1]);
      if (!(seq === lastSeq + 1 || lastSeq === -1)) s.errors.push(`event ids jump ${lastSeq} → ${seq}`);
      lastSeq = seq;
      const data = JSON.parse(e.data);
      if (e.event === 'segment_start') s.segments.push((times = []));
      else if (e.event === 'text' || e.event === 'input') {
        times.push(now());
        if (e.event === 'text') s.text += data.delta;
        else s.input += data.delta;
      } else if (e.event === 'block_start' && data.blockType === 'tool_use') s.toolUseId = data.id;
      else if (e.event === 'turn_end') {
        s.status = data.ending.status;
        break;
      }
    }
  } finally {
    controller.abort();
  }
  return s;
}

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

function crossTalk(s: Session, k: number): string | null {
  if (s.status !== 'completed') return `status ${s.status}`;
  let input: unknown;
  try {
    input = JSON.parse(s.input);
  } catch {
    return `tool input is not JSON: ${s.input.slice(0, 80)}`;
  }
  if (JSON.stringify(input) !== JSON.stringify({ note: noteOf(k) })) return `tool input ${s.input} is not session ${k}'s`;
  if (!s.toolUseId || !s.text.includes(`saved note (tool call ${s.toolUseId})`)) return `the answer does not quote this session's tool call ${s.toolUseId}`;
  return null;
}

async function phase(name: string, run: (k: number) => Promise<Session>, pid: number | null) {
  let peak = 0;
  const sampler = pid === null ? null : setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
  const before = pid === null ? 0 : rssOf(pid);
  const started = now();
  const sessions = await Promise.all(Array.from({ length: SESSIONS }, (_, k) => run(k).catch((error: unknown) => ({ ...newSession(), errors: [String(error)] }))));
  const elapsed = (now() - started) / 1000;
  if (sampler) clearInterval(sampler);
  const events = sessions.reduce((n, s) => n + s.segments.reduce((m, t) => m + t.length, 0), 0);
  return { name, sessions, elapsed, events, rssBefore: before, rssPeak: peak };
}

const fake = await child(['fake', String(DELAY)]);
const dir = mkdtempSync(join(tmpdir(), 'turnstate-bench-chat-'));
const server = await child(['server', fake.url, dir]);
const pid = server.proc.pid!;
process.stderr.write(`bench:chat: ${SESSIONS} sessions, ${DELAY} ms per event; fake ${fake.url}, backend ${server.url} (pid ${pid})\n`);

// Warm both paths (JIT, connection pools) before measuring.
await Promise.all(Array.from({ length: 20 }, (_, k) => direct(fake.url, k)));
await Promise.all(Array.from({ length: 20 }, (_, k) => viaBackend(server.url, k)));
await new Promise((r) => setTimeout(r, 1000));

const d = await phase('direct', (k) => direct(fake.url, k), null);
process.stderr.write(`direct: ${d.elapsed.toFixed(1)} s\n`);
const b = await phase('backend', (k) => viaBackend(server.url, k), pid);
process.stderr.write(`backend: ${b.elapsed.toFixed(1)} s\n`);

const added: number[] = [];
const ttfb: number[] = [];
const gap: number[] = [];
let mismatched = 0;
for (let k = 0; k < SESSIONS; k += 1) {
  const ds = d.sessions[k]!;
  const bs = b.sessions[k]!;
  if (ds.segments.length !== bs.segments.length) continue;
  ds.segments.forEach((dt, seg) => {
    const bt = bs.segments[seg]!;
    if (bt.length !== dt.length) {
      mismatched += 1;
      return;
    }
    for (let i = 0; i < dt.length; i += 1) added.push(bt[i]! - bt[0]! - (dt[i]! - dt[0]!));
  });
  if (ds.segments[0]?.[0] !== undefined && bs.segments[0]?.[0] !== undefined) ttfb.push(bs.segments[0][0] - bs.requestAt - (ds.segments[0][0] - ds.requestAt));
  if (ds.segments.length === 2 && bs.segments.length === 2) gap.push(bs.segments[1]![0]! - bs.segments[0]!.at(-1)! - (ds.segments[1]![0]! - ds.segments[0]!.at(-1)!));
}
const errors = (p: typeof d) => p.sessions.reduce((n, s) => n + s.errors.length, 0);
const talk = (p: typeof d) => p.sessions.map((s, k) => crossTalk(s, k)).filter((x) => x !== null);
const result = {
  sessions: SESSIONS,
  delayMs: DELAY,
  eventsPerSecondPerStream: Math.round(1000 / DELAY),
  addedLatencyMs: { p50: quantile(added, 0.5), p99: quantile(added, 0.99), max: Math.max(...added), samples: added.length },
  ttfbOverheadMs: { p50: quantile(ttfb, 0.5), p99: quantile(ttfb, 0.99) },
  toolGapOverheadMs: { p50: quantile(gap, 0.5), p99: quantile(gap, 0.99) },
  eventsPerSecond: { direct: Math.round(d.events / d.elapsed), backend: Math.round(b.events / b.elapsed) },
  elapsedS: { direct: d.elapsed, backend: b.elapsed },
  backendRss: { beforeMiB: b.rssBefore / 2 ** 20, peakMiB: b.rssPeak / 2 ** 20, perSessionKiB: (b.rssPeak - b.rssBefore) / SESSIONS / 1024 },
  errors: { direct: errors(d), backend: errors(b), segmentCountMismatch: mismatched },
  crossTalk: { direct: talk(d).length, backend: talk(b).length, examples: [...talk(d), ...talk(b)].slice(0, 5) },
  errorExamples: [...d.sessions, ...b.sessions].flatMap((s) => s.errors).slice(0, 5),
  notesWritten: readFileSync(join(dir, 'notes.jsonl'), 'utf8').trim().split('\n').length - 20,
};
const targets = { p99AddedMs: 5, rssPerSessionKiB: 256 };
const ok = result.addedLatencyMs.p99 <= targets.p99AddedMs && result.backendRss.perSessionKiB <= targets.rssPerSessionKiB && result.errors.backend === 0 && result.errors.direct === 0 && result.crossTalk.backend === 0;
const f = (x: number) => x.toFixed(2);
process.stdout.write(
  [
    `chat backend vs the fake API directly — ${SESSIONS} concurrent sessions, ${result.eventsPerSecondPerStream} events/s per stream, tool_use → end_turn`,
    `  added latency per event     p50 ${f(result.addedLatencyMs.p50)} ms   p99 ${f(result.addedLatencyMs.p99)} ms   (target p99 ≤ ${targets.p99AddedMs} ms; ${result.addedLatencyMs.samples} events)`,
    `  time to first byte, added   p50 ${f(result.ttfbOverheadMs.p50)} ms   p99 ${f(result.ttfbOverheadMs.p99)} ms`,
    `  tool call gap, added        p50 ${f(result.toolGapOverheadMs.p50)} ms   p99 ${f(result.toolGapOverheadMs.p99)} ms   (run + journal + next request)`,
    `  events/s                    direct ${result.eventsPerSecond.direct}   backend ${result.eventsPerSecond.backend}`,
    `  backend RSS                 ${f(result.backendRss.beforeMiB)} MiB → peak ${f(result.backendRss.peakMiB)} MiB: ${f(result.backendRss.perSessionKiB)} KiB per session (target ≤ ${targets.rssPerSessionKiB})`,
    `  errors                      direct ${result.errors.direct}   backend ${result.errors.backend}   (segments that differ in length: ${mismatched})`,
    `  cross-talk                  direct ${result.crossTalk.direct}   backend ${result.crossTalk.backend}   sessions not exactly their own`,
    `  notes written by the tool   ${result.notesWritten} (one per backend session)`,
    ...(result.errorExamples.length > 0 ? [`  first errors: ${result.errorExamples.join(' | ')}`] : []),
    ok ? '  all targets met' : '  TARGETS MISSED',
    '',
  ].join('\n'),
);
if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
for (const c of children) c.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
