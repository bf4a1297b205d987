// Headless Chromium for the dashboard's e2e tests: Debian's /usr/bin/chromium driven
// by playwright-core (which never downloads a browser of its own), one browser per
// test file, launched in beforeAll and stopped by PID in afterAll. Every wait is
// bounded: launch, connect, navigation and each locator action have a timeout.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserServer, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { ACTION_MS, LAUNCH_MS, launchChromium, stopBrowser } from './browser-launch.js';
import { REPO } from './member.js';

export { CHROMIUM, CHROMIUM_FLAGS, HAVE_CHROMIUM, ACTION_MS, requireChromium } from './browser-launch.js';

/** Where screenshots go: git-ignored, kept after the run for a person to look at. */
export const SCREENSHOT_DIR = join(REPO, 'test-results/ui');

export interface BrowserHandle {
  browser: Browser;
  /** The browser process's PID (stopped by it at the end). */
  pid: number;
  /** A fresh context (own cookies and storage) with bounded default timeouts, and one page in it (1280x800 unless told). */
  newPage(viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }>;
  /** Saves a full-page screenshot as test-results/ui/<name>.png; returns the path. */
  screenshot(page: Page, name: string): Promise<string>;
}

/**
 * One browser for the tests of the file (or describe block) this is called in:
 * launched in beforeAll, stopped by PID in afterAll. The returned function gives it
 * to the tests.
 */
export function browserForFile(): () => BrowserHandle {
  let handle: BrowserHandle | undefined;
  let server: BrowserServer | undefined;
  beforeAll(async () => {
    const launched = await launchChromium();
    server = launched.server;
    const { browser, pid } = launched;
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    handle = {
      browser,
      pid,
      async newPage(viewport = { width: 1280, height: 800 }) {
        const context = await browser.newContext({ viewport });
        context.setDefaultTimeout(ACTION_MS);
        context.setDefaultNavigationTimeout(15_000);
        const page = await context.newPage();
        return { context, page };
      },
      async screenshot(page, name) {
        const path = join(SCREENSHOT_DIR, `${name}.png`);
        await page.screenshot({ path, fullPage: true, timeout: ACTION_MS });
        return path;
      },
    };
  }, LAUNCH_MS + 10_000);
  afterAll(async () => {
    if (server && handle) await stopBrowser(server, handle.browser, handle.pid);
  }, 20_000);
  return () => {
    if (!handle) throw new Error('the file\'s browser is not started (its beforeAll failed)');
    return handle;
  };
}
