import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ControllerEvent } from '../controller/events.js';
import type { RunResult } from '../controller/types.js';
import type { CliIO } from './io.js';
import type { InspectionEvent } from 'xstate';

/** Writes a trace page; a file that cannot be written is one line on stderr, never a stack. */
export async function writeTracePage(io: CliIO, file: string, html: string): Promise<boolean> {
  try {
    await writeFile(resolve(io.cwd, file), html);
    return true;
  } catch (error) {
    io.stderr(`turnstate: cannot write the trace to ${file} (${(error as NodeJS.ErrnoException).code ?? 'EIO'})\n`);
    return false;
  }
}

/** The trace page of one recording (`replay FILE --html OUT`). */
export async function streamTracePage(bytes: Uint8Array, title: string, strict: boolean): Promise<string> {
  // Loaded only when a page is asked for: the trace page pulls in Graphviz (WebAssembly).
  const { traceTurn, renderTraceHtml } = await import('../trace/index.js');
  return renderTraceHtml(traceTurn([bytes], { title, strict }).trace);
}

/**
 * `--trace OUT` for controller commands: options to merge into the run (its
 * `inspect` and an `onEvent` that also feeds the printer), and `write` once
 * the run has settled.
 */
export async function runTraceFor(out: string | undefined, title: string, onEvent?: (event: ControllerEvent) => void) {
  if (out === undefined) return { options: onEvent === undefined ? {} : { onEvent }, write: async (_io: CliIO, _result: RunResult | null) => true };
  const { createRunTraceRecorder, renderTraceHtml } = await import('../trace/index.js');
  const recorder = createRunTraceRecorder({ title });
  return {
    options: {
      inspect: (event: InspectionEvent) => recorder.inspect(event),
      onEvent: (event: ControllerEvent) => {
        recorder.onEvent(event);
        onEvent?.(event);
      },
    },
    write: async (io: CliIO, result: RunResult | null) => writeTracePage(io, out, await renderTraceHtml(recorder.finish(result))),
  };
}
