import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { repoRoot } from '../support/corpus.js';
import { hasBrowser, launch, screenshot, watch } from './browser.js';

/** Starts `turnstate demo --inspect` from source and resolves with its URLs once it prints them. */
async function startDemo(): Promise<{ child: ChildProcess; url: string; wsUrl: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/cli-entry.ts'), 'demo', '--inspect', '--delay-ms', '15'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stdout!.resume();
  const urls = new Promise<{ url: string; wsUrl: string }>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const url = /live trace at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err)?.[1];
      const wsUrl = /inspection events on (ws:\/\/\S+)/.exec(err)?.[1];
      if (url && wsUrl) resolve({ url, wsUrl });
    });
    child.once('exit', (code) => reject(new Error(`demo exited (${code}) before serving: ${err}`)));
  });
  return { child, ...(await urls), stderr: () => err };
}

describe.skipIf(!hasBrowser)('the live page and the inspection socket, in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a demo run: the live page receives its steps and settles; Stately clients get sanitised inspection events; Ctrl-C ends it', async () => {
    const demo = await startDemo();
    try {
      // A Stately-protocol client, as the hosted inspector's bridge is.
      const socket = new WebSocket(demo.wsUrl);
      const messages: string[] = [];
      socket.on('message', (data) => messages.push(data.toString()));
      await once(socket, 'open');

      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const watched = watch(page);
      await page.goto(demo.url);
      await page.waitForFunction(() => document.body.dataset['settled'] === 'true', undefined, { timeout: 45_000 });
      expect(await page.locator('#verdict').innerText()).toContain('completed');
      const steps = await page.evaluate(() => (window as unknown as { turnstateTrace: { data: { steps: { machine: string; type: string; after: string | null }[] } } }).turnstateTrace.data.steps);
      expect(steps.filter((s) => s.type === 'segment_end')).toHaveLength(4);
      expect(steps.filter((s) => s.machine === 'continuation').at(-1)!.after).toBe('completed');
      // The page follows the run: the last step is the current one, and the final state is lit.
      const position = await page.locator('#position').innerText();
      expect(position).toBe(`${steps.length} / ${steps.length}`);
      const lit = await page.locator('figure g.node.current title').evaluateAll((els) => els.map((e) => e.textContent));
      expect(lit).toEqual(['continuation.completed']);
      await screenshot(page, 'live-demo');
      expect(watched.errors).toEqual([]);
      for (const request of watched.requests) expect(request.startsWith(demo.url)).toBe(true);
      await page.close();

      await expect.poll(() => messages.length, { timeout: 10_000 }).toBeGreaterThan(20);
      const parsed = messages.map((m) => JSON.parse(m) as { type: string; snapshot?: { context?: unknown } });
      expect(parsed.some((m) => m.type === '@xstate.actor')).toBe(true);
      expect(parsed.some((m) => m.type === '@xstate.event')).toBe(true);
      expect(parsed.some((m) => m.type === '@xstate.snapshot')).toBe(true);
      // Contexts hold the transcript; what leaves the process is capped.
      for (const message of messages) expect(message.length).toBeLessThan(200_000);
      const snapshotTexts = parsed.filter((m) => m.type === '@xstate.snapshot').map((m) => JSON.stringify(m.snapshot?.context ?? null));
      for (const text of snapshotTexts) for (const string of text.match(/"(?:[^"\\]|\\.)*"/g) ?? []) expect(string.length).toBeLessThan(400);
      socket.close();
    } finally {
      demo.child.kill('SIGINT');
    }
    // Ctrl-C ends the serving as it ends any command: exit 130 (the run's outcome was printed before).
    const [code] = (await once(demo.child, 'exit')) as [number | null];
    expect(code).toBe(130);
    expect(demo.stderr()).toContain('still serving the inspection; Ctrl-C to stop');
  });
});
