import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cassetteMode, useCassette } from '../../src/testing/cassette-vitest.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { answer, metas, params, tempDir } from './cassette-support.js';

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
