// Issue 18 (web dashboard), the live pages, in headless Chromium against one real
// three-member bin/etcd-ts cluster shared by the file. Watch: a watch started in the
// page shows etcdctl's puts and deletes (type, key, revision, value) on its prefix and
// nothing outside it; pause holds events back until resumed; stop ends it (10 puts a
// second with 100,000 keys: ui-keys.test.ts). Leases: a lease granted by etcdctl shows its TTL and attached
// key, counts down, and disappears at expiry; revoke in the page (confirmed) is what
// etcdctl then sees, and cancel leaves the lease.

import { beforeEach, describe, expect, it } from 'vitest';
import { browserForFile, requireChromium } from './helpers/browser.js';
import { clusterForBlock, eachCaseOnCluster, sleep, waitFor } from './helpers/cluster.js';
import { answerConfirm, byTestId, eventFor, navigate, openDashboard, putRev, shownEvents, startWatch, textOf } from './helpers/dashboard.js';
import { requireEtcdctl } from './helpers/etcd-process.js';
import type { Member } from './helpers/member.js';
import { clusterView, ctlGetKv, ctlOk } from './helpers/ui-ctl.js';

const RUN = requireEtcdctl() && requireChromium();
/**
 * How long the page gets to show an event it should not show (paused, stopped): not a
 * timing assertion but an observation window; the positive check after it (the held
 * event arrives on resume) is what proves the events were flowing.
 */
const QUIET_WINDOW_MS = 1_500;

describe.skipIf(!RUN)('dashboard: watch and leases pages (3 members, Chromium)', () => {
  const cluster = clusterForBlock();
  const browser = browserForFile();
  beforeEach(eachCaseOnCluster(cluster, () => clusterView(cluster().members)));

  it('a watch started in the page shows etcdctl puts and deletes on its prefix, and nothing outside it', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, b, 'cluster');
      await navigate(page, 'watch');
      await startWatch(page, a, '/ui-watch/');
      await ctlOk(a, ['put', '/ui-other/outside', 'not watched']);
      const rev = await putRev(a, '/ui-watch/a', 'first value');
      const put = await eventFor(page, (e) => e.key === '/ui-watch/a', 'the PUT of /ui-watch/a');
      expect(put.type).toBe('PUT');
      expect(put.revision).toBe(rev);
      expect(put.text).toContain('first value');
      const delOut = await ctlOk(a, ['del', '/ui-watch/a', '-w', 'json']);
      const delRev = Number((JSON.parse(delOut) as { header: { revision: number } }).header.revision);
      const del = await eventFor(page, (e) => e.key === '/ui-watch/a' && e.type === 'DELETE', 'the DELETE of /ui-watch/a');
      expect(del.revision).toBe(delRev);
      // Written before the watched put, on the same stream: had the page watched it, it would be here by now.
      expect((await shownEvents(page)).filter((e) => e.key.startsWith('/ui-other/'))).toEqual([]);
      await browser().screenshot(page, 'watch');
    } finally {
      await context.close();
    }
  });

  it('pause holds events back until resumed; stop ends the watch', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, b, 'watch');
      await startWatch(page, a, '/ui-pause/');
      await byTestId(page, 'watch-pause').click();
      const heldRev = await putRev(a, '/ui-pause/held', 'held back');
      await sleep(QUIET_WINDOW_MS);
      expect((await shownEvents(page)).filter((e) => e.key === '/ui-pause/held'), 'events shown while paused').toEqual([]);
      // Resume (watch-pause toggles): the held event arrives, nothing lost.
      await byTestId(page, 'watch-pause').click();
      const held = await eventFor(page, (e) => e.key === '/ui-pause/held', 'the held event after resume');
      expect(held.revision).toBe(heldRev);

      await byTestId(page, 'watch-stop').click();
      await putRev(a, '/ui-pause/after-stop', 'unseen');
      await sleep(QUIET_WINDOW_MS);
      expect((await shownEvents(page)).filter((e) => e.key === '/ui-pause/after-stop'), 'events shown after stop').toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a lease granted by etcdctl shows its TTL and key, counts down, and disappears at expiry', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, b, 'leases');
      const hex = /lease ([0-9a-f]+) granted/.exec(await ctlOk(a, ['lease', 'grant', '5']))![1]!;
      const id = BigInt(`0x${hex}`).toString(10);
      await ctlOk(a, ['put', '/ui-lease/attached', 'x', `--lease=${hex}`]);
      await byTestId(page, 'lease-refresh').click();
      const row = page.locator(`[data-testid="lease-row"][data-lease-id="${id}"]`);
      await row.waitFor({ state: 'visible' });
      expect(await textOf(row, 'lease-ttl')).toMatch(/\b5\b/);
      expect(await textOf(row, 'lease-keys')).toContain('/ui-lease/attached');
      const remaining = async (): Promise<number> => Number(/\d+/.exec(await textOf(row, 'lease-remaining'))?.[0] ?? NaN);
      const first = await remaining();
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThanOrEqual(5);
      await waitFor('lease-remaining to count down', 5_000, async () => ((await remaining()) < first ? true : undefined), 200);
      await browser().screenshot(page, 'leases');
      // Expiry: the row goes without a refresh click, and etcdctl agrees the lease is gone.
      await row.waitFor({ state: 'detached', timeout: 5_000 + 10_000 });
      expect(await ctlOk(a, ['lease', 'list'])).not.toContain(hex);
      expect(await ctlGetKv(a, '/ui-lease/attached')).toBeUndefined();
    } finally {
      await context.close();
    }
  });

  it('revokes a lease in the page only when confirmed; cancel leaves it', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const hex = /lease ([0-9a-f]+) granted/.exec(await ctlOk(a, ['lease', 'grant', '600']))![1]!;
    const id = BigInt(`0x${hex}`).toString(10);
    await ctlOk(a, ['put', '/ui-lease/revoked', 'x', `--lease=${hex}`]);
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, b, 'leases');
      const row = page.locator(`[data-testid="lease-row"][data-lease-id="${id}"]`);
      await row.waitFor({ state: 'visible' });
      await byTestId(row, 'lease-revoke').click();
      await answerConfirm(page, false);
      expect(await ctlOk(a, ['lease', 'list'])).toContain(hex);

      await byTestId(row, 'lease-revoke').click();
      await answerConfirm(page, true);
      await waitFor('etcdctl to find the lease revoked', 10_000, async () => (!(await ctlOk(a, ['lease', 'list'])).includes(hex) ? true : undefined));
      expect(await ctlGetKv(a, '/ui-lease/revoked')).toBeUndefined();
      await row.waitFor({ state: 'detached' });
    } finally {
      await context.close();
    }
  });
});
