import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';

// The SDK itself is the judge of what is deprecated: it warns on every request
// naming a model in its own deprecation table. So every model name the
// repository uses is sent through the real client, and any warning fails.
const root = fileURLToPath(new URL('../../', import.meta.url));
const self = 'test/packaging/models.test.ts';

/** Whether a listed file is the repository's own: not this file, the lock file, or a copy Stryker left in a sandbox. */
function scanned(file: string): boolean {
  // Stryker's sandboxes (.stryker-tmp/, .stryker-tmp-*/) are whole copies of the tree, stale ones included; they are
  // git-ignored, but that should not be all that keeps a killed mutation run's leftovers out of this scan.
  if (file.split('/').some((part) => part.startsWith('.stryker-tmp'))) return false;
  return file !== '' && file !== self && file !== 'package-lock.json' && /\.(ts|mts|mjs|js|json|md|sse)$/.test(file);
}

function trackedFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  return listed.split('\n').filter(scanned);
}

function modelNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const file of trackedFiles()) {
    let text: string;
    try {
      text = readFileSync(new URL(file, `file://${root}`), 'utf8');
    } catch {
      continue; // listed but deleted in the work tree
    }
    for (const [name] of text.matchAll(/\bclaude-[a-z0-9]+(?:[-.][a-z0-9]+)*/g)) if (!names.has(name)) names.set(name, file);
  }
  return names;
}

let api: FakeMessagesApi;
let client: Anthropic;
const reply = sseFromMessage({ content: [{ type: 'text', text: 'ok' }], stopReason: 'end_turn' });
beforeAll(async () => {
  api = await startFakeMessagesApi({ replies: () => reply });
  client = new Anthropic({ apiKey: 'test', baseURL: api.url, maxRetries: 0 });
});
afterAll(() => api.close());

async function warningsFor(model: string): Promise<string[]> {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const params = { model, max_tokens: 8, messages: [{ role: 'user' as const, content: 'hi' }], stream: true as const };
    await (await client.messages.create(params).asResponse()).text();
    await (await client.beta.messages.create(params).asResponse()).text();
    return warn.mock.calls.map((args) => args.map(String).join(' ')).filter((text) => /deprecat/i.test(text));
  } finally {
    warn.mockRestore();
  }
}

describe('model names', () => {
  it('the scan skips Stryker sandboxes, wherever they are, and keeps the sources', () => {
    expect(scanned('.stryker-tmp/sandbox-Ab12/README.md')).toBe(false);
    expect(scanned('.stryker-tmp-lease/sandbox-x/src/cli/main.ts')).toBe(false);
    expect(scanned('examples/.stryker-tmp-1/a.ts')).toBe(false);
    expect(scanned('src/cli/main.ts')).toBe(true);
    expect(scanned('README.md')).toBe(true);
    expect(scanned('recordings/stryker-tmp-notes.md')).toBe(true);
  });

  it('the detector works: a model in the SDK deprecation table warns', async () => {
    expect(await warningsFor('claude-sonnet-4-5')).toHaveLength(2);
  });

  it('no model name used anywhere in the repository makes the SDK print a deprecation warning', async () => {
    const names = modelNames();
    expect(names.size).toBeGreaterThan(3); // README, src/testing, recordings, the CLI default…
    expect([...names.keys()]).toContain('claude-sonnet-4-6');
    const deprecated: string[] = [];
    for (const [name, file] of names) {
      const warnings = await warningsFor(name);
      if (warnings.length > 0) deprecated.push(`${name} (first in ${file}): ${warnings[0]}`);
    }
    expect(deprecated).toEqual([]);
  });
});
