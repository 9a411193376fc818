/**
 * `turnstate serve` as a real process: a directory recorded through the
 * proxy is served back to the real SDK client; Ctrl-C and SIGTERM end it
 * with the documented exit codes; chaos flags reach the wire; bad flags are
 * usage errors before anything listens.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveCommand } from '../../src/cli/commands/serve.js';
import { main } from '../../src/cli/main.js';
import { UsageError } from '../../src/cli/io.js';
import { streamMessage } from '../../src/turn/stream-message.js';
import { parseTurn } from '../../src/turn/parse.js';
import { loadCassetteDir } from '../../src/testing/cassette.js';
import { params, recordRun, tempDir, toolTurn } from '../testing/cassette-support.js';
import { startTurnstate, type Child } from './child.js';
import { captureIO } from './helpers.js';

let child: Child | null = null;
afterEach(async () => {
  if (child?.process.exitCode === null && child.process.signalCode === null) await child.stop('SIGKILL');
  child = null;
});

let dir: string;
let first: Anthropic.Beta.MessageCreateParamsStreaming;
beforeAll(async () => {
  ({ dir } = await recordRun());
  first = (await loadCassetteDir(dir))[0]!.meta.request.params as Anthropic.Beta.MessageCreateParamsStreaming;
});

async function started(args: string[]): Promise<{ child: Child; client: Anthropic }> {
  child = startTurnstate(['serve', dir, ...args]);
  const [, url] = await child.waitFor(/^export ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/m);
  return { child, client: new Anthropic({ apiKey: 'replay-needs-no-key', baseURL: url!, maxRetries: 0 }) };
}

describe('turnstate serve (a real process)', () => {
  it('serves the recording to the real SDK client through streamMessage; lockdown refuses the unknown; SIGTERM ends it, exit 1 for the refusal', async () => {
    const { child, client } = await started(['--lockdown']);
    expect(child.out()).toMatch(/^turnstate serve: 2 recordings from .*, lockdown$/m);
    const { stream: _stream, ...request } = first;
    const message = await streamMessage(client.beta, request).finalMessage();
    const recorded = await parseTurn(toolTurn);
    expect(message).toMatchObject(recorded.message!);
    const refused = await client.beta.messages.create({ ...params('not recorded'), stream: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    const why = ((refused as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { message: string } }).error.message;
    expect(why).toMatch(/lockdown.*closest is 0001-claude-sonnet-4-6-tool_use\.sse: messages\.0\.content\.0\.text: recorded "What is 2 \+ 3\?", requested "not recorded"/);
    expect(await child.stop('SIGTERM')).toBe(1);
    expect(child.out()).toMatch(/stopped; 1 served, 1 refused/);
    // The refusal is repeated on stderr at the end, so a CI log shows it even if the test swallowed the HTTP error.
    expect(child.err()).toMatch(/closest is 0001-claude-sonnet-4-6-tool_use\.sse/);
  });

  it('Ctrl-C ends it with exit 130; SIGTERM with nothing refused is exit 0', async () => {
    const a = await started([]);
    expect(await a.child.stop('SIGINT')).toBe(130);
    expect(a.child.out()).toMatch(/stopped; 0 served, 0 refused/);
    const b = await started([]);
    expect(await b.child.stop('SIGTERM')).toBe(0);
  });

  it('chaos flags reach the wire: --cut-after-event 3 --on 1 cuts only the first response', async () => {
    const { child, client } = await started(['--cut-after-event', '3', '--on', '1']);
    const cut = await parseTurn(await client.beta.messages.create(first).asResponse());
    expect(cut.error?.code).toBe('source_failed');
    expect(cut.eventCount).toBe(3);
    const whole = await parseTurn(await client.beta.messages.create(first).asResponse());
    expect(whole.ok && whole.stopReason).toBe('tool_use');
    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('a bad flag is exit 2 with one line on stderr, before anything listens', async () => {
    child = startTurnstate(['serve', dir, '--speed', 'fast']);
    expect(await child.exited).toBe(2);
    expect(child.err()).toBe('turnstate: serve: --speed must be a number ≥ 0, got "fast"\n');
    expect(child.out()).toBe('');
    const help = captureIO();
    expect(await main(['serve', '--help'], help)).toBe(0);
    expect(help.out()).toMatch(/Exit status: 0 when stopped \(SIGTERM\) with every request answered; 1 when\nany was refused/);
  });
});

describe('turnstate serve: usage errors', () => {
  const usage = async (args: string[], message: RegExp) => {
    const error = await serveCommand.run(args, captureIO()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  };

  it('names what is wrong with each flag', async () => {
    await usage([], /name one cassette directory/);
    await usage([dir, dir], /name one cassette directory/);
    await usage([dir, '--realtime', '--speed', '2'], /--realtime or --speed, not both/);
    await usage([dir, '--speed', '0'], /speed must be a number > 0, got 0/);
    await usage([dir, '--match', 'random'], /--match is params or order/);
    await usage([dir, '--drip', '16'], /--drip is BYTES\/MS/);
    await usage([dir, '--port', '70000'], /--port must be a port number/);
    await usage([dir, '--stall-at-event', '2'], /stallAtEvent and stallMs go together/);
    await usage([dir, '--cut-after-event', '1.5'], /cutAfterEvent must be a whole number/);
    await usage([dir, '--cut-after-event', '2', '--cut-after-byte', '9'], /not both/);
    await usage([dir, '--status', '200'], /HTTP error status/);
    await usage([dir, '--on', '0', '--status', '529'], /1-based response number/);
    // Modifiers without what they modify would break nothing while the test believes otherwise.
    await usage([dir, '--on', '2'], /--on N says which response a chaos option breaks/);
    await usage([dir, '--error-type', 'api_error'], /errorType goes with errorAtEvent/);
    await usage([dir, '--retry-after', '3'], /retryAfter goes with status/);
    await usage([dir, '--bogus'], /bogus/);
  });

  it('a directory with no recordings is a usage error naming it; an edited recording is cassette_invalid naming the file', async () => {
    const empty = await tempDir('serve-empty');
    await usage([empty], /no recordings to serve in .*serve-empty/);
    const edited = await tempDir('serve-edited');
    await cp(dir, edited, { recursive: true });
    const body = join(edited, '0002-claude-sonnet-4-6-end_turn.sse');
    await writeFile(body, `${await readFile(body, 'utf8')}: edited\n\n`);
    const error = await serveCommand.run([edited], captureIO()).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TestingError', code: 'cassette_invalid', file: join(edited, '0002-claude-sonnet-4-6-end_turn.meta.json') });
    expect((error as Error).message).toMatch(/does not match the recorded sha256/);
  });
});
