import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTurn } from '../../src/index.js';
import { repoRoot } from '../support/corpus.js';

interface Verdict {
  ok: boolean;
  stopReason: string | null;
  errorCode: string | null;
  dropped: number;
}

const dir = join(repoRoot, 'recordings');
const verdicts = JSON.parse(readFileSync(join(dir, 'verdicts.json'), 'utf8')) as Record<string, Verdict>;
const files = readdirSync(dir).filter((name) => name.endsWith('.sse'));

describe('recordings/: streams the project wrote itself give their documented verdicts', () => {
  for (const name of files) {
    it(name, async () => {
      const verdict = verdicts[name];
      expect(verdict, `${name} has no entry in verdicts.json`).toBeDefined();
      const result = await parseTurn(readFileSync(join(dir, name)));
      expect({ ok: result.ok, stopReason: result.stopReason, errorCode: result.error?.code ?? null, dropped: result.dropped.length }).toEqual(verdict);
    });
  }

  it('cover every stop reason', async () => {
    const reasons = new Set(Object.values(verdicts).filter((v) => v.ok).map((v) => v.stopReason));
    for (const reason of ['end_turn', 'tool_use', 'pause_turn', 'max_tokens', 'stop_sequence', 'refusal', 'model_context_window_exceeded']) {
      expect(reasons, reason).toContain(reason);
    }
  });
});
