/**
 * Peak memory of `new TurnParser()` on the 20 MB text stream, in its own
 * process (started by bench/run.ts as `node --expose-gc --import tsx
 * bench/memory-child.ts <mode> <MiB> <gcEvery>`; prints one JSON line).
 *
 * The stream is generated chunk by chunk while it is parsed, so the input is
 * never held: each 64 KiB chunk is garbage once written.
 *
 * - mode `gc`: `global.gc()` after every `gcEvery` chunks, then live =
 *   heapUsed + external (arrayBuffers are already part of external; the
 *   brief's heapUsed+external+arrayBuffers sum is reported too). This is the
 *   live peak, sampled between writes (transients inside one write are not
 *   seen: at most one chunk's decoded text and its events).
 * - mode `raw`: no forced GC while parsing; RSS and heapUsed+external are
 *   sampled after every chunk. Shows what the process really touches.
 */
import { createParser } from 'eventsource-parser';
import { chunked, MiB, TEXT_CHUNK, textStreamEvents } from './gen.js';

// BENCH_TURNSTATE_MODULE (experiments only): measure another build of TurnParser, e.g. a variant from bench/experiments/variants.mjs.
const { TurnParser } = (await import(process.env['BENCH_TURNSTATE_MODULE'] ?? '../src/index.js')) as typeof import('../src/index.js');

const [modeArg = 'gc', mbArg = '20', everyArg = '4', whoArg = 'turnstate'] = process.argv.slice(2);
const mode = modeArg === 'raw' ? 'raw' : 'gc';
const mb = Number(mbArg);
const every = Math.max(1, Number(everyArg));
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const live = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const briefSum = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};
const fullGc = (): void => {
  gc();
  gc();
};

const rssAtStart = process.memoryUsage.rss();
// Warm-up on a different, small stream: JIT code and lazily built tables are not the parse's memory.
{
  const turn = new TurnParser();
  for (const chunk of chunked(textStreamEvents({ minBytes: MiB / 4, seed: 99 }), TEXT_CHUNK)) turn.write(chunk);
  if (!turn.end().ok) throw new Error('warm-up stream failed');
}

fullGc();
const baseLive = live();
const baseBrief = briefSum();
const baseRss = process.memoryUsage.rss();

let peakLive = 0;
let peakBrief = 0;
let peakRawHeap = 0;
let peakRss = 0;
let samples = 0;
let chunks = 0;
let bytes = 0;
const t0 = performance.now();
/** The floor (TextDecoder + eventsource-parser + JSON.parse, nothing kept) as a reference for what GC alone does to RSS. */
class Floor {
  events = 0;
  readonly #decoder = new TextDecoder();
  readonly #parser = createParser({ onEvent: (m) => void (this.events += (JSON.parse(m.data) as { type: string }).type.length > 0 ? 1 : 0) });
  write(chunk: Uint8Array): void {
    this.#parser.feed(this.#decoder.decode(chunk, { stream: true }));
  }
  end(): void {
    this.#parser.feed(`${this.#decoder.decode()}\n\n`);
  }
}
const floor = whoArg === 'floor' ? new Floor() : null;
const turn = floor === null ? new TurnParser() : null;
/** who = turnstate-collect: a listener keeps every text delta (as a transcript or a queue would). */
const kept: string[] = [];
if (whoArg === 'turnstate-collect') turn?.on('text', (delta) => void kept.push(delta));
for (const chunk of chunked(textStreamEvents({ minBytes: mb * MiB }), TEXT_CHUNK)) {
  if (floor !== null) floor.write(chunk);
  else turn?.write(chunk);
  bytes += chunk.length;
  chunks++;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  if (mode === 'raw') {
    peakRawHeap = Math.max(peakRawHeap, live());
  } else if (chunks % every === 0) {
    fullGc();
    peakLive = Math.max(peakLive, live());
    peakBrief = Math.max(peakBrief, briefSum());
    samples++;
  }
}
floor?.end();
const result = turn?.end() ?? null;
const elapsedMs = performance.now() - t0;
if (result !== null && !result.ok) throw result.error;
// The finished message is the parse's product: sample it as well (the last point of the curve).
fullGc();
const retained = live() - baseLive;
if (mode === 'gc') {
  peakLive = Math.max(peakLive, live());
  peakBrief = Math.max(peakBrief, briefSum());
  samples++;
}
peakRss = Math.max(peakRss, process.memoryUsage.rss());

const block = result?.message.content[0] as { type: string; text?: string } | undefined;
const textChars = block?.text?.length ?? 0;
const jsonChars = result === null ? 0 : JSON.stringify(result.message).length;

process.stdout.write(
  `${JSON.stringify({
    who: whoArg,
    keptDeltas: kept.length,
    mode,
    gcEvery: every,
    streamBytes: bytes,
    chunks,
    events: result?.eventCount ?? floor?.events ?? 0,
    elapsedMs,
    samples,
    textChars,
    textUtf16Bytes: textChars * 2,
    messageJsonChars: jsonChars,
    baseline: { live: baseLive, brief: baseBrief, rss: baseRss, rssBeforeWarmup: rssAtStart },
    peakRss,
    peakLiveAboveBaseline: mode === 'gc' ? peakLive - baseLive : null,
    peakBriefAboveBaseline: mode === 'gc' ? peakBrief - baseBrief : null,
    peakRawHeapAboveBaseline: mode === 'raw' ? peakRawHeap - baseLive : null,
    peakRssAboveBaseline: peakRss - baseRss,
    retainedAfterEnd: retained,
  })}\n`,
);
