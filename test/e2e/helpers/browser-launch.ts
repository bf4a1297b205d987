// Launching Debian's /usr/bin/chromium through playwright-core (which never
// downloads a browser of its own) and stopping it by PID; no test-runner imports, so
// bench scripts use it too. The per-file lifecycle is in browser.ts.

import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type BrowserServer } from 'playwright-core';

/** Debian's package `chromium`; CHROMIUM_PATH overrides it (another build of the same browser). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The flags that work on these machines: no sandbox (root), no GPU, and nothing that
 * phones home (the network is closed: background networking, component updates, sync
 * and QUIC would each try, and fail, at every start). Playwright adds --headless and
 * a fresh --user-data-dir of its own per launch, which it removes on close.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long one locator action or expectation may wait (a page refreshes at least every 2 s). */
export const ACTION_MS = 10_000;
export const LAUNCH_MS = 30_000;

export const HAVE_CHROMIUM = ((): boolean => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Decides whether browser tests run: true when chromium is installed; when it is
 * missing, throws in CI (CI=true: a missing browser is a failure, never a skip) and
 * returns false elsewhere (callers skip).
 */
export function requireChromium(): boolean {
  if (HAVE_CHROMIUM) return true;
  if (process.env.CI === 'true') throw new Error(`chromium must be installed in CI (Debian package chromium, ${CHROMIUM})`);
  return false;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Closes the browser politely within a bound, then SIGKILLs its PID if it is still there. */
export async function stopBrowser(server: BrowserServer, browser: Browser | undefined, pid: number): Promise<void> {
  const bounded = (p: Promise<unknown>, ms: number): Promise<unknown> =>
    Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
  if (browser) await bounded(browser.close(), 5_000);
  await bounded(server.close(), 5_000);
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** Launches Debian's chromium through playwright-core; the caller owns the returned server (stop it by PID). */
export async function launchChromium(): Promise<{ server: BrowserServer; browser: Browser; pid: number }> {
  const server = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: LAUNCH_MS,
    // Our afterAll stops it; Playwright's own signal handlers would race with vitest's.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const pid = server.process().pid;
  if (pid === undefined) throw new Error('chromium started without a PID');
  try {
    const browser = await chromium.connect(server.wsEndpoint(), { timeout: LAUNCH_MS });
    return { server, browser, pid };
  } catch (err) {
    await stopBrowser(server, undefined, pid);
    throw err;
  }
}
