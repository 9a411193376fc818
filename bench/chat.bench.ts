/**
 * `npm run bench:chat`: N concurrent chat sessions (default 1,000) through
 * the chat backend, against the same N reached directly at the fake
 * Messages API, one phase after the other in one run.
 *
 * Three processes: the fake API (bench/chat-child.ts: the scripted model's
 * turns, each event at a fixed time from the request, DELAY ms apart — 20
 * events/s per stream by default), the chat backend (`startChatServer` in
 * API mode pointed at the fake, the journal on disk with fdatasync, as
 * `turnstate chat` runs), and this one, the clients (bench/chat-client.ts).
 * Each session is one multi-segment turn with a tool call (text + a
 * `save_note` tool_use → the tool runs → text, end_turn): 67 SSE events from
 * the fake, 55 of them deltas. Session k starts at k × RAMP / N ms (default
 * RAMP 1,000: all N are in flight together for most of a turn; the peak count
 * in flight is reported).
 *
 * - direct: each client does what the backend does — request, read the SSE
 *   stream, on tool_use send the tool result, read the second stream.
 * - backend: each client opens its conversation's event stream and posts
 *   the prompt.
 *
 * Measured, per delta event (text and tool-input deltas arrive one for one
 * on both paths): its latency = the client's receive time − the fake's send
 * time; "added latency" = backend − direct, for the same session, segment and
 * event. TTFB: from the request (the POST of the message) to the first delta.
 * Before the first model request: from that POST to the fake receiving the
 * request. Tool-call gap: from the fake's last event of the first response
 * to its receiving the second request (the tool run, the journal, the next
 * request) — all on the fake's clock. CPU seconds of each process per phase
 * (/proc/PID/stat), the backend's event-loop delay (monitorEventLoopDelay),
 * its RSS sampled every 100 ms: per session = (peak − before) / N.
 * Cross-talk: each session must receive exactly its own turn — the tool
 * input it asked for, and the answer quoting its own tool call id.
 *
 * Options: --sessions N --delay MS --ramp MS --out FILE (JSON result);
 * for diagnosis, applied to the backend process only: --threadpool N
 * (UV_THREADPOOL_SIZE; default: as `turnstate chat` sets it, 64), --no-fsync,
 * --chunk-size N (characters per text delta, default 6: fewer events per
 * turn with a larger N, to split the backend's CPU into per-session and
 * per-event costs), --cpu-prof DIR, --heap-prof DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { direct, epochNow, newSession, noteOf, received, viaBackend, type Session } from './chat-client.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string' },
    delay: { type: 'string' },
    ramp: { type: 'string' },
    out: { type: 'string' },
    threadpool: { type: 'string' },
    'no-fsync': { type: 'boolean' },
    'cpu-prof': { type: 'string' },
    'heap-prof': { type: 'string' },
    'chunk-size': { type: 'string' },
  },
});
const SESSIONS = Number(values.sessions ?? 1000);
const DELAY = Number(values.delay ?? 50);
const RAMP = Number(values.ramp ?? 1000);

const root = new URL('..', import.meta.url);
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

interface Stats {
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

function child(args: string[], nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; stats: () => Promise<Stats> }> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(root.pathname, 'bench/chat-child.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  children.push(proc);
  const stats = (): Promise<Stats> =>
    new Promise((resolve) => {
      proc.once('message', (m) => resolve(m as Stats));
      proc.send({ type: 'stats' });
    });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve({ proc, url: (JSON.parse(out.split('\n')[0]!) as { url: string }).url, stats });
    });
    proc.once('exit', (code) => reject(new Error(`chat-child ${args[0]} exited ${code}`)));
  });
}

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** CPU seconds (user + system) a process has used. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: fields 14, 15 of stat; clock ticks of 1/100 s
}
/** Of which in the kernel (system time). */
function sysOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[12]) / 100;
}
const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

function crossTalk(s: Session, k: number): string | null {
  if (s.status !== 'completed') return `status ${s.status}`;
  const got = received(s);
  let input: unknown;
  try {
    input = JSON.parse(got.input);
  } catch {
    return `tool input is not JSON: ${got.input.slice(0, 80)}`;
  }
  if (JSON.stringify(input) !== JSON.stringify({ note: noteOf(k) })) return `tool input ${got.input} is not session ${k}'s`;
  if (!s.toolUseId || !got.text.includes(`saved note (tool call ${s.toolUseId})`)) return `the answer does not quote this session's tool call ${s.toolUseId}`;
  return null;
}

interface Timing {
  received: number;
  deltas: number[];
  end: number;
}

async function timingsOf(fakeUrl: string): Promise<Map<string, Timing>> {
  const response = await fetch(`${fakeUrl}/bench/timings`);
  return new Map(Object.entries((await response.json()) as Record<string, Timing>));
}

const CHUNK = Number(values['chunk-size'] ?? 6);
const fake = await child(['fake', String(DELAY), String(CHUNK)]);
const dir = mkdtempSync(join(tmpdir(), 'turnstate-bench-chat-'));
const nodeArgs = [
  // The thread pool as `turnstate chat` sizes it (bin/threadpool.cjs), unless --threadpool N says otherwise.
  ...(values.threadpool ? [] : ['--require', join(root.pathname, 'bin/threadpool.cjs')]),
  ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
  ...(values['heap-prof'] ? ['--heap-prof', `--heap-prof-dir=${values['heap-prof']}`] : []),
];
const server = await child(['server', fake.url, dir, ...(values['no-fsync'] ? ['--no-fsync'] : [])], nodeArgs, values.threadpool ? { UV_THREADPOOL_SIZE: values.threadpool } : {});
const pids = { fake: fake.proc.pid!, backend: server.proc.pid! };

async function phase(name: string, run: (k: number) => Promise<Session>) {
  let peak = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pids.backend))), 100);
  const rssBefore = rssOf(pids.backend);
  await fake.stats();
  await server.stats();
  const cpu0 = { fake: cpuOf(pids.fake), backend: cpuOf(pids.backend), backendSys: sysOf(pids.backend), clients: ownCpu() };
  const started = epochNow();
  const sessions = await Promise.all(
    Array.from({ length: SESSIONS }, async (_, k) => {
      await new Promise((r) => setTimeout(r, (k * RAMP) / SESSIONS));
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await run(k);
      } catch (error) {
        return { ...newSession(), errors: [`${String(error)}${(error as Error).cause ? ` (${String((error as Error).cause)})` : ''}`] };
      } finally {
        inFlight -= 1;
      }
    }),
  );
  const elapsed = (epochNow() - started) / 1000;
  clearInterval(sampler);
  const cpu = { fake: cpuOf(pids.fake) - cpu0.fake, backend: cpuOf(pids.backend) - cpu0.backend, backendSys: sysOf(pids.backend) - cpu0.backendSys, clients: ownCpu() - cpu0.clients };
  const backendStats = await server.stats();
  const timings = await timingsOf(fake.url);
  const deltas = sessions.reduce((n, s) => n + s.segments.reduce((m, t) => m + t.length, 0), 0);
  const frames = sessions.reduce((n, s) => n + s.frames, 0);
  process.stderr.write(`${name}: ${elapsed.toFixed(1)} s, ${maxInFlight} sessions in flight at most\n`);
  return { name, sessions, timings, elapsed, deltas, frames, cpu, maxInFlight, eventLoopDelayMs: backendStats.eventLoopDelayMs, rssBefore, rssPeak: peak };
}

process.stderr.write(`bench:chat: ${SESSIONS} sessions, ${DELAY} ms per event, started over ${RAMP} ms; fake ${fake.url}, backend ${server.url} (pid ${pids.backend})\n`);
// Warm both paths (JIT, connection pools) before measuring.
await Promise.all(Array.from({ length: 20 }, (_, k) => direct(fake.url, SESSIONS + k)));
await Promise.all(Array.from({ length: 20 }, (_, k) => viaBackend(server.url, SESSIONS + k)));
await timingsOf(fake.url);
await new Promise((r) => setTimeout(r, 1000));

const d = await phase('direct', (k) => direct(fake.url, k));
const b = await phase('backend', (k) => viaBackend(server.url, k));

const latency = { direct: [] as number[], backend: [] as number[] };
const added: number[] = [];
const ttfb: number[] = [];
const beforeRequest = { direct: [] as number[], backend: [] as number[] };
const gap: number[] = [];
const gaps = { direct: [] as number[], backend: [] as number[] };
let mismatched = 0;
for (let k = 0; k < SESSIONS; k += 1) {
  const pair = [
    { s: d.sessions[k]!, t: d.timings, into: 'direct' as const },
    { s: b.sessions[k]!, t: b.timings, into: 'backend' as const },
  ];
  const lat: number[][][] = pair.map(({ s, t }) => s.segments.map((times, seg) => {
    const sent = t.get(`${k}:${seg}`)?.deltas ?? [];
    if (sent.length !== times.length) return [];
    return times.map((at, i) => at - sent[i]!);
  }));
  pair.forEach(({ s, t, into }, p) => {
    lat[p]!.forEach((xs) => latency[into].push(...xs));
    const first = t.get(`${k}:0`);
    if (first && s.requestAt > 0) beforeRequest[into].push(first.received - s.requestAt);
    const second = t.get(`${k}:1`);
    if (first && second) gaps[into].push(second.received - first.end);
  });
  const [ld, lb] = lat;
  ld!.forEach((xs, seg) => {
    const ys = lb![seg];
    if (!ys || ys.length !== xs.length || xs.length === 0) {
      mismatched += 1;
      return;
    }
    xs.forEach((x, i) => added.push(ys[i]! - x));
  });
  const [ds, bs] = [pair[0]!.s, pair[1]!.s];
  if (ds.segments[0]?.[0] !== undefined && bs.segments[0]?.[0] !== undefined) ttfb.push(bs.segments[0][0] - bs.requestAt - (ds.segments[0][0] - ds.requestAt));
  const gd = gaps.direct.at(-1);
  const gb = gaps.backend.at(-1);
  if (d.timings.get(`${k}:1`) && b.timings.get(`${k}:1`) && gd !== undefined && gb !== undefined) gap.push(gb - gd);
}

const errors = (p: typeof d) => p.sessions.reduce((n, s) => n + s.errors.length, 0);
const talk = (p: typeof d) => p.sessions.map((s, k) => crossTalk(s, k)).filter((x) => x !== null);
const q = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: xs.length ? Math.max(...xs) : NaN });
const cpuPerEventUs = (b.cpu.backend / b.frames) * 1e6;
const result = {
  sessions: SESSIONS,
  delayMs: DELAY,
  chunkSize: CHUNK,
  rampMs: RAMP,
  eventsPerSecondPerStream: Math.round(1000 / DELAY),
  maxInFlight: { direct: d.maxInFlight, backend: b.maxInFlight },
  cores: cpus().length,
  addedLatencyMs: { ...q(added), samples: added.length },
  latencyFromFakeMs: { direct: q(latency.direct), backend: q(latency.backend) },
  ttfbOverheadMs: q(ttfb),
  beforeFirstRequestMs: { direct: q(beforeRequest.direct), backend: q(beforeRequest.backend) },
  toolGapMs: { direct: q(gaps.direct), backend: q(gaps.backend), added: q(gap) },
  eventsPerSecond: { direct: Math.round(d.deltas / d.elapsed), backend: Math.round(b.deltas / b.elapsed) },
  framesReceived: { direct: d.frames, backend: b.frames },
  elapsedS: { direct: d.elapsed, backend: b.elapsed },
  cpuS: { direct: d.cpu, backend: b.cpu },
  backendCpuPerFrameUs: cpuPerEventUs,
  backendEventLoopDelayMs: b.eventLoopDelayMs,
  backendRss: { beforeMiB: b.rssBefore / 2 ** 20, peakMiB: b.rssPeak / 2 ** 20, perSessionKiB: (b.rssPeak - b.rssBefore) / SESSIONS / 1024 },
  errors: { direct: errors(d), backend: errors(b), segmentCountMismatch: mismatched },
  crossTalk: { direct: talk(d).length, backend: talk(b).length, examples: [...talk(d), ...talk(b)].slice(0, 5) },
  errorExamples: [...d.sessions, ...b.sessions].flatMap((s) => s.errors).slice(0, 5),
  notesWritten: readFileSync(join(dir, 'notes.jsonl'), 'utf8').trim().split('\n').length - 20,
  loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
};
const targets = { p99AddedMs: 5, rssPerSessionKiB: 256 };
const ok = result.addedLatencyMs.p99 <= targets.p99AddedMs && result.backendRss.perSessionKiB <= targets.rssPerSessionKiB && result.errors.backend === 0 && result.errors.direct === 0 && result.crossTalk.backend === 0 && mismatched === 0;
const f = (x: number) => x.toFixed(1);
const dist = (x: { p50: number; p99: number }) => `p50 ${f(x.p50)} ms   p99 ${f(x.p99)} ms`;
process.stdout.write(
  [
    `chat backend vs the fake API directly — ${SESSIONS} sessions (at most ${b.maxInFlight} in flight), ${result.eventsPerSecondPerStream} events/s per stream, tool_use → end_turn; load average ${result.loadAverage.join(' ')}`,
    `  added latency per event     ${dist(result.addedLatencyMs)}   max ${f(result.addedLatencyMs.max)} ms   (target p99 ≤ ${targets.p99AddedMs} ms; ${added.length} events)`,
    `  latency from the fake       direct ${dist(result.latencyFromFakeMs.direct)}   backend ${dist(result.latencyFromFakeMs.backend)}`,
    `  time to first byte, added   ${dist(result.ttfbOverheadMs)}`,
    `  POST → first model request  direct ${dist(result.beforeFirstRequestMs.direct)}   backend ${dist(result.beforeFirstRequestMs.backend)}`,
    `  tool-call gap               direct ${dist(result.toolGapMs.direct)}   backend ${dist(result.toolGapMs.backend)}   (last event → next request, at the fake)`,
    `  events/s (deltas)           direct ${result.eventsPerSecond.direct}   backend ${result.eventsPerSecond.backend}   (${f(d.elapsed)} s / ${f(b.elapsed)} s)`,
    `  CPU s, direct phase         clients ${f(d.cpu.clients)}   fake ${f(d.cpu.fake)}   backend ${f(d.cpu.backend)}`,
    `  CPU s, backend phase        clients ${f(b.cpu.clients)}   fake ${f(b.cpu.fake)}   backend ${f(b.cpu.backend)} (kernel ${f(b.cpu.backendSys)}) = ${f(cpuPerEventUs)} µs per SSE frame sent (${b.frames} frames)`,
    `  backend event-loop delay    ${dist(b.eventLoopDelayMs)}   max ${f(b.eventLoopDelayMs.max)} ms`,
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
// SIGINT: a profiled backend writes its profile on the way out.
for (const c of children) c.kill(nodeArgs.length > 0 && c === server.proc ? 'SIGINT' : 'SIGKILL');
if (nodeArgs.length > 0) await new Promise((r) => server.proc.once('exit', r));
rmSync(dir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
