import { resolve } from 'node:path';
import { TestingError } from '../../testing/errors.js';
import { startCassetteServer } from '../../testing/serve.js';
import type { ChaosRule } from '../../testing/chaos.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, UsageError, type Command } from '../io.js';
import { portOption, untilStopped } from './record.js';

const HELP = `Usage: turnstate serve DIR [--port N] [--realtime | --speed X] [--lockdown]
                       [--match params|order] [--ignore FIELD]... [chaos options]

A fake Messages API on 127.0.0.1 answering each request with its recording
from DIR (made by turnstate record): byte-exact, in the recorded chunks.
Prints ANTHROPIC_BASE_URL. Stop with Ctrl-C.

  --match params     by normalised params hash (model, messages, tools,
                     system), the default; order: the Nth request gets the Nth
  --ignore FIELD     leave a dotted path out of the match (repeatable)
  --lockdown         no matching recording is an HTTP 400 naming the closest
                     recording and what differs (else the closest answers)
  --realtime         at the recorded pace; --speed X: that pace × X
Chaos (on every response, or only on response N with --on N):
  --cut-after-event N   --cut-after-byte B      close the socket there
  --stall-at-event N --stall-ms T               pause T ms after event N
  --error-at-event N [--error-type T]           event: error (default overloaded_error)
  --status S [--retry-after SECONDS]            HTTP 429/529/… instead of the body
  --drip BYTES/MS                               BYTES every MS milliseconds
  -h, --help          this text

Exit status: 0 when stopped (SIGTERM) with every request answered; 1 when
any was refused (each refusal is printed again on stderr); 130 on Ctrl-C;
2 for usage errors, before anything listens.`;

const num = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`serve: --${name} must be a number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
};

export const serveCommand: Command = {
  name: 'serve',
  summary: 'replay a cassette directory as a fake Messages API, optionally broken on purpose',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('serve', argv, {
      port: { type: 'string' },
      realtime: { type: 'boolean' },
      speed: { type: 'string' },
      lockdown: { type: 'boolean' },
      match: { type: 'string' },
      ignore: { type: 'string', multiple: true },
      on: { type: 'string' },
      'cut-after-event': { type: 'string' },
      'cut-after-byte': { type: 'string' },
      'stall-at-event': { type: 'string' },
      'stall-ms': { type: 'string' },
      'error-at-event': { type: 'string' },
      'error-type': { type: 'string' },
      status: { type: 'string' },
      'retry-after': { type: 'string' },
      drip: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('serve: name one cassette directory (see `turnstate serve --help`)');
    if (values.realtime && values.speed !== undefined) throw new UsageError('serve: --realtime or --speed, not both');
    if (values.match !== undefined && values.match !== 'params' && values.match !== 'order') throw new UsageError(`serve: --match is params or order, got ${JSON.stringify(values.match)}`);
    const drip = values.drip === undefined ? undefined : /^(\d+)\/(\d+)$/.exec(values.drip);
    if (drip === null) throw new UsageError('serve: --drip is BYTES/MS, e.g. 16/50');
    const rule: Record<string, unknown> = {
      request: num('on', values.on),
      cutAfterEvent: num('cut-after-event', values['cut-after-event']),
      cutAfterByte: num('cut-after-byte', values['cut-after-byte']),
      stallAtEvent: num('stall-at-event', values['stall-at-event']),
      stallMs: num('stall-ms', values['stall-ms']),
      errorAtEvent: num('error-at-event', values['error-at-event']),
      errorType: values['error-type'],
      status: num('status', values.status),
      retryAfter: num('retry-after', values['retry-after']),
      drip: drip ? { bytes: Number(drip[1]), intervalMs: Number(drip[2]) } : undefined,
    };
    for (const key of Object.keys(rule)) if (rule[key] === undefined) delete rule[key];
    const chaos = Object.keys(rule).some((k) => k !== 'request') ? [rule as ChaosRule] : [];
    if (values.on !== undefined && chaos.length === 0) throw new UsageError('serve: --on N says which response a chaos option breaks; give one (see `turnstate serve --help`)');
    const dir = resolve(io.cwd, positionals[0]!);
    const speed = num('speed', values.speed);
    const ignore = (values as unknown as { ignore?: string[] }).ignore;
    const port = portOption('serve', values.port);
    let server;
    try {
      server = await startCassetteServer({
        dir,
        chaos,
        lockdown: values.lockdown ?? false,
        realtime: values.realtime ?? false,
        ...(speed === undefined ? {} : { speed }),
        ...(values.match === undefined ? {} : { match: values.match as 'params' | 'order' }),
        ...(ignore === undefined ? {} : { ignore }),
        ...(port === undefined ? {} : { port }),
        onWarning: (message) => io.stderr(`${message}\n`),
      });
    } catch (error) {
      if (error instanceof TestingError && (error.code === 'invalid_option' || error.code === 'no_cassette')) throw new UsageError(`serve: ${error.message}`);
      throw error;
    }
    // Listening for the stop before printing the URL: a caller that reads it and signals at once must not kill the process.
    const stopped = untilStopped(io);
    io.stdout(`turnstate serve: ${server.cassettes.length} recordings from ${dir}${values.lockdown ? ', lockdown' : ''}\nexport ANTHROPIC_BASE_URL=${server.url}\n`);
    await stopped;
    await server.close();
    for (const m of server.mismatches) io.stderr(`${m}\n`);
    io.stdout(`turnstate serve: stopped; ${server.served.length} served, ${server.mismatches.length} refused\n`);
    return server.mismatches.length > 0 ? EXIT.failed : EXIT.ok;
  },
};
