/**
 * `turnstate replay` on a cassette recording: the `.meta.json` sidecar beside
 * an `.sse` file says which request it answered and when each chunk came, so
 * the report can show it and `--realtime` can re-emit the text at that pace.
 * Imported by replay.ts only; the cassette format is src/testing's.
 */
import { stat } from 'node:fs/promises';
import { loadCassette, META_SUFFIX, type Cassette } from '../../testing/cassette.js';
import { TurnParser } from '../../turn/turn-parser.js';
import type { TurnResult } from '../../turn/types.js';
import { errorCode, errorMessage } from '../errors.js';
import type { CliIO } from '../io.js';

/** The sidecar of a recording: none, loaded, or there but unusable (a replay still runs; the report says why). */
export type Sidecar = { readonly kind: 'none' } | { readonly kind: 'loaded'; readonly cassette: Cassette } | { readonly kind: 'invalid'; readonly file: string; readonly code: string; readonly message: string };

export const sidecarPath = (file: string): string | null => (file.endsWith('.sse') ? `${file.slice(0, -'.sse'.length)}${META_SUFFIX}` : null);

export async function sidecarOf(path: string): Promise<Sidecar> {
  const metaFile = sidecarPath(path);
  if (metaFile === null) return { kind: 'none' };
  // Only a missing sidecar means "not a cassette"; one that is there but unreadable is reported.
  const exists = await stat(metaFile).then(() => true, (error: NodeJS.ErrnoException) => error.code !== 'ENOENT');
  if (!exists) return { kind: 'none' };
  try {
    return { kind: 'loaded', cassette: await loadCassette(metaFile) };
  } catch (error) {
    return { kind: 'invalid', file: metaFile, code: errorCode(error), message: errorMessage(error) };
  }
}

const ms = (n: number | null) => (n === null ? 'none' : `${n.toFixed(1)} ms`);

/** The metadata lines of the human summary (after its first line). */
export function metaLines(sidecar: Sidecar): string[] {
  if (sidecar.kind === 'none') return [];
  if (sidecar.kind === 'invalid') return [`  cassette    NOT usable: ${sidecar.code}: ${sidecar.message}`];
  const { request, response, timing, sequence, recordedAt } = sidecar.cassette.meta;
  return [
    `  cassette    #${sequence}, recorded ${recordedAt}: ${request.method} ${request.path}, model ${request.model ?? 'unknown'}${request.stream ? ', streamed' : ''}`,
    `  response    HTTP ${response.status}, request id ${response.requestId ?? 'none'}, ${response.bytes} bytes${response.cut ? `, cut upstream (${response.cutReason ?? 'no reason'})` : ''}`,
    `  timing      headers ${ms(timing.headersMs)}, first byte ${ms(timing.firstByteMs)}, end ${ms(timing.endMs)}; ${timing.chunks.length} chunks, ${timing.events.length} events`,
    `  params hash ${request.paramsHash}`,
  ];
}

/** The `cassette` member of a `--json` line (present only when a sidecar is beside the file). */
export function metaJson(sidecar: Sidecar): Record<string, unknown> | null {
  if (sidecar.kind === 'none') return null;
  if (sidecar.kind === 'invalid') return { file: sidecar.file, error: { code: sidecar.code, message: sidecar.message } };
  const { request, response, timing, sequence, recordedAt } = sidecar.cassette.meta;
  return {
    file: sidecar.cassette.file,
    sequence,
    recordedAt,
    model: request.model,
    paramsHash: request.paramsHash,
    status: response.status,
    requestId: response.requestId,
    cut: response.cut,
    headersMs: timing.headersMs,
    firstByteMs: timing.firstByteMs,
    endMs: timing.endMs,
    chunks: timing.chunks.length,
    events: timing.events.length,
  };
}

/** Waits `ms`, or less if the command is stopped. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Feeds the recorded chunks to the parser at their recorded times (counted
 * from the response headers, as `turnstate serve --realtime` sends them),
 * printing the text as it is parsed. Times are lower bounds: a loaded machine
 * can only make a chunk later, never earlier.
 */
export async function replayRealtime(cassette: Cassette, io: CliIO, strict: boolean): Promise<TurnResult> {
  const turn = new TurnParser({ strict }).on('text', (delta) => io.stdout(delta));
  const { headersMs } = cassette.meta.timing;
  // A sidecar with no chunk times (an empty body, or edited) is one chunk at the start.
  const chunks = cassette.meta.timing.chunks.length > 0 ? cassette.meta.timing.chunks : [[0, headersMs] as const];
  const start = performance.now();
  for (const [i, [offset, at]] of chunks.entries()) {
    const wait = start + Math.max(0, at - headersMs) - performance.now();
    if (wait > 0) await pause(wait, io.signal);
    if (io.signal?.aborted) break;
    const end = i + 1 < chunks.length ? chunks[i + 1]![0] : cassette.body.length;
    try {
      turn.write(cassette.body.subarray(offset, end));
    } catch {
      break; // the parser keeps the error; end() reports it
    }
  }
  io.stdout('\n');
  return turn.end();
}
