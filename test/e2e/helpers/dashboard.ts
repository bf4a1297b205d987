// The dashboard's page contract (data-testid names, hash routes, attributes) as a
// few functions the ui-*.test.ts files share: open a route on a member, log in,
// answer the confirmation dialog, read the members table, reveal a key in the tree,
// start a watch and read its events.
// Every wait is bounded (the context's default action timeout, or an explicit one).

import type { Locator, Page } from 'playwright-core';
import { waitFor } from './cluster.js';
import type { Member } from './member.js';
import { ACTION_MS } from './browser-launch.js';
import { ctlOk } from './ui-ctl.js';

export type Route = 'cluster' | 'keys' | 'watch' | 'leases' | 'ops';

export const byTestId = (scope: Page | Locator, id: string): Locator => scope.getByTestId(id);

/** The dashboard's address on a member: /ui/ on its client URL, with the hash route. */
export function uiUrl(m: Member, route: Route = 'cluster'): string {
  return `${m.clientUrl}/ui/#/${route}`;
}

/** Loads /ui/ on a member at a route; throws with the status if the member does not serve the page. */
export async function gotoUi(page: Page, m: Member, route: Route = 'cluster'): Promise<void> {
  const res = await page.goto(uiUrl(m, route), { waitUntil: 'domcontentloaded' });
  if (res && !res.ok()) throw new Error(`GET ${m.clientUrl}/ui/ answered ${res.status()}: is the dashboard built (npm run build)?`);
}

/** Navigates to a route on a member and waits for the navigation bar. */
export async function openDashboard(page: Page, m: Member, route: Route = 'cluster'): Promise<void> {
  await gotoUi(page, m, route);
  await byTestId(page, `nav-${route}`).waitFor({ state: 'visible' });
}

/** Goes to a route with the page's own navigation link. */
export async function navigate(page: Page, route: Route): Promise<void> {
  await byTestId(page, `nav-${route}`).click();
  await page.waitForURL((u) => u.hash === `#/${route}`, { timeout: ACTION_MS });
}

/** Fills the login form and waits for the logout button (auth enabled). */
export async function login(page: Page, user: string, password: string): Promise<void> {
  await byTestId(page, 'login-form').waitFor({ state: 'visible' });
  await byTestId(page, 'login-user').fill(user);
  await byTestId(page, 'login-password').fill(password);
  await byTestId(page, 'login-submit').click();
  await byTestId(page, 'logout').waitFor({ state: 'visible' });
}

/** Answers the confirmation dialog the last action opened, and waits for it to close. */
export async function answerConfirm(page: Page, ok: boolean): Promise<void> {
  const dialog = byTestId(page, 'confirm-dialog');
  await dialog.waitFor({ state: 'visible' });
  await byTestId(page, ok ? 'confirm-ok' : 'confirm-cancel').click();
  await dialog.waitFor({ state: 'hidden' });
}

export interface MemberRow {
  name: string;
  /** 16 lowercase hex digits, as etcdctl prints member ids. */
  id: string;
  leader: boolean;
  health: string;
  raftIndex: string;
}

/** The members table as shown now. */
export async function memberRows(page: Page): Promise<MemberRow[]> {
  const rows = byTestId(page, 'member-row');
  const n = await rows.count();
  const out: MemberRow[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows.nth(i);
    out.push({
      name: (await row.getAttribute('data-member-name')) ?? '',
      id: (await row.getAttribute('data-member-id')) ?? '',
      leader: (await row.getAttribute('data-leader')) === 'true',
      health: ((await byTestId(row, 'member-health').textContent()) ?? '').trim(),
      raftIndex: ((await byTestId(row, 'member-raft-index').textContent()) ?? '').trim(),
    });
  }
  return out;
}

/** The tree node for a full key or a prefix. */
export function treeNode(page: Page, key: string): Locator {
  return page.locator(`[data-testid="tree-node"][data-key=${JSON.stringify(key)}]`);
}

/**
 * Expands the tree's prefixes towards `key` (clicking the longest visible prefix of it
 * not clicked yet) until the key's own node is visible; throws after `timeoutMs`.
 */
export async function revealKey(page: Page, key: string, timeoutMs = 15_000): Promise<Locator> {
  const clicked = new Set<string>();
  const target = treeNode(page, key);
  return waitFor(`tree node ${key}`, timeoutMs, async () => {
    if (await target.isVisible()) return target;
    const keys = await byTestId(page, 'tree-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-key') ?? ''));
    const prefixes = keys.filter((k) => k !== key && k !== '' && key.startsWith(k) && !clicked.has(k)).sort((a, b) => b.length - a.length);
    const next = prefixes[0];
    if (next !== undefined) {
      clicked.add(next);
      await treeNode(page, next).first().click();
    }
    return undefined;
  }, 200);
}

/** Reveals a key in the tree and selects it; waits for its detail pane to name it. */
export async function selectKey(page: Page, key: string): Promise<Locator> {
  await (await revealKey(page, key)).click();
  const detail = byTestId(page, 'key-detail');
  await byTestId(detail, 'key-name').filter({ hasText: key }).waitFor({ state: 'visible' });
  return detail;
}

/** Text of a test id inside a scope, trimmed. */
export async function textOf(scope: Page | Locator, id: string): Promise<string> {
  return ((await byTestId(scope, id).first().textContent()) ?? '').trim();
}

// The watch page.

export interface ShownEvent { type: string; key: string; revision: number; text: string }

export async function shownEvents(page: Page): Promise<ShownEvent[]> {
  return byTestId(page, 'watch-event').evaluateAll((els) =>
    els.map((e) => ({
      type: e.getAttribute('data-type') ?? '',
      key: e.getAttribute('data-key') ?? '',
      revision: Number(e.getAttribute('data-revision')),
      text: e.textContent ?? '',
    })),
  );
}

/** etcdctl put -w json: the revision of the write. */
export async function putRev(m: Member, key: string, value: string): Promise<number> {
  return Number((JSON.parse(await ctlOk(m, ['put', key, value, '-w', 'json'])) as { header: { revision: number } }).header.revision);
}

export async function eventFor(page: Page, pred: (e: ShownEvent) => boolean, what: string, timeoutMs = 10_000): Promise<ShownEvent> {
  return waitFor(what, timeoutMs, async () => (await shownEvents(page)).find(pred), 100);
}

/** Starts a watch on `prefix` in the page and waits until it delivers (puts a probe key until one shows). */
export async function startWatch(page: Page, m: Member, prefix: string): Promise<void> {
  await byTestId(page, 'watch-prefix-input').fill(prefix);
  await byTestId(page, 'watch-start').click();
  let n = 0;
  await waitFor(`the page's watch on ${prefix} to deliver`, 15_000, async () => {
    await ctlOk(m, ['put', `${prefix}probe`, String(n++)]);
    return (await shownEvents(page)).some((e) => e.key === `${prefix}probe`) ? true : undefined;
  }, 300);
}
