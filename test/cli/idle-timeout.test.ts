/** Issue 6 C12: `turnstate run --idle-timeout MS` — a stalled model stream is retried; bad values are usage errors. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sseFromMessage, startFakeMessagesApi, type FakeMessagesApi } from '../../src/testing/index.js';
import { cli } from '../controller/fixtures/cli.js';

let api: FakeMessagesApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

const body = sseFromMessage({ content: [{ type: 'text', text: 'Recovered.' }], stopReason: 'end_turn' });

describe('turnstate run --idle-timeout', () => {
  it('a stream that stalls is retried and the run completes', async () => {
    api = await startFakeMessagesApi({ replies: [{ body, stallAfterBytes: body.indexOf('event: content_block_delta') }, body] });
    const dir = await mkdtemp(join(tmpdir(), 'turnstate-idle-'));
    const { code, stdout } = await cli(['run', '--idle-timeout', '300', '--checkpoint', join(dir, 'ck.json'), '--json', 'hi'], { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'test-key' });
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { status: string; text: string; segments: { retries: number }[] };
    expect(out.status).toBe('completed');
    expect(out.text).toBe('Recovered.');
    expect(out.segments.map((s) => s.retries)).toEqual([1]);
    expect(api.requests).toHaveLength(2);
  });

  it.each(['-1', 'soon', '1.5'])('--idle-timeout %s is a usage error (exit 2)', async (value) => {
    const { code, stderr } = await cli(['run', '--idle-timeout', value, 'hi'], { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9', ANTHROPIC_API_KEY: 'k' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/--idle-timeout/);
  });
});
