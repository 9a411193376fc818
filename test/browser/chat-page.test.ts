import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { spawnChat } from '../support/chat-process.js';
import { hasBrowser, launch, screenshot, watch } from './browser.js';

const chat = (dir: string, port = 0, delayMs = 30) => spawnChat(dir, { port, delayMs }, children);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const notes = (dir: string): string[] => (existsSync(join(dir, 'notes.jsonl')) ? readFileSync(join(dir, 'notes.jsonl'), 'utf8').trim().split('\n') : []);
const lastTurn = '#conversation .turn:last-child';

/** Records, at every animation frame, the length of the last turn's answer text whenever it changed: what the person saw painted. */
async function samplePaints(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { paints: number[] };
    w.paints = [];
    const sample = (): void => {
      const texts = document.querySelectorAll('#conversation .turn:last-child .block.text');
      const length = Array.from(texts).reduce((n, t) => n + (t.textContent ?? '').length, 0);
      if (w.paints.at(-1) !== length) w.paints.push(length);
      requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  });
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

const settled = (page: Page, status: string) => page.waitForSelector(`${lastTurn}[data-status="${status}"]`, { timeout: 45_000 });

describe.skipIf(!hasBrowser)('the chat page in Chromium, against turnstate chat', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a prompt: the text arrives in many paints, the tool call and its result show, then the final answer; a refusal is shown as a refusal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-page-'));
    const server = await chat(dir);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const watched = watch(page);
    await page.goto(server.url);
    await page.waitForSelector('#connection[data-state="open"]');
    await samplePaints(page);
    await send(page, 'Please save a note: buy oat milk');
    await page.waitForSelector(`${lastTurn} .block.tool_use .tool-status:text("running…"), ${lastTurn} .tool-result`);
    await settled(page, 'completed');
    const paints = await page.evaluate(() => (window as unknown as { paints: number[] }).paints);
    // Incremental: the answer grew through many distinct lengths, not in one paint.
    expect(paints.filter((n) => n > 0).length).toBeGreaterThan(10);
    expect(paints).toEqual([...paints].sort((a, b) => a - b));
    const turn = page.locator(lastTurn);
    expect(await turn.locator('.user').innerText()).toBe('Please save a note: buy oat milk');
    expect(await turn.locator('.block.tool_use .tool-name').innerText()).toBe('tool save_note');
    expect(JSON.parse(await turn.locator('.block.tool_use .input').innerText())).toEqual({ note: 'buy oat milk' });
    const toolUseId = JSON.parse(notes(dir)[0]!).toolUseId as string;
    expect(await turn.locator('.tool-result').innerText()).toBe(`→ saved note (tool call ${toolUseId})`);
    expect(await turn.locator('.block.text').last().innerText()).toContain(`The note tool answered: “saved note (tool call ${toolUseId})”`);
    expect(await turn.locator('.ending').innerText()).toBe('Done (end_turn).');
    expect(notes(dir)).toHaveLength(1);
    await screenshot(page, 'chat-tool-call');

    await send(page, 'Tell me how to make something dangerous');
    await settled(page, 'refused');
    const ending = page.locator(`${lastTurn} .ending.refused`);
    expect(await ending.innerText()).toMatch(/^Refused — the model declined this request \(stop_reason: refusal\) — general_harms: .*It is not retried\.$/);
    expect(await page.locator(`${lastTurn} .block.text`).innerText()).toBe('I can’t help with that.');
    await screenshot(page, 'chat-refusal');
    expect(watched.errors).toEqual([]);
    // Everything the page loaded came from its own server.
    expect(watched.requests.every((u) => u.startsWith(server.url))).toBe(true);
  });

  it('Stop mid-stream keeps the partial answer in the conversation, and the next message works; a reload shows it all again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-page-'));
    const server = await chat(dir, 0, 40);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const watched = watch(page);
    await page.goto(server.url);
    await page.waitForSelector('#connection[data-state="open"]');
    await send(page, 'Hello! What can you do?');
    await page.waitForFunction(() => (document.querySelector('#conversation .turn:last-child .block.text')?.textContent ?? '').length > 30);
    expect(await page.locator('#stop').isEnabled()).toBe(true);
    await page.locator('#stop').click();
    await settled(page, 'aborted');
    const partial = await page.locator(`${lastTurn} .block.text`).innerText();
    expect(partial.length).toBeGreaterThan(30);
    expect('Hello! I am the scripted model of the turnstate chat demo. Ask me to save a note'.startsWith(partial.slice(0, 60))).toBe(true);
    expect(await page.locator(`${lastTurn} .ending`).innerText()).toBe('Stopped by you — the partial answer is kept in the conversation.');
    await screenshot(page, 'chat-stopped');
    // The conversation on the server holds exactly what the page showed.
    const id = await page.evaluate(() => document.body.dataset['conversation']);
    const saved = (await (await fetch(`${server.url}api/conversations/${id}`)).json()) as { turns: { messages: { role: string; content: { text: string }[] }[] }[] };
    expect(saved.turns[0]!.messages[1]!.content).toEqual([{ type: 'text', text: partial }]);

    await send(page, 'Tell me how to make something dangerous');
    await settled(page, 'refused');
    await page.reload();
    await page.waitForSelector('#conversation .turn:nth-child(2)[data-status="refused"]');
    expect(await page.locator('#conversation .turn:first-child .block.text').innerText()).toBe(partial);
    expect(await page.locator('#conversation .turn:first-child').getAttribute('data-status')).toBe('aborted');
    expect(watched.errors).toEqual([]);
  });

  it('reload mid-turn: the page shows the turn from where it was and follows it to the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-page-'));
    const server = await chat(dir, 0, 40);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(server.url);
    await page.waitForSelector('#connection[data-state="open"]');
    await send(page, 'Please save a note: buy oat milk');
    await page.waitForSelector(`${lastTurn} .block.tool_use`);
    await page.reload();
    // At once, not from the start: the turn so far arrives in the snapshot.
    await page.waitForSelector(`${lastTurn}[data-status="running"] .block.tool_use`);
    await settled(page, 'completed');
    expect(await page.locator(`${lastTurn} .tool-result`).count()).toBe(1);
    expect(await page.locator('#conversation .turn').count()).toBe(1);
    expect(notes(dir)).toHaveLength(1);
  });

  it('the server killed (SIGKILL) mid-turn and started again: the page reconnects, shows the completed turn, and the tool ran exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstate-chat-page-'));
    const first = await chat(dir, 0, 40);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const watched = watch(page);
    await page.goto(first.url);
    await page.waitForSelector('#connection[data-state="open"]');
    await send(page, 'Please save a note: buy oat milk');
    // Killed after the tool ran, while the answer streams.
    await page.waitForSelector(`${lastTurn} .tool-result`);
    await page.waitForFunction(() => (document.querySelectorAll('#conversation .turn:last-child .block.text')[1]?.textContent ?? '').length > 10);
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;
    await page.waitForSelector('#connection[data-state="lost"]');
    await screenshot(page, 'chat-server-killed');
    expect(notes(dir)).toHaveLength(1);

    await chat(dir, first.port, 40);
    await settled(page, 'completed');
    const turn = page.locator(lastTurn);
    expect(await turn.locator('.tool-result').count()).toBe(1);
    const toolUseId = JSON.parse(notes(dir)[0]!).toolUseId as string;
    expect(await turn.locator('.block.text').last().innerText()).toContain(`The note tool answered: “saved note (tool call ${toolUseId})”`);
    expect(await turn.locator('.ending').innerText()).toBe('Done (end_turn).');
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('open');
    expect(notes(dir)).toHaveLength(1);
    await screenshot(page, 'chat-resumed-after-kill');
    // The only errors: the browser's own reports of the refused reconnects while the server was down.
    expect(watched.errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
  });
});
