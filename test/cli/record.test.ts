import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { recordCommand } from '../../src/cli/commands/record.js';
import { UsageError } from '../../src/cli/io.js';
import { parseTurn } from '../../src/turn/parse.js';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { expectNowhere, filesIn, KEY, params, tempDir } from '../testing/cassette-support.js';
import { startTurnstate, type Child } from './child.js';
import { captureIO } from './helpers.js';

let api: FakeMessagesApi | null = null;
let child: Child | null = null;
afterEach(async () => {
  if (child?.process.exitCode === null) await child.stop('SIGKILL');
  await api?.close();
  child = null;
  api = null;
});

describe('turnstate record', () => {
  it('prints ANTHROPIC_BASE_URL, records every response through it, and stops on Ctrl-C (exit 130) with the files written', async () => {
    const body = sseFromMessage({ content: [{ type: 'text', text: 'recorded by the CLI' }], stopReason: 'end_turn' });
    api = await startFakeMessagesApi({ replies: [{ body, chunkSize: 9 }] });
    const dir = await tempDir('record-cli');
    child = startTurnstate(['record', '--upstream', api.url, '--out', dir, '--redact', 'by the CLI']);
    const [, url] = await child.waitFor(/^export ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/m);
    const client = new Anthropic({ apiKey: KEY, baseURL: url!, maxRetries: 0 });
    const turn = await parseTurn(await client.beta.messages.create({ ...params('hi, written by the CLI'), stream: true }).asResponse());
    expect(turn.ok && turn.message.content).toEqual([{ type: 'text', text: 'recorded by the CLI' }]);
    await child.waitFor(/^recorded 0001-claude-sonnet-4-6-end_turn\.sse {2}\(HTTP 200, \d+ bytes, end_turn, request id req_fake_0001\)$/m);
    expect(await child.stop('SIGINT')).toBe(130);
    expect(child.out()).toMatch(/stopped; 1 recording in /);
    expect([...(await filesIn(dir)).keys()]).toEqual(['0001-claude-sonnet-4-6-end_turn.meta.json', '0001-claude-sonnet-4-6-end_turn.sse']);
    await expectNowhere(dir, KEY);
    await expectNowhere(dir, 'by the CLI');
  });

  it('SIGTERM right after the URL is printed stops it cleanly (exit 0): the stop is listened for before the URL goes out', async () => {
    child = startTurnstate(['record', '--upstream', 'http://127.0.0.1:9', '--out', await tempDir('record-term')]);
    await child.waitFor(/^export ANTHROPIC_BASE_URL=/m);
    expect(await child.stop('SIGTERM')).toBe(0);
    expect(child.out()).toMatch(/stopped; 0 recordings in /);
  });

  it('usage errors: a bad --redact pattern, a bad port, a stray argument', async () => {
    await expect(recordCommand.run(['--redact', '(unclosed'], captureIO())).rejects.toThrow(/--redact "\(unclosed" is not a regular expression/);
    await expect(recordCommand.run(['--redact', '(unclosed'], captureIO())).rejects.toBeInstanceOf(UsageError);
    await expect(recordCommand.run(['--port', 'http'], captureIO())).rejects.toThrow(/--port must be a port number/);
    await expect(recordCommand.run(['extra'], captureIO())).rejects.toThrow(UsageError);
    await expect(recordCommand.run(['--upstream', 'ftp://x'], captureIO())).rejects.toThrow(/only http: and https:/);
  });
});
