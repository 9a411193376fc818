import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CassetteMeta } from '../../src/testing/cassette.js';

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
