/**
 * The SDK oracle against the real-stream corpus (skipped when the corpus is not
 * next to the repository; see corpus.ts).
 *
 * - The beta accumulator returns a message for every valid corpus file, and
 *   rejects the one invalid file (34, a tail fragment ending in `event: error`).
 * - The stable accumulator is not a usable reference: it loses the
 *   `mcp_tool_use` input of 27 and the `compaction` content of 29.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APIError } from '@anthropic-ai/sdk';
import { expect, it } from 'vitest';
import { corpusDir, corpusFiles, corpusPath, describeCorpus, repoRoot } from './corpus.js';
import { sdkFinalMessage, sdkStableFinalMessage } from './sdk-oracle.js';

/** INDEX.md: "Every file except 34 is a valid, complete stream." */
const INVALID = new Set(['34-error-event-mid-stream-FRAGMENT.sse']);
const MCP = '27-mcp-tool-use-result-with-thinking.sse';
const COMPACTION = '29-compaction-delta.sse';

const files = corpusFiles();
const valid = files.filter((f) => !INVALID.has(f.name));
const byName = (name: string) => {
  const f = files.find((x) => x.name === name);
  if (!f) throw new Error(`${name} not in corpus`);
  return f;
};

/** Concatenated `input_json_delta.partial_json` of one block, from the raw bytes. */
function streamedJson(bytes: Buffer, index: number): string {
  let json = '';
  for (const line of bytes.toString('utf8').split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const p = JSON.parse(line.slice(6)) as { type: string; index?: number; delta?: { type: string; partial_json?: string } };
    if (p.type === 'content_block_delta' && p.index === index && p.delta?.type === 'input_json_delta') json += p.delta.partial_json;
  }
  return json;
}

it('corpus.ts locates the corpus next to the repository root', () => {
  expect(existsSync(join(repoRoot, 'package.json'))).toBe(true);
  expect(corpusPath).toBe(join(repoRoot, '..', 'shared', 'real-streams'));
  expect(corpusDir === null || corpusDir === corpusPath).toBe(true);
  if (corpusDir === null) expect(files).toEqual([]);
});

describeCorpus('real-stream corpus', () => {
  it('has the 34 files listed in INDEX.md, byte-identical (SHA-256)', () => {
    const index = readFileSync(join(corpusPath, 'INDEX.md'), 'utf8');
    const listed = new Map([...index.matchAll(/^([0-9a-f]{64}) {2}(\S+\.sse)$/gm)].map((m) => [m[2], m[1]]));
    expect(files.map((f) => f.name)).toEqual([...listed.keys()].sort());
    expect(files).toHaveLength(34);
    for (const f of files) expect(createHash('sha256').update(f.bytes).digest('hex'), f.name).toBe(listed.get(f.name));
  });

  it.each(valid.map((f) => [f.name, f] as const))('beta oracle assembles %s', async (_name, f) => {
    const result = await sdkFinalMessage(f.bytes);
    if (!result.ok) throw result.error;
    expect(result.message.type).toBe('message');
    expect(result.message.role).toBe('assistant');
    expect(result.message.stop_reason).not.toBeNull();
    expect(structuredClone(result.message)).toEqual(result.message);
    expect(JSON.stringify(result.message)).not.toMatch(/"parsed_output"|"__json_buf"/);
  });

  it('beta oracle rejects 34 (deltas without message_start, then event: error api_error)', async () => {
    const result = await sdkFinalMessage(byName('34-error-event-mid-stream-FRAGMENT.sse').bytes);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(APIError);
    expect((result.error as APIError).type).toBe('api_error');
  });

  it('07: the oracle keeps the tool_use that max_tokens left open, with partially parsed input', async () => {
    const result = await sdkFinalMessage(byName('07-max-tokens-mid-tool-use-input.sse').bytes);
    if (!result.ok) throw result.error;
    expect(result.message.stop_reason).toBe('max_tokens');
    expect(result.message.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
  });

  it(`the stable accumulator loses the mcp_tool_use input of ${MCP}`, async () => {
    const f = byName(MCP);
    const beta = await sdkFinalMessage(f.bytes);
    const stable = await sdkStableFinalMessage(f.bytes);
    if (!beta.ok) throw beta.error;
    if (!stable.ok) throw stable.error;
    const index = beta.message.content.findIndex((b) => b.type === 'mcp_tool_use');
    expect(index).toBeGreaterThanOrEqual(0);
    const streamed = JSON.parse(streamedJson(f.bytes, index)) as Record<string, unknown>;
    expect(Object.keys(streamed).length).toBeGreaterThan(0);
    expect(beta.message.content[index]).toMatchObject({ type: 'mcp_tool_use', input: streamed });
    // Stable: the block is there (its type is unknown to the stable types) but the input stays {}.
    expect(stable.message.content[index]).toMatchObject({ type: 'mcp_tool_use', input: {} });
  });

  it(`the stable accumulator loses the compaction content of ${COMPACTION}`, async () => {
    const f = byName(COMPACTION);
    const beta = await sdkFinalMessage(f.bytes);
    const stable = await sdkStableFinalMessage(f.bytes);
    if (!beta.ok) throw beta.error;
    if (!stable.ok) throw stable.error;
    const betaBlock = beta.message.content[0];
    expect(betaBlock?.type).toBe('compaction');
    expect(betaBlock?.type === 'compaction' && betaBlock.content).toMatch(/^The user provided a very long context/);
    expect(stable.message.content[0]).toEqual({ type: 'compaction', content: null });
  });

  it('apart from 27 and 29, the stable and beta accumulators assemble the same content', async () => {
    const differing: string[] = [];
    for (const f of valid) {
      const beta = await sdkFinalMessage(f.bytes);
      const stable = await sdkStableFinalMessage(f.bytes);
      if (!beta.ok || !stable.ok) throw new Error(`${f.name}: an accumulator failed`);
      if (JSON.stringify(beta.message.content) !== JSON.stringify(stable.message.content)) differing.push(f.name);
    }
    expect(differing).toEqual([MCP, COMPACTION]);
  });
});
