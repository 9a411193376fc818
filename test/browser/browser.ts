/**
 * A real browser for the page tests: Debian's Chromium driven by
 * playwright-core (its own browser downloads cannot work here). Where there
 * is no Chromium the tests skip, and the global setup says so in one line.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { repoRoot } from '../support/corpus.js';

export const chromiumPath = process.env['TURNSTATE_CHROMIUM'] ?? '/usr/bin/chromium';
export const hasBrowser = existsSync(chromiumPath);

/** Screenshots are test artifacts: written under test-artifacts/ (ignored by git), never committed. */
export const artifactsDir = join(repoRoot, 'test-artifacts');

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: the tests run as root (CI does).
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
}

/** What a page did that a test must see: console errors, uncaught exceptions, and every request it made. */
export interface Watched {
  readonly errors: string[];
  readonly requests: string[];
}

export function watch(page: Page): Watched {
  const watched: Watched = { errors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(message.text());
  });
  page.on('pageerror', (error) => watched.errors.push(String(error)));
  page.on('request', (request) => watched.requests.push(request.url()));
  return watched;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
}
