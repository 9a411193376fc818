import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'vitest';
import { runTurn, sdkCreateStream } from '../../src/controller/index.js';
import type { CassetteMeta } from '../../src/testing/cassette.js';
import { startRecordingProxy } from '../../src/testing/record-proxy.js';
import { sseFromMessage, startFakeMessagesApi } from '../../src/testing/index.js';

/** A key shaped like a real one; no file written by a test may contain it. */
export const KEY = 'sk-ant-api03-TESTKEY-never-written-0123456789abcdef';

export const tempDir = (label: string) => mkdtemp(join(tmpdir(), `turnstate-${label}-`));

export const params = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});

/** Every file in a directory, name → bytes. */
export async function filesIn(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as const)));
}

export async function metas(dir: string): Promise<CassetteMeta[]> {
  const files = await filesIn(dir);
  return [...files].filter(([n]) => n.endsWith('.meta.json')).map(([, b]) => JSON.parse(b.toString('utf8')) as CassetteMeta);
}

/** Fails naming the file and offset if any file holds the needle (as UTF-8 or as its JSON-escaped form). */
export async function expectNowhere(dir: string, needle: string): Promise<number> {
  const files = await filesIn(dir);
  for (const [name, bytes] of files) {
    const at = bytes.indexOf(needle);
    if (at !== -1) throw new Error(`${name} contains ${JSON.stringify(needle)} at byte ${at}`);
  }
  return files.size;
}

export const toolTurn = sseFromMessage({
  content: [
    { type: 'text', text: 'Let me add those: ünïcödé ✓' },
    { type: 'tool_use', id: 'toolu_01Serve', name: 'add', input: { a: 2, b: 3 } },
  ],
  stopReason: 'tool_use',
});
export const answer = sseFromMessage({ content: [{ type: 'text', text: 'The sum is 5.' }], stopReason: 'end_turn' });
export const add = { name: 'add', description: 'adds', input_schema: { type: 'object' as const }, run: ({ a, b }: { a: number; b: number }) => String(a + b) };

/** Records one controller run (tool_use, then end_turn) through the proxy, in 9-byte chunks 2 ms apart. */
export async function recordRun(): Promise<{ dir: string; upstreamMessages: unknown[] }> {
  const api = await startFakeMessagesApi({ replies: [{ body: toolTurn, chunkSize: 9, delayMs: 2 }, { body: answer, chunkSize: 9, delayMs: 2 }] });
  const dir = await tempDir('serve');
  const proxy = await startRecordingProxy({ upstream: api.url, dir });
  const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
  const result = await runTurn({ params: { model: 'claude-sonnet-4-6', max_tokens: 64 }, messages: 'What is 2 + 3?', tools: [add], createStream: sdkCreateStream(client), checkpoint: false });
  expect(result.status).toBe('completed');
  await proxy.close();
  await api.close();
  return { dir, upstreamMessages: result.messages };
}

