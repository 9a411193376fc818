import { open, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BetaContentBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { parseTurn } from '../../turn/parse.js';
import type { TurnResult } from '../../turn/types.js';
import { parseCommandArgs } from '../args.js';
import { streamTracePage, writeTracePage } from '../trace-file.js';
import { replayLive, serveUntilInterrupted, startLiveInspection } from '../inspect-live.js';
import { CliError, errorMessage, UsageError } from '../errors.js';
import { EXIT, type CliIO, type Command } from '../io.js';
import { jsonLine, preview } from '../json.js';
import { jsonLinePieces } from '../json-stream.js';
import { metaJson, metaLines, replayRealtime, sidecarOf, type Sidecar } from './replay-cassette.js';

const HELP = `Usage: turnstate replay <file|->... [--json] [--strict] [--realtime] [--html OUT.html] [--inspect [--inspect-port N]]

Replays recorded Messages API streams (.sse files: the raw response body)
through turnstate's parser and machine, and reports on each. A recording
made by turnstate record has a .meta.json beside it: its request (model,
params hash), response (status, request id) and timing are shown too.

  <file|->   a recording; - reads standard input
  --json     one JSON object per input, one per line, in input order:
             {"file","ok","stopReason","message","dropped","invalidToolInputs","diagnostics","error"}
             (plus "cassette" when a .meta.json is beside the file)
  --strict   unknown event and delta types (and a block index repeated after
             a server tool result) are errors, not diagnostics
  --realtime print the text as it is parsed, the recorded chunks fed at
             their recorded times (from the .meta.json; at once without one)
  --html OUT write a self-contained trace page (one input): the machine's
             diagram with the states and transitions the stream took, a
             timeline to step through, the message, the dropped blocks, and
             for a broken stream the event where it failed
  --inspect  serve the replay live on 127.0.0.1 (one input): turnstate's
             live trace page, and the inspection events for the Stately
             inspector (WebSocket); URLs on stderr; Ctrl-C to stop (exit 130)
  --inspect-port N   the port for --inspect (default: a free one)
  -h, --help this text

A file that cannot be read is reported in its own line (error code
file_unreadable, with errno: ENOENT, EACCES, EISDIR…) and the others are
still replayed; so is a message too deeply nested to write as JSON
(output_unserializable).

Exit status: 0 when every input is a valid, complete stream; 1 when any is
not (or could not be read); 2 for usage errors (unknown flag, no input),
before any input is read.`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay recorded streams and report state trace, blocks, stop reason, usage, errors',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('replay', argv, {
      json: { type: 'boolean' },
      strict: { type: 'boolean' },
      html: { type: 'string' },
      inspect: { type: 'boolean' },
      'inspect-port': { type: 'string' },
      realtime: { type: 'boolean' },
    });
    if (values.realtime && (values.json || values.inspect)) throw new UsageError(`replay: --realtime prints the text as it comes, which --${values.json ? 'json' : 'inspect'} output cannot carry`);
    if (values.inspect && (positionals.length !== 1 || positionals[0] === '-')) throw new UsageError('replay: --inspect takes exactly one recording file');
    if (values.html !== undefined && (positionals.length !== 1 || positionals[0] === '-')) throw new UsageError('replay: --html takes exactly one recording file');
    if (positionals.length === 0) throw new UsageError('replay: name at least one recording, or - for standard input (see `turnstate replay --help`)');
    if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('replay: standard input (-) can be read only once');
    if (values.inspect) {
      const file = positionals[0]!;
      const server = await startLiveInspection(io, 'stream', file, values['inspect-port']);
      const result = await replayLive(server, await readFile(resolve(io.cwd, file)), file, values.strict ?? false);
      io.stdout(values.json ? jsonLine(toJson(file, result)) : summary(file, result));
      await serveUntilInterrupted(io, server);
      return result.ok ? EXIT.ok : EXIT.failed;
    }
    let allOk = true;
    for (const file of positionals) {
      if (io.signal?.aborted) break;
      const outcome = await replayOne(file, io, values.strict ?? false, values.json ?? false, values.realtime ?? false);
      allOk &&= outcome.ok;
      if (typeof outcome.output === 'string') io.stdout(outcome.output);
      else for (const piece of outcome.output) if (!io.signal?.aborted) io.stdout(piece);
    }
    if (values.html !== undefined && !io.signal?.aborted) {
      const file = positionals[0]!;
      const bytes = await readFile(resolve(io.cwd, file)).catch(() => null);
      if (bytes === null) return EXIT.failed; // already reported as file_unreadable in its line
      const page = await streamTracePage(bytes, file, values.strict ?? false);
      if (!(await writeTracePage(io, values.html, page))) return EXIT.failed;
    }
    return allOk ? EXIT.ok : EXIT.failed;
  },
};

interface Outcome {
  /** False when the input is not a valid, complete stream — or its report could not be written in full. */
  readonly ok: boolean;
  /** The --json line (in pieces: a message's long text is never one string), or the human summary. */
  readonly output: string | Iterable<string>;
}

async function replayOne(file: string, io: CliIO, strict: boolean, json: boolean, realtime: boolean): Promise<Outcome> {
  let source: NodeJS.ReadableStream;
  let sidecar: Sidecar = { kind: 'none' };
  if (file === '-') source = io.stdin;
  else {
    const path = resolve(io.cwd, file);
    const opened = await openFile(file, path);
    if (opened instanceof CliError) return unreadable(file, opened, json);
    source = opened;
    sidecar = await sidecarOf(path);
  }
  let result: TurnResult;
  if (realtime && sidecar.kind === 'loaded') {
    (source as NodeJS.ReadableStream & { destroy(): void }).destroy();
    result = await replayRealtime(sidecar.cassette, io, strict);
  } else if (realtime) {
    // No recorded pace to keep: the text as fast as it parses.
    result = await parseTurn(source, { strict, on: { text: (delta) => io.stdout(delta) }, ...(io.signal ? { signal: io.signal } : {}) });
    io.stdout('\n');
  } else {
    result = await parseTurn(source, { strict, ...(io.signal ? { signal: io.signal } : {}) });
  }
  let ok = result.ok;
  if (json) {
    const cassette = metaJson(sidecar);
    const line = jsonLinePieces({ ...toJson(file, result), ...(cassette === null ? {} : { cassette }) }, (kept) => {
      ok = false;
      kept['ok'] = false;
    });
    return { ok, output: line };
  }
  try {
    return { ok, output: summary(file, result, metaLines(sidecar)) };
  } catch (error) {
    return { ok: false, output: `${file}: cannot be summarised: output_unserializable: ${errorMessage(error)}\n` };
  }
}

/** Opens a recording for reading, or says in a typed error why it cannot be. */
async function openFile(file: string, path: string): Promise<NodeJS.ReadableStream | CliError> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return fileError(file, error);
  }
  try {
    const info = await handle.stat();
    // A directory opens fine on Linux and fails only at the first read; say so up front.
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (error) {
    await handle.close().catch(() => {});
    return fileError(file, error);
  }
  return handle.createReadStream({ highWaterMark: READ_CHUNK });
}

/**
 * 64 KiB reads. 1 MiB reads (50 turns of the event loop for a 50 MB
 * recording, not 800) made the whole replay slower, not faster: each chunk
 * decodes to a 1–2 MB string that eventsource-parser, the delta shortcut and
 * the assembler then walk out of cache. Measured side by side (issue 12), the
 * ~52 MB text replay took ~0.8× the time with 64 KiB reads, the ~37 MB
 * tool-input replay ~0.65×.
 */
export const READ_CHUNK = 1 << 16;

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
};

function fileError(file: string, error: unknown): CliError {
  const errno = (error as { code?: unknown } | null)?.code;
  const code = typeof errno === 'string' ? errno : undefined;
  const reason = (code && REASONS[code]) ?? errorMessage(error);
  return new CliError('file_unreadable', `cannot read ${file}: ${reason}`, { errno: code, input: file, cause: error });
}

function unreadable(file: string, error: CliError, json: boolean): Outcome {
  if (json) return { ok: false, output: jsonLine({ file, ok: false, stopReason: null, message: null, dropped: [], invalidToolInputs: [], diagnostics: [], error: error.toJSON() }) };
  return { ok: false, output: `${file}: NOT readable\n  error       ${error.code}${error.errno ? ` (${error.errno})` : ''}: ${error.message}\n` };
}

/** The `--json` line for one input. */
export function toJson(file: string, result: TurnResult) {
  return {
    file,
    ok: result.ok,
    stopReason: result.stopReason,
    message: result.message,
    dropped: result.dropped,
    invalidToolInputs: result.invalidToolInputs,
    diagnostics: result.diagnostics,
    error: result.error === null ? null : result.error.toJSON(),
  };
}

function summary(file: string, result: TurnResult, meta: readonly string[] = []): string {
  const lines = [`${file}: ${result.ok ? 'valid, complete' : 'NOT valid'} (${result.eventCount} events)`, ...meta];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(12)}${value}`);
  row('trace', result.trace.join(' → '));
  const blocks = result.message?.content ?? [];
  row('blocks', blocks.length === 0 ? 'none' : '');
  blocks.forEach((block, i) => lines.push(`    [${i}] ${describeBlock(block)}`));
  row('stop reason', result.stopReason ?? 'unknown (no message_delta)');
  const usage = result.message?.usage;
  if (usage) {
    row('usage', `input ${usage.input_tokens}, output ${usage.output_tokens}, cache write ${usage.cache_creation_input_tokens ?? 0}, cache read ${usage.cache_read_input_tokens ?? 0}`);
  }
  row('dropped', result.dropped.length === 0 ? 'none' : '');
  for (const d of result.dropped) lines.push(`    [${d.index}] ${d.type}: ${d.reason}; partial ${preview(d.partial, 70)}`);
  if (result.invalidToolInputs.length > 0) row('bad input', '');
  for (const t of result.invalidToolInputs) lines.push(`    [${t.index}] ${t.name} ${t.id}: ${t.reason}; raw ${preview(t.partial, 70)}`);
  row('diagnostics', result.diagnostics.length === 0 ? 'none' : '');
  for (const d of result.diagnostics) lines.push(`    event ${d.eventIndex}: ${d.code}: ${d.message}`);
  const e = result.error;
  row('error', e === null ? 'none' : `${e.code} at event ${e.eventIndex}${e.byteOffset === null ? '' : `, byte ${e.byteOffset}`}: ${e.message}`);
  return `${lines.join('\n')}\n`;
}

function describeBlock(block: BetaContentBlock): string {
  switch (block.type) {
    case 'text':
      return `text ${preview(block.text, 70)}${block.citations?.length ? ` (${block.citations.length} citations)` : ''}`;
    case 'thinking':
      return `thinking ${preview(block.thinking, 70)}${block.signature ? ' (signed)' : ''}`;
    case 'tool_use':
    case 'server_tool_use':
    case 'mcp_tool_use':
      return `${block.type} ${block.name} ${preview(block.input, 70)}`;
    default:
      return block.type;
  }
}
