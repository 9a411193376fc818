import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BetaContentBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { parseTurn } from '../../turn/parse.js';
import type { TurnResult } from '../../turn/types.js';
import { parseCommandArgs } from '../args.js';
import { streamTracePage, writeTracePage } from '../trace-file.js';
import { replayLive, serveUntilInterrupted, startLiveInspection } from '../inspect-live.js';
import { EXIT, UsageError, type Command } from '../io.js';

const HELP = `Usage: turnstate replay <file|->... [--json] [--strict] [--html OUT.html] [--inspect [--inspect-port N]]

Replays recorded Messages API streams (.sse files: the raw response body)
through turnstate's parser and machine, and reports on each.

  <file|->   a recording; - reads standard input
  --json     one JSON object per input, one per line, in input order:
             {"file","ok","stopReason","message","dropped","diagnostics","error"}
  --strict   unknown event and delta types (and a block index repeated after
             a server tool result) are errors, not diagnostics
  --html OUT write a self-contained trace page (one input): the machine's
             diagram with the states and transitions the stream took, a
             timeline to step through, the message, the dropped blocks, and
             for a broken stream the event where it failed
  --inspect  serve the replay live on 127.0.0.1 (one input): turnstate's
             live trace page, and the inspection events for the Stately
             inspector (WebSocket); URLs on stderr; Ctrl-C to stop
  --inspect-port N   the port for --inspect (default: a free one)
  -h, --help this text

Exit status: 0 when every input is a valid, complete stream; 1 when any is
not; 2 for usage errors (unknown flag, missing file).`;

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
    });
    if (values.inspect && (positionals.length !== 1 || positionals[0] === '-')) throw new UsageError('replay: --inspect takes exactly one recording file');
    if (values.html !== undefined && (positionals.length !== 1 || positionals[0] === '-')) throw new UsageError('replay: --html takes exactly one recording file');
    if (positionals.length === 0) throw new UsageError('replay: name at least one recording, or - for standard input (see `turnstate replay --help`)');
    if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('replay: standard input (-) can be read only once');
    for (const file of positionals) {
      if (file === '-') continue;
      const info = await stat(resolve(io.cwd, file)).catch(() => null);
      if (info === null) throw new UsageError(`replay: no such file: ${file}`);
      if (!info.isFile()) throw new UsageError(`replay: not a file: ${file}`);
    }
    if (values.inspect) {
      const file = positionals[0]!;
      const server = await startLiveInspection(io, 'stream', file, values['inspect-port']);
      const result = await replayLive(server, await readFile(resolve(io.cwd, file)), file, values.strict ?? false);
      io.stdout(values.json ? `${JSON.stringify(toJson(file, result))}\n` : summary(file, result));
      await serveUntilInterrupted(io, server);
      return result.ok ? EXIT.ok : EXIT.failed;
    }
    let allOk = true;
    for (const file of positionals) {
      const source = file === '-' ? io.stdin : createReadStream(resolve(io.cwd, file));
      const result = await parseTurn(source, { strict: values.strict ?? false });
      allOk &&= result.ok;
      io.stdout(values.json ? `${JSON.stringify(toJson(file, result))}\n` : summary(file, result));
    }
    if (values.html !== undefined) {
      const file = positionals[0]!;
      const page = await streamTracePage(await readFile(resolve(io.cwd, file)), file, values.strict ?? false);
      if (!(await writeTracePage(io, values.html, page))) return EXIT.failed;
    }
    return allOk ? EXIT.ok : EXIT.failed;
  },
};

/** The `--json` line for one input. */
export function toJson(file: string, result: TurnResult) {
  return {
    file,
    ok: result.ok,
    stopReason: result.stopReason,
    message: result.message,
    dropped: result.dropped,
    diagnostics: result.diagnostics,
    error: result.error === null ? null : result.error.toJSON(),
  };
}

function summary(file: string, result: TurnResult): string {
  const lines = [`${file}: ${result.ok ? 'valid, complete' : 'NOT valid'} (${result.eventCount} events)`];
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
  for (const d of result.dropped) lines.push(`    [${d.index}] ${d.type}: ${d.reason}; partial ${clip(JSON.stringify(d.partial))}`);
  row('diagnostics', result.diagnostics.length === 0 ? 'none' : '');
  for (const d of result.diagnostics) lines.push(`    event ${d.eventIndex}: ${d.code}: ${d.message}`);
  const e = result.error;
  row('error', e === null ? 'none' : `${e.code} at event ${e.eventIndex}${e.byteOffset === null ? '' : `, byte ${e.byteOffset}`}: ${e.message}`);
  return `${lines.join('\n')}\n`;
}

function describeBlock(block: BetaContentBlock): string {
  switch (block.type) {
    case 'text':
      return `text ${clip(JSON.stringify(block.text))}${block.citations?.length ? ` (${block.citations.length} citations)` : ''}`;
    case 'thinking':
      return `thinking ${clip(JSON.stringify(block.thinking))}${block.signature ? ' (signed)' : ''}`;
    case 'tool_use':
    case 'server_tool_use':
    case 'mcp_tool_use':
      return `${block.type} ${block.name} ${clip(JSON.stringify(block.input))}`;
    default:
      return block.type;
  }
}

function clip(text: string, max = 70): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
