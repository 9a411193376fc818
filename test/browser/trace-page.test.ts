import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderTraceHtml, traceTurn } from '../../src/trace/index.js';
import { streamMachine } from '../../machines/stream.machine.js';
import { machineGraph } from '../../src/diagram/index.js';
import { repoRoot } from '../support/corpus.js';
import { hasBrowser, launch, screenshot, watch } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'turnstate-pages-'));
async function pageFor(recording: string): Promise<string> {
  const { trace } = traceTurn([readFileSync(join(repoRoot, 'recordings', recording))], { title: recording });
  const file = join(dir, `${recording}.html`);
  writeFileSync(file, await renderTraceHtml(trace));
  return pathToFileURL(file).href;
}

describe.skipIf(!hasBrowser)('the trace page, in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a valid recording: loads with no console error and no request but its own, shows every state, steps forward and back', async () => {
    const url = await pageFor('tool-use-text-says-done.sse');
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const watched = watch(page);
    await page.goto(url);
    await page.waitForSelector('#rows tr.current');
    // SVG elements have no innerText: their titles (the state ids) by textContent.
    const titles = (selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => e.textContent));
    const text = (await titles('figure[data-machine="stream"] text')).join('\n');
    for (const state of machineGraph(streamMachine).states.slice(1)) expect(text).toContain(state.key);
    await expect.poll(() => page.locator('#verdict').innerText()).toContain('ok');
    const steps = Number((await page.locator('#position').innerText()).split(' / ')[1]);
    expect(steps).toBeGreaterThan(10);
    expect(await page.locator('#position').innerText()).toBe(`1 / ${steps}`);
    // message_start: awaitingMessageStart → betweenBlocks; betweenBlocks is the current node.
    const currentNodes = () => titles('figure g.node.current title');
    expect(await currentNodes()).toEqual(['stream.betweenBlocks']);
    await page.click('#next');
    expect(await page.locator('#position').innerText()).toBe(`2 / ${steps}`);
    expect(await currentNodes()).toEqual(['stream.inBlock.text']);
    expect(await page.locator('figure g.edge.current').count()).toBe(1);
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('#position').innerText()).toBe(`3 / ${steps}`);
    await page.click('#prev');
    await page.click('#prev');
    expect(await page.locator('#position').innerText()).toBe(`1 / ${steps}`);
    await page.click('#last');
    expect(await currentNodes()).toEqual(['stream.complete']);
    // Visited: everything the stream went through is marked, what it never touched is not.
    const visited = await titles('figure g.node.visited title');
    expect(visited).toEqual(expect.arrayContaining(['stream.awaitingMessageStart', 'stream.betweenBlocks', 'stream.inBlock.text', 'stream.inBlock.toolInput', 'stream.complete']));
    expect(visited).not.toContain('stream.violated');
    // Clicking a row jumps there.
    await page.locator('#rows tr[data-step="4"]').click();
    expect(await page.locator('#position').innerText()).toBe(`5 / ${steps}`);
    await screenshot(page, 'trace-valid');
    expect(watched.errors).toEqual([]);
    expect(watched.requests).toEqual([url]);
    await page.close();
  });

  it('a broken recording: the failure names the event, and the page shows that step and the violated state', async () => {
    const url = await pageFor('broken-text-delta-on-tool-use.sse');
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const watched = watch(page);
    await page.goto(url);
    const failure = page.locator('#failure');
    await expect.poll(() => failure.isVisible()).toBe(true);
    expect(await failure.innerText()).toMatch(/delta_type_mismatch at event #5 \(byte \d+\) in state inBlock\.toolInput — expected content_block_delta\(index 0: input_json_delta\)/);
    await page.click('#first');
    await page.click('#goto-failure');
    const row = page.locator('#rows tr.current');
    expect(await row.locator('td').nth(1).innerText()).toBe('5');
    expect(await row.locator('td').nth(4).innerText()).toBe('inBlock.toolInput → violated');
    const titles = (selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => e.textContent));
    expect(await titles('figure g.node.current title')).toEqual(['stream.violated']);
    expect(await titles('figure g.node.failed title')).toEqual(['stream.violated']);
    await screenshot(page, 'trace-broken');
    expect(watched.errors).toEqual([]);
    expect(watched.requests).toEqual([url]);
    await page.close();
  });

  it('the page’s own policy blocks requests: an injected fetch is refused by the browser', async () => {
    const url = await pageFor('end-turn-text.sse');
    const page = await browser.newPage();
    const watched = watch(page);
    await page.goto(url);
    const outcome = await page.evaluate(async () => {
      try {
        await fetch('http://127.0.0.1:9/x');
        return 'fetched';
      } catch {
        return 'refused';
      }
    });
    expect(outcome).toBe('refused');
    expect(watched.requests).toEqual([url]);
    await page.close();
  });
});
