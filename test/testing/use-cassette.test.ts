import { execFile } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cassetteMode, useCassette } from '../../src/testing/cassette-vitest.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { answer, metas, params, recordRun, tempDir } from './cassette-support.js';

describe('cassetteMode', () => {
  const s = (hasRecordings: boolean, env: NodeJS.ProcessEnv) => ({ hasRecordings, env, name: 'x' });
  it('auto records only when the cassette is missing and a key is set; CI=true only replays', () => {
    expect(cassetteMode('auto', s(true, { ANTHROPIC_API_KEY: 'k' }))).toBe('replay');
    expect(cassetteMode('auto', s(false, { ANTHROPIC_API_KEY: 'k' }))).toBe('record');
    expect(() => cassetteMode('auto', s(false, {}))).toThrow(/no ANTHROPIC_API_KEY/);
    expect(() => cassetteMode('auto', s(false, { CI: 'true', ANTHROPIC_API_KEY: 'k' }))).toThrow(/CI=true only replays/);
    expect(() => cassetteMode('record', s(true, { CI: 'true' }))).toThrow(/CI only replays/);
    expect(cassetteMode('record', s(true, {}))).toBe('record');
    expect(() => cassetteMode('replay', s(false, { ANTHROPIC_API_KEY: 'k' }))).toThrow(/no recordings/);
  });
});

let api: FakeMessagesApi;
let dir: string;
beforeAll(async () => {
  api = await startFakeMessagesApi({ replies: [answer] });
  dir = await tempDir('use-cassette');
});
afterAll(() => api.close());

describe('useCassette: auto records when missing', () => {
  const cassette = useCassette('greeting', () => ({ dir, upstream: api.url, env: { ANTHROPIC_API_KEY: 'k' } }));
  it('records through the proxy', async () => {
    expect(cassette.mode).toBe('record');
    const client = new Anthropic({ apiKey: 'k', baseURL: cassette.url, maxRetries: 0 });
    expect((await client.beta.messages.create({ ...params('hello'), stream: true }).asResponse()).status).toBe(200);
  });
});

describe('useCassette: CI=true replays what was recorded, in lockdown', () => {
  const cassette = useCassette('greeting', () => ({ dir, env: { CI: 'true' } }));
  it('replays without touching the upstream', async () => {
    expect(cassette.mode).toBe('replay');
    const client = new Anthropic({ apiKey: 'k', baseURL: cassette.url, maxRetries: 0 });
    expect(await (await client.beta.messages.create({ ...params('hello'), stream: true }).asResponse()).text()).toBe(answer);
    expect(api.requests).toHaveLength(1);
    expect((await metas(`${dir}/greeting`)).map((m) => m.sequence)).toEqual([1]);
  });
});

describe('useCassette: a request the cassette cannot answer fails the suite', () => {
  it('even when the code under test swallowed the HTTP 400: afterAll throws no_match, naming the closest recording', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const cassettes = await tempDir('use-cassette-mismatch');
    await cp((await recordRun()).dir, join(cassettes, 'run'), { recursive: true });
    const vitest = join(root, 'node_modules/vitest/vitest.mjs');
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(process.execPath, [vitest, 'run', '--config', 'test/testing/fixtures/use-cassette-mismatch.config.ts'], { cwd: root, env: { ...process.env, CASSETTE_DIR: cassettes, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' } }, (error, stdout, stderr) =>
        resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, output: `${stdout}${stderr}` }));
    });
    expect(result.code).toBe(1);
    // The test itself passed; the suite failed in its hook.
    expect(result.output).toMatch(/✓ .*asks for something that was never recorded/);
    expect(result.output).toMatch(/cassette run: 1 request\(s\) had no recording:\n.*closest is 0001-claude-sonnet-4-6-tool_use\.sse: messages\.0\.content\.0\.text: recorded "What is 2 \+ 3\?", requested "never recorded"/);
  }, 120_000);
});
