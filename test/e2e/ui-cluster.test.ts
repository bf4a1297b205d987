// Issue 18 (web dashboard), the cluster and operations pages, in headless Chromium
// against one real three-member bin/etcd-ts cluster shared by the file: the members
// table shows the three members with etcdctl's ids and leader, and its status
// refreshes by itself; compact, defragment, alarm disarm and move-leader work
// through the page (each behind its confirmation) as etcdctl then sees; killing the
// leader (kill -9 by PID) shows the new leader within a bounded wait (last in the
// file: it stops a member). The cluster page also fits a phone's width, and the ops
// page works from the keyboard alone.

import { beforeEach, describe, expect, it } from 'vitest';
import { browserForFile, requireChromium } from './helpers/browser.js';
import { clusterForBlock, eachCaseOnCluster, waitFor } from './helpers/cluster.js';
import { answerConfirm, byTestId, memberRows, openDashboard, navigate, textOf } from './helpers/dashboard.js';
import { etcdctl, requireEtcdctl } from './helpers/etcd-process.js';
import type { Member } from './helpers/member.js';
import { clusterView, ctlOk, describeCtl } from './helpers/ui-ctl.js';
import type { Locator, Page } from 'playwright-core';

const RUN = requireEtcdctl() && requireChromium();
/** A new leader after the old one died: a few election timeouts plus pre-vote, and a page refresh or two. */
const FAILOVER_BOUND_MS = 20_000;

/**
 * Picks the option of a <select> that names this member (by name or id, in its value
 * or label), once the page has filled the select in (bounded).
 */
async function selectMember(select: Locator, m: Member, idHex: string): Promise<void> {
  const ids = [idHex, BigInt(`0x${idHex}`).toString(10)];
  const names = (t: string): boolean => t === m.name || ids.includes(t) || t.split(/[\s()]+/).some((w) => w === m.name || ids.includes(w));
  let options: { value: string; label: string }[] = [];
  const match = await waitFor(`an option naming ${m.name} (${idHex})`, 10_000, async () => {
    options = await select.locator('option').evaluateAll((els) =>
      els.map((e) => ({ value: (e as HTMLOptionElement).value, label: (e.textContent ?? '').trim() })),
    );
    return options.find((o) => names(o.value) || names(o.label));
  }, 100).catch((err: Error) => {
    throw new Error(`${err.message} in ${JSON.stringify(options)}`);
  });
  await select.selectOption(match.value);
}

/** The operation's outcome text once the page shows one; fails on an error result or the global error banner. */
async function opResult(page: Page, what: string): Promise<string> {
  return waitFor(`op-result after ${what}`, 15_000, async () => {
    if (await byTestId(page, 'error-banner').isVisible()) throw new Error(`error-banner: ${await textOf(page, 'error-banner')}`);
    const result = byTestId(page, 'op-result');
    if (!(await result.isVisible())) return undefined;
    const text = await textOf(page, 'op-result');
    if (text === '') return undefined;
    // The contract: op-result shows the outcome or the server's error (class "error").
    if (/\berror\b/.test((await result.getAttribute('class')) ?? '')) throw new Error(`op-result is an error: ${text}`);
    return text;
  }, 200);
}

describe.skipIf(!RUN)('dashboard: cluster and operations pages (3 members, Chromium)', () => {
  const cluster = clusterForBlock();
  const browser = browserForFile();
  beforeEach(eachCaseOnCluster(cluster, () => clusterView(cluster().members)));

  it('shows three members with etcdctl\'s ids and leader, all healthy, and refreshes the raft index by itself', async () => {
    const members = cluster().members;
    const view = await clusterView(members);
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, members[1]!, 'cluster');
      const rows = await waitFor('three healthy member rows', 15_000, async () => {
        const r = await memberRows(page);
        return r.length === 3 && r.every((x) => x.health === 'healthy') ? r : undefined;
      });
      expect(rows.map((r) => r.name).sort()).toEqual(members.map((m) => m.name).sort());
      for (const r of rows) {
        expect(r.id).toMatch(/^[0-9a-f]{16}$/);
        expect(r.id, `id of ${r.name}`).toBe(view.ids.get(r.name));
        expect(r.leader, `data-leader of ${r.name}`).toBe(r.name === view.leader);
        expect(r.raftIndex).toMatch(/^\d+$/);
      }
      expect(await textOf(page, 'cluster-leader')).toContain(view.leader);
      await byTestId(page, 'cluster-chart').waitFor({ state: 'visible' });

      // Writes move the raft index; the open page shows it without a reload.
      const before = Number(rows.find((r) => r.name === view.leader)!.raftIndex);
      for (let i = 0; i < 3; i++) await ctlOk(members[0]!, ['put', `ui-cluster/tick${i}`, String(i)]);
      await waitFor('the leader row\'s raft index to move past the writes', 15_000, async () => {
        const now = (await memberRows(page)).find((r) => r.name === view.leader);
        return now && Number(now.raftIndex) >= before + 3 ? true : undefined;
      }, 250);
      await browser().screenshot(page, 'cluster');
    } finally {
      await context.close();
    }
  });

  it('compacts through the ops page: etcdctl get --rev below it answers the compacted error', async () => {
    const [a] = cluster().members as [Member];
    const revs: number[] = [];
    for (const v of ['1', '2', '3']) {
      const out = JSON.parse(await ctlOk(a, ['put', 'ui-ops/compact', v, '-w', 'json'])) as { header: { revision: number } };
      revs.push(Number(out.header.revision));
    }
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, a, 'cluster');
      await navigate(page, 'ops');
      await byTestId(page, 'op-compact-revision').fill(String(revs[2]));
      await byTestId(page, 'op-compact').click();
      await answerConfirm(page, true);
      await opResult(page, 'compact');
      await browser().screenshot(page, 'ops');
    } finally {
      await context.close();
    }
    const r = await etcdctl(a.clientPort, ['get', 'ui-ops/compact', '--rev', String(revs[0])]);
    expect(r.code, describeCtl(r)).not.toBe(0);
    expect(r.stderr.trimEnd().split('\n').pop()).toBe('Error: etcdserver: mvcc: required revision has been compacted');
    // At the compacted revision itself the value is still there.
    expect(await ctlOk(a, ['get', 'ui-ops/compact', '--rev', String(revs[2]), '--print-value-only'])).toBe('3\n');
  });

  it('cancelling the compact confirmation compacts nothing', async () => {
    const [a] = cluster().members as [Member];
    const out = JSON.parse(await ctlOk(a, ['put', 'ui-ops/cancel', 'x', '-w', 'json'])) as { header: { revision: number } };
    const rev = Number(out.header.revision);
    await ctlOk(a, ['put', 'ui-ops/cancel', 'y']);
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, a, 'ops');
      await byTestId(page, 'op-compact-revision').fill(String(rev + 1));
      await byTestId(page, 'op-compact').click();
      await answerConfirm(page, false);
    } finally {
      await context.close();
    }
    expect(await ctlOk(a, ['get', 'ui-ops/cancel', '--rev', String(rev), '--print-value-only'])).toBe('x\n');
  });

  it('defragments the chosen member through the ops page', async () => {
    const members = cluster().members;
    const view = await clusterView(members);
    const target = members[2]!;
    const logBefore = target.stderr.split('finished defragment').length;
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, members[0]!, 'ops');
      await selectMember(byTestId(page, 'op-defrag-member'), target, view.ids.get(target.name)!);
      await byTestId(page, 'op-defrag').click();
      await answerConfirm(page, true);
      await opResult(page, 'defrag');
    } finally {
      await context.close();
    }
    // The chosen member (and only it) ran a defragmentation.
    await waitFor(`${target.name} to log 'finished defragment'`, 10_000, async () => (target.stderr.split('finished defragment').length > logBefore ? true : undefined));
  });

  it('disarms an alarm through the ops page', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const view = await clusterView(cluster().members);
    // Raise a NOSPACE alarm for b through the gateway's Maintenance.Alarm (as a client may).
    const res = await fetch(`${a.clientUrl}/v3/maintenance/alarm`, {
      method: 'POST',
      body: JSON.stringify({ action: 'ACTIVATE', memberID: BigInt(`0x${view.ids.get(b.name)}`).toString(), alarm: 'NOSPACE' }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status, await res.text()).toBe(200);
    await waitFor('the alarm in etcdctl alarm list', 10_000, async () => ((await ctlOk(a, ['alarm', 'list'])).includes('NOSPACE') ? true : undefined));
    const { context, page } = await browser().newPage();
    let left = '';
    try {
      await openDashboard(page, a, 'ops');
      await byTestId(page, 'op-alarm-disarm').click();
      await answerConfirm(page, true);
      await opResult(page, 'alarm disarm');
    } finally {
      await context.close();
      // The cases after this one need a writable cluster whatever happened here.
      left = (await etcdctl(a.clientPort, ['alarm', 'list'])).stdout;
      if (left !== '') await etcdctl(a.clientPort, ['alarm', 'disarm']);
    }
    expect(left, 'alarms left after the page disarmed').toBe('');
    await ctlOk(a, ['put', 'ui-ops/after-disarm', 'ok']);
  });

  it('moves leadership to the chosen member through the ops page', async () => {
    const members = cluster().members;
    const view = await clusterView(members);
    const target = members.find((m) => m.name !== view.leader)!;
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, members[0]!, 'ops');
      await selectMember(byTestId(page, 'op-move-leader-target'), target, view.ids.get(target.name)!);
      await byTestId(page, 'op-move-leader').click();
      await answerConfirm(page, true);
      await opResult(page, 'move leader');
    } finally {
      await context.close();
    }
    const after = await clusterView(members, 15_000);
    expect(after.leader).toBe(target.name);
  });

  it('works on a phone-sized screen and from the keyboard (the confirmation starts on Cancel)', async () => {
    const members = cluster().members;
    const [a] = members as [Member];
    const out = JSON.parse(await ctlOk(a, ['put', 'ui-ops/keyboard', 'kept', '-w', 'json'])) as { header: { revision: number } };
    await ctlOk(a, ['put', 'ui-ops/keyboard', 'newer']);
    const { context, page } = await browser().newPage({ width: 390, height: 844 });
    try {
      await openDashboard(page, members[1]!, 'cluster');
      await waitFor('three member rows', 15_000, async () => ((await memberRows(page)).length === 3 ? true : undefined), 200);
      // Nothing wider than the screen: the page never scrolls sideways.
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
      expect(widths.page, `page width ${widths.page} on a ${widths.screen} px screen`).toBeLessThanOrEqual(widths.screen);
      for (const name of members.map((m) => m.name)) await page.locator(`[data-testid="member-row"][data-member-name="${name}"]`).waitFor({ state: 'visible' });
      await browser().screenshot(page, 'cluster-phone');

      // Keyboard only: Tab to the Operations link, Enter; fill the revision, Enter on Compact.
      const focused = (): Promise<string | null> => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
      const tabTo = async (testId: string): Promise<void> => {
        for (let i = 0; i < 30 && (await focused()) !== testId; i++) await page.keyboard.press('Tab');
        expect(await focused(), `Tab reaches ${testId}`).toBe(testId);
      };
      await tabTo('nav-ops');
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.hash === '#/ops');
      await tabTo('op-compact-revision');
      await page.keyboard.type(String(out.header.revision + 1));
      await tabTo('op-compact');
      await page.keyboard.press('Enter');
      await byTestId(page, 'confirm-dialog').waitFor({ state: 'visible' });
      // A stray Enter must not destroy history: the dialog starts on Cancel.
      expect(await focused()).toBe('confirm-cancel');
      await page.keyboard.press('Enter');
      await byTestId(page, 'confirm-dialog').waitFor({ state: 'hidden' });
    } finally {
      await context.close();
    }
    expect(await ctlOk(a, ['get', 'ui-ops/keyboard', '--rev', String(out.header.revision), '--print-value-only'])).toBe('kept\n');
  });

  it('after kill -9 of the leader, shows the new leader and the dead member as unhealthy', async () => {
    const members = cluster().members;
    const view = await clusterView(members);
    const leader = members.find((m) => m.name === view.leader)!;
    const watcher = members.find((m) => m !== leader)!;
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, watcher, 'cluster');
      await waitFor('the page to show the current leader', 15_000, async () => ((await textOf(page, 'cluster-leader')).includes(leader.name) ? true : undefined), 200);
      await leader.kill9();
      const survivors = members.filter((m) => m !== leader);
      const next = await clusterView(survivors, FAILOVER_BOUND_MS, leader.name);
      // Bounded wait, not a timed assertion: the page follows within a few refreshes.
      await waitFor(`the page to name ${next.leader} the leader`, FAILOVER_BOUND_MS, async () => {
        const shown = await textOf(page, 'cluster-leader');
        const rows = await memberRows(page);
        const flagged = rows.filter((r) => r.leader).map((r) => r.name);
        return shown.includes(next.leader) && !shown.includes(leader.name) && flagged.length === 1 && flagged[0] === next.leader ? true : undefined;
      }, 250);
      await waitFor(`${leader.name}'s row to read unhealthy`, FAILOVER_BOUND_MS, async () => {
        const row = (await memberRows(page)).find((r) => r.name === leader.name);
        return row?.health === 'unhealthy' ? true : undefined;
      }, 250);
      await browser().screenshot(page, 'cluster-after-leader-kill');
    } finally {
      await context.close();
    }
    // Back to three members, so a case added after this one starts from a full cluster.
    await cluster().start([leader]);
  });
});
