/**
 * `turnstate replay` on a cassette recording: the `.meta.json` beside the
 * `.sse` is shown (model, request id, timing), and `--realtime` re-emits the
 * text at the recorded pace.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/commands/replay.js';
import { UsageError } from '../../src/cli/io.js';
import type { CassetteMeta } from '../../src/testing/cassette.js';
import { recordRun, tempDir, toolTurn } from '../testing/cassette-support.js';
import { captureIO } from './helpers.js';

const NAME = '0001-claude-sonnet-4-6-tool_use';
let dir: string;
let meta: CassetteMeta;
beforeAll(async () => {
  ({ dir } = await recordRun());
  meta = JSON.parse(await readFile(join(dir, `${NAME}.meta.json`), 'utf8')) as CassetteMeta;
});

/** Where each event of the recorded body ends (just past its blank line), found without turnstate's scanner. */
function eventEndsOf(body: Buffer): number[] {
  const ends: number[] = [];
  for (let at = body.indexOf('\n\n'); at !== -1; at = body.indexOf('\n\n', at + 2)) ends.push(at + 2);
  return ends;
}

/** A copy of the cassette whose sidecar says the chunks came at these times (ms after the headers). */
async function paced(pieces: readonly [eventsBefore: number, ms: number][]): Promise<string> {
  const copy = await tempDir('replay-paced');
  await cp(dir, copy, { recursive: true });
  const ends = [0, ...eventEndsOf(Buffer.from(toolTurn))];
  const h = meta.timing.headersMs;
  const timing = { ...meta.timing, chunks: pieces.map(([n, ms]) => [ends[n]!, h + ms]) };
  await writeFile(join(copy, `${NAME}.meta.json`), JSON.stringify({ ...meta, timing }));
  return join(copy, `${NAME}.sse`);
}

/** captureIO, with the time of every stdout write. */
function timedIO(signal?: AbortSignal) {
  const io = captureIO();
  const writes: { at: number; text: string }[] = [];
  const t0 = performance.now();
  return { io: { ...io, signal, stdout: (text: string) => { writes.push({ at: performance.now() - t0, text }); io.stdout(text); } }, writes, out: io.out };
}

describe('turnstate replay on a cassette', () => {
  it('shows the sidecar: model, request id, status, timing, params hash', async () => {
    const io = captureIO();
    expect(await replayCommand.run([join(dir, `${NAME}.sse`)], io)).toBe(0);
    const out = io.out();
    expect(out).toMatch(/: valid, complete \(\d+ events\)\n {2}cassette {4}#1, recorded \d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d\.\d+Z: POST \/v1\/messages, model claude-sonnet-4-6, streamed\n/);
    expect(out).toContain(`  response    HTTP 200, request id req_fake_0001, ${Buffer.byteLength(toolTurn)} bytes\n`);
    expect(out).toContain(`  timing      headers ${meta.timing.headersMs.toFixed(1)} ms, first byte ${meta.timing.firstByteMs!.toFixed(1)} ms, end ${meta.timing.endMs.toFixed(1)} ms; ${meta.timing.chunks.length} chunks, ${eventEndsOf(Buffer.from(toolTurn)).length} events\n`);
    expect(out).toContain(`  params hash ${meta.request.paramsHash}\n`);
    // Without --realtime the text is only in the summary, not streamed out.
    expect(out.split('\n')[0]).toMatch(/valid, complete/);
  });

  it('--json adds "cassette" beside a sidecar, and only there (the documented keys stay as they were for a bare .sse)', async () => {
    const io = captureIO();
    await replayCommand.run([join(dir, `${NAME}.sse`), 'recordings/end-turn-text.sse', '--json'], io);
    const [withMeta, bare] = io.out().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(withMeta!['cassette']).toEqual({
      file: join(dir, `${NAME}.meta.json`),
      sequence: 1,
      recordedAt: meta.recordedAt,
      model: 'claude-sonnet-4-6',
      paramsHash: meta.request.paramsHash,
      status: 200,
      requestId: 'req_fake_0001',
      cut: false,
      headersMs: meta.timing.headersMs,
      firstByteMs: meta.timing.firstByteMs,
      endMs: meta.timing.endMs,
      chunks: meta.timing.chunks.length,
      events: meta.timing.events.length,
    });
    expect(withMeta).toMatchObject({ ok: true, stopReason: 'tool_use' });
    expect(Object.keys(bare!).sort()).toEqual(['diagnostics', 'dropped', 'error', 'file', 'invalidToolInputs', 'message', 'ok', 'stopReason']);
  });

  it('a sidecar that is there but unusable is reported, and the stream is still replayed', async () => {
    const copy = await tempDir('replay-badmeta');
    await cp(dir, copy, { recursive: true });
    await writeFile(join(copy, `${NAME}.meta.json`), '{"format": "something else"}');
    const io = captureIO();
    expect(await replayCommand.run([join(copy, `${NAME}.sse`)], io)).toBe(0);
    expect(io.out()).toMatch(/valid, complete .*\n {2}cassette {4}NOT usable: cassette_invalid: .*not a turnstate\.cassette v1 sidecar\n/);
    const json = captureIO();
    await replayCommand.run([join(copy, `${NAME}.sse`), '--json'], json);
    expect(JSON.parse(json.out())).toMatchObject({ ok: true, cassette: { file: join(copy, `${NAME}.meta.json`), error: { code: 'cassette_invalid' } } });
  });

  it('--realtime prints the text as the recorded chunks come: nothing before the recorded time', async () => {
    // Chunk 1: message_start and content_block_start (no text); chunk 2, 400 ms later: the rest.
    const file = await paced([[0, 0], [2, 400]]);
    const { io, writes, out } = timedIO();
    expect(await replayCommand.run([file, '--realtime'], io)).toBe(0);
    const text = 'Let me add those: ünïcödé ✓';
    const summaryAt = writes.findIndex((w) => w.text.includes('valid, complete'));
    const streamed = writes.slice(0, summaryAt);
    expect(streamed.map((w) => w.text).join('')).toBe(`${text}\n`);
    // A timer never fires early; a loaded machine can only make the text later.
    expect(streamed[0]!.at).toBeGreaterThanOrEqual(395);
    expect(out()).toContain(`  cassette    #1`);
  });

  it('--realtime stops at Ctrl-C instead of waiting out the recording', async () => {
    const file = await paced([[0, 0], [2, 120_000]]);
    const stop = new AbortController();
    const { io } = timedIO(stop.signal);
    setTimeout(() => stop.abort(new Error('interrupted')), 200);
    // Resolves within the test's timeout only if the 2-minute wait honours the signal.
    await replayCommand.run([file, '--realtime'], io);
    expect(stop.signal.aborted).toBe(true);
  });

  it('--realtime without a sidecar prints the text at once; with --json or --inspect it is a usage error', async () => {
    const io = captureIO();
    expect(await replayCommand.run(['recordings/end-turn-text.sse', '--realtime'], io)).toBe(0);
    expect(io.out().split('\n')[0]!.length).toBeGreaterThan(0);
    expect(io.out()).toMatch(/^[^\n]+\nrecordings\/end-turn-text\.sse: valid, complete/);
    await expect(replayCommand.run(['recordings/end-turn-text.sse', '--realtime', '--json'], captureIO())).rejects.toThrow(UsageError);
    await expect(replayCommand.run(['recordings/end-turn-text.sse', '--realtime', '--inspect'], captureIO())).rejects.toThrow(/--realtime prints the text as it comes/);
  });
});
