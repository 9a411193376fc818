import { resolve } from 'node:path';
import { TestingError } from '../../testing/errors.js';
import { DEFAULT_UPSTREAM, startRecordingProxy } from '../../testing/record-proxy.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, UsageError, type CliIO, type Command } from '../io.js';

const HELP = `Usage: turnstate record [--upstream URL] [--out DIR] [--port N] [--redact PATTERN]...

A loopback recording proxy. Point the SDK at it with the ANTHROPIC_BASE_URL
line it prints; every request goes on to the upstream, every response comes
back as it arrives (nothing is buffered), and each one is written to DIR:
NNNN-<model>-<stop reason>.sse (the body, byte for byte) and .meta.json
(request, status, request id, timing). Stop with Ctrl-C (exit 130, like
every interrupted turnstate command) or SIGTERM; recordings in progress are
written first.

  --upstream URL    where requests go (default ${DEFAULT_UPSTREAM})
  --out DIR         where recordings go (default ./cassettes)
  --port N          listen on this port (default: any free one)
  --redact PATTERN  a regular expression scrubbed from bodies and metadata
                    before writing (repeatable); API keys are never written
  -h, --help        this text`;

/**
 * Resolves when the command should stop: the CLI's stop signal (Ctrl-C, a
 * closed stdout) or SIGTERM; without a stop signal (embedded), SIGINT too.
 */
export function untilStopped(io: CliIO): Promise<void> {
  return new Promise((resolvePromise) => {
    const signals: NodeJS.Signals[] = io.signal ? ['SIGTERM'] : ['SIGINT', 'SIGTERM'];
    const done = () => {
      for (const s of signals) process.off(s, done);
      io.signal?.removeEventListener('abort', done);
      resolvePromise();
    };
    for (const s of signals) process.on(s, done);
    if (io.signal?.aborted) return done();
    io.signal?.addEventListener('abort', done, { once: true });
  });
}

export function portOption(command: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > 65535) throw new UsageError(`${command}: --port must be a port number (0-65535), got ${JSON.stringify(value)}`);
  return n;
}

export const recordCommand: Command = {
  name: 'record',
  summary: 'a loopback proxy that records every response byte-exact into a cassette directory',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('record', argv, {
      upstream: { type: 'string' },
      out: { type: 'string' },
      port: { type: 'string' },
      redact: { type: 'string', multiple: true },
    });
    if (positionals.length > 0) throw new UsageError(`record: unexpected argument ${JSON.stringify(positionals[0])} (see \`turnstate record --help\`)`);
    const dir = resolve(io.cwd, values.out ?? 'cassettes');
    const redact = (values as unknown as { redact?: string[] }).redact ?? [];
    const port = portOption('record', values.port);
    let count = 0;
    let proxy;
    try {
      proxy = await startRecordingProxy({
        dir,
        redact,
        ...(values.upstream === undefined ? {} : { upstream: values.upstream }),
        ...(port === undefined ? {} : { port }),
        onRecorded: (meta) => {
          count += 1;
          const r = meta.response;
          io.stdout(`recorded ${r.body}  (HTTP ${r.status}, ${r.bytes} bytes, ${r.stopReason ?? r.errorType ?? (r.cut ? 'cut' : 'no stop reason')}, request id ${r.requestId ?? 'none'})\n`);
        },
        onError: (error) => io.stderr(`turnstate record: ${error.message}\n`),
      });
    } catch (error) {
      if (error instanceof TestingError && error.code === 'invalid_option') throw new UsageError(`record: ${error.message}`);
      throw error;
    }
    // Listening for the stop before printing the URL: a caller that reads it and signals at once must not kill the process.
    const stopped = untilStopped(io);
    io.stdout(`turnstate record: forwarding to ${values.upstream ?? DEFAULT_UPSTREAM}, writing to ${dir}\nexport ANTHROPIC_BASE_URL=${proxy.url}\n`);
    await stopped;
    await proxy.close();
    io.stdout(`turnstate record: stopped; ${count} recording${count === 1 ? '' : 's'} in ${dir}\n`);
    return EXIT.ok;
  },
};
