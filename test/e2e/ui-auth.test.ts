// Issue 18 (web dashboard) with auth enabled, in headless Chromium against one real
// three-member bin/etcd-ts cluster: the page asks for a login; a wrong password is
// refused with a message; a user whose role allows only /team-a/ sees those keys and
// never another's, and is told "permission denied" where the role stops them (another
// prefix, defragmentation); root sees everything; logout asks for the login again.

import type { Page } from 'playwright-core';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { browserForFile, requireChromium } from './helpers/browser.js';
import { clusterForBlock, eachCaseOnCluster, waitFor } from './helpers/cluster.js';
import { answerConfirm, byTestId, gotoUi, login, navigate, revealKey, selectKey, textOf } from './helpers/dashboard.js';
import { requireEtcdctl } from './helpers/etcd-process.js';
import type { Member } from './helpers/member.js';
import { clusterView, ctlOk } from './helpers/ui-ctl.js';

const RUN = requireEtcdctl() && requireChromium();

/** Every key shown in the tree now. */
async function treeKeys(page: Page): Promise<string[]> {
  return byTestId(page, 'tree-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-key') ?? ''));
}

/** The text of a test id once it says "permission denied" (bounded). */
async function permissionMessage(page: Page, testId: string, what: string): Promise<string> {
  return waitFor(`a permission message in ${testId} ${what}`, 10_000, async () => {
    const el = byTestId(page, testId).first();
    if (!(await el.isVisible())) return undefined;
    const text = await textOf(page, testId);
    return /permission denied/i.test(text) ? text : undefined;
  }, 200);
}

describe.skipIf(!RUN)('dashboard with auth enabled (3 members, Chromium)', () => {
  const cluster = clusterForBlock();
  const browser = browserForFile();

  beforeAll(async () => {
    const [a] = cluster().members as [Member];
    await clusterView(cluster().members);
    for (const [k, v] of [['/team-a/app1', 'a1'], ['/team-a/app2', 'a2'], ['/team-b/secret', 'b'], ['/top', 't']]) await ctlOk(a, ['put', k!, v!]);
    await ctlOk(a, ['user', 'add', 'root:rootpw']);
    await ctlOk(a, ['user', 'grant-role', 'root', 'root']);
    await ctlOk(a, ['user', 'add', 'alice:apw']);
    await ctlOk(a, ['role', 'add', 'team-a']);
    await ctlOk(a, ['role', 'grant-permission', 'team-a', 'readwrite', '/team-a/', '--prefix']);
    await ctlOk(a, ['user', 'grant-role', 'alice', 'team-a']);
    await ctlOk(a, ['auth', 'enable']);
  }, 60_000);
  beforeEach(eachCaseOnCluster(cluster, () => clusterView(cluster().members)));

  it('asks for a login, and refuses a wrong password with a message', async () => {
    const [, b] = cluster().members as [Member, Member];
    const { context, page } = await browser().newPage();
    try {
      await gotoUi(page, b, 'keys');
      await byTestId(page, 'login-form').waitFor({ state: 'visible' });
      await browser().screenshot(page, 'login');
      await byTestId(page, 'login-user').fill('alice');
      await byTestId(page, 'login-password').fill('wrong');
      await byTestId(page, 'login-submit').click();
      // The refusal is said in the login form itself.
      const msg = await waitFor('a refusal message in the login form', 10_000, async () => {
        const text = await textOf(page, 'login-form');
        return /failed|invalid/i.test(text) ? text : undefined;
      }, 200);
      // etcd's text for a wrong name or password.
      expect(msg).toMatch(/authentication failed, invalid user ID or password/);
      expect(await byTestId(page, 'login-form').isVisible()).toBe(true);
      expect(await byTestId(page, 'logout').count()).toBe(0);
      expect(await treeKeys(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a user whose role allows only /team-a/ sees those keys, never others, and a permission message elsewhere', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const { context, page } = await browser().newPage();
    const forbidden = (k: string): boolean => k.startsWith('/team-b') || k === '/top';
    try {
      await gotoUi(page, b, 'keys');
      await login(page, 'alice', 'apw');
      await navigate(page, 'keys');
      // The whole keyspace is not hers: the tree says so, and shows nothing.
      await permissionMessage(page, 'key-tree-error', 'for the root of the tree');
      expect((await treeKeys(page)).filter(forbidden)).toEqual([]);
      await byTestId(page, 'key-filter').fill('/team-a/');
      await byTestId(page, 'key-filter-go').click();
      await revealKey(page, '/team-a/app1');
      await revealKey(page, '/team-a/app2');
      const detail = await selectKey(page, '/team-a/app1');
      expect(await textOf(detail, 'key-value')).toBe('a1');
      expect((await treeKeys(page)).filter(forbidden)).toEqual([]);
      await browser().screenshot(page, 'keys-as-limited-user');

      // Another team's prefix: a clear refusal, and none of its keys.
      await byTestId(page, 'key-filter').fill('/team-b/');
      await byTestId(page, 'key-filter-go').click();
      await permissionMessage(page, 'key-tree-error', 'for /team-b/');
      expect((await treeKeys(page)).filter(forbidden)).toEqual([]);

      // An operation the role does not allow: in etcd 3.4 defragmentation needs root
      // (compaction does not: any authenticated user may compact).
      await navigate(page, 'ops');
      await byTestId(page, 'op-defrag-member').selectOption({ label: a.name });
      await byTestId(page, 'op-defrag').click();
      await answerConfirm(page, true);
      await permissionMessage(page, 'op-result', 'for defragmentation');
      expect(a.stderr).not.toContain('finished defragment');
    } finally {
      await context.close();
    }
  });

  it('root sees every key; logout asks for the login again', async () => {
    const [, , c] = cluster().members as [Member, Member, Member];
    const { context, page } = await browser().newPage();
    try {
      await openDashboardAfterLogin(page, c, 'root', 'rootpw');
      for (const k of ['/team-a/app1', '/team-b/secret', '/top']) await revealKey(page, k);
      await byTestId(page, 'logout').click();
      await byTestId(page, 'login-form').waitFor({ state: 'visible' });
      expect((await treeKeys(page)).filter((k) => k.startsWith('/team-b'))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

async function openDashboardAfterLogin(page: Page, m: Member, user: string, password: string): Promise<void> {
  await gotoUi(page, m, 'keys');
  await login(page, user, password);
  await navigate(page, 'keys');
  await byTestId(page, 'key-tree').waitFor({ state: 'visible' });
}
