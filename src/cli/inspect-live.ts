import type { InspectionEvent } from 'xstate';
import type { ControllerEvent } from '../controller/events.js';
import type { RunResult } from '../controller/types.js';
import { UsageError, type CliIO } from './io.js';
import type { InspectServer } from '../inspect/server.js';

/**
 * `--inspect`: starts the live inspection server (loaded only then) and
 * prints where to look. The first lines a user sees are the URLs.
 */
export async function startLiveInspection(io: CliIO, kind: 'stream' | 'run', title: string, portFlag: string | undefined): Promise<InspectServer> {
  const [{ startInspectServer }, { emptyStreamTrace }, { createRunTraceRecorder }] = await Promise.all([
    import('../inspect/server.js'),
    import('../trace/stream.js'),
    import('../trace/run.js'),
  ]);
  const trace = kind === 'stream' ? emptyStreamTrace(title) : { ...createRunTraceRecorder({ title }).finish(null), verdict: 'running' };
  const port = portFlag === undefined ? 0 : Number(portFlag);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--inspect-port must be a port number (0 for any free one), got ${JSON.stringify(portFlag)}`);
  const server = await startInspectServer({ trace, port });
  io.stderr(`turnstate: live trace at ${server.url}\n`);
  io.stderr(`turnstate: Stately inspector (needs internet) at ${server.statelyUrl}; inspection events on ${server.wsUrl}\n`);
  return server;
}

/**
 * After the work: keep serving until the command is asked to stop (Ctrl-C,
 * SIGTERM or a closed stdout — the CLI's stop signal), so a browser can still
 * attach and read it.
 */
export async function serveUntilInterrupted(io: CliIO, server: InspectServer): Promise<void> {
  const signal = io.signal;
  if (signal === undefined || !signal.aborted) {
    io.stderr('turnstate: still serving the inspection; Ctrl-C to stop\n');
    await new Promise<void>((resolve) => {
      if (signal !== undefined) {
        signal.addEventListener('abort', () => resolve(), { once: true });
        return;
      }
      // In-process use without the CLI's stop signal (tests): the process's own signals.
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  }
  await server.close();
}

/** `replay FILE --inspect`: the recording through the machine, every event an actor step, published live. */
export async function replayLive(server: InspectServer, bytes: Uint8Array, title: string, strict: boolean) {
  const { createStreamTraceRecorder, traceTurn } = await import('../trace/stream.js');
  const recorder = createStreamTraceRecorder({ title });
  recorder.onStep = (step) => server.publishStep(step);
  const { trace, result } = traceTurn([bytes], { strict, recorder, inspect: server.inspect });
  server.publishTrace(trace);
  return result;
}

/** What a controller command passes to the run to be observed: XState inspection and controller events. */
export interface RunObserver {
  readonly inspect?: (event: InspectionEvent) => void;
  readonly onEvent?: (event: ControllerEvent) => void;
}

/** Several observers as one set of run options (each called in turn). */
export function observers(...list: (RunObserver | null | undefined)[]): RunObserver {
  const present = list.filter((o): o is RunObserver => o != null);
  const inspects = present.flatMap((o) => (o.inspect ? [o.inspect] : []));
  const onEvents = present.flatMap((o) => (o.onEvent ? [o.onEvent] : []));
  return {
    ...(inspects.length === 0 ? {} : { inspect: (event: InspectionEvent) => inspects.forEach((f) => f(event)) }),
    ...(onEvents.length === 0 ? {} : { onEvent: (event: ControllerEvent) => onEvents.forEach((f) => f(event)) }),
  };
}

/** `--inspect` on a controller command: the run's steps and events, published live; `settle` once it has settled. */
export async function liveRun(io: CliIO, title: string, portFlag: string | undefined) {
  const server = await startLiveInspection(io, 'run', title, portFlag);
  const { createRunTraceRecorder } = await import('../trace/run.js');
  const recorder = createRunTraceRecorder({ title });
  recorder.onStep = (step) => server.publishStep(step);
  const observer: RunObserver = {
    inspect: (event) => {
      recorder.inspect(event);
      server.inspect(event);
    },
    onEvent: (event) => recorder.onEvent(event),
  };
  return {
    observer,
    async settle(result: RunResult | null) {
      server.publishTrace(recorder.finish(result));
      await serveUntilInterrupted(io, server);
    },
  };
}
