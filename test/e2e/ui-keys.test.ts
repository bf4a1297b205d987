// Issue 18 (web dashboard), the keyspace page, in headless Chromium against one real
// three-member bin/etcd-ts cluster shared by the file: a key written with etcdctl
// appears in the tree with etcdctl's revisions, version and lease; a key edited, one
// created and one deleted in the page (each confirmed; cancel leaves the key as it
// was) are what etcdctl then reads; the history lists earlier values; and with
// 100,000 keys under one prefix the tree is paged (every range the page sends carries
// a limit, and it loads a page at a time), while a watch on another prefix shows
// every one of 10 puts a second.

import type { Page, Request } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { browserForFile, requireChromium } from './helpers/browser.js';
import { clusterForBlock, eachCaseOnCluster, sleep, waitFor } from './helpers/cluster.js';
import { answerConfirm, byTestId, navigate, openDashboard, putRev, revealKey, selectKey, shownEvents, startWatch, textOf, treeNode } from './helpers/dashboard.js';
import { requireEtcdctl } from './helpers/etcd-process.js';
import { writeMany } from './helpers/bulk-write.js';
import type { Member } from './helpers/member.js';
import { clusterView, ctlGetKv, ctlOk } from './helpers/ui-ctl.js';

const RUN = requireEtcdctl() && requireChromium();
/**
 * The keyspace: 100,000 keys under one prefix (about 8 s to write in txn
 * batches here; bench/ui-responsive.sh times the page against them).
 */
const MANY = 100_000;
const BULK_TXN_OPS = 1_000;
interface RangeCall { key: string; rangeEnd: string; limit: number; countOnly: boolean; returned: number }

/**
 * Records every /v3/kv/range the page sends: its key, range end, limit, and how many
 * kvs came back. `settled` waits (bounded) until every finished request is recorded.
 */
function recordRanges(page: Page): { calls: RangeCall[]; settled: () => Promise<void> } {
  const calls: RangeCall[] = [];
  let pending = 0;
  const b64 = (s: unknown): string => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('latin1') : '');
  page.on('requestfinished', (req: Request) => {
    if (!req.url().includes('/v3/kv/range')) return;
    pending++;
    void (async () => {
      const body = (req.postDataJSON() ?? {}) as Record<string, unknown>;
      let returned = 0;
      try {
        const json = (await (await req.response())?.json()) as { kvs?: unknown[] } | undefined;
        returned = json?.kvs?.length ?? 0;
      } catch {
        // a body cut short: counted as nothing returned
      }
      calls.push({
        key: b64(body.key),
        rangeEnd: b64(body.range_end ?? body.rangeEnd),
        limit: Number(body.limit ?? 0),
        countOnly: body.count_only === true || body.countOnly === true,
        returned,
      });
      pending--;
    })();
  });
  const settled = async (): Promise<void> => {
    await waitFor('range responses to be read', 10_000, async () => (pending === 0 ? true : undefined), 50);
  };
  return { calls, settled };
}

describe.skipIf(!RUN)('dashboard: keyspace page (3 members, Chromium)', () => {
  // Txns of up to 1,000 puts (etcd's --max-txn-ops, default 128): the 100,000 keys go
  // in as 100 proposals instead of 782, which halves the write on a loaded machine.
  const cluster = clusterForBlock({ extraArgs: ['--max-txn-ops', String(BULK_TXN_OPS)] });
  const browser = browserForFile();
  beforeEach(eachCaseOnCluster(cluster, () => clusterView(cluster().members)));

  async function keysPage(m: Member): Promise<{ page: Page; close: () => Promise<void> }> {
    const { context, page } = await browser().newPage();
    await openDashboard(page, m, 'keys');
    await byTestId(page, 'key-tree').waitFor({ state: 'visible' });
    return { page, close: () => context.close() };
  }

  it('shows a key written with etcdctl in the tree, with etcdctl\'s revisions, version, lease and value', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const { page, close } = await keysPage(b);
    try {
      const lease = /lease ([0-9a-f]+) granted/.exec(await ctlOk(a, ['lease', 'grant', '600']))![1]!;
      const firstRev = Number((JSON.parse(await ctlOk(a, ['put', '/ui-keys/app/greeting', 'hello', '-w', 'json'])) as { header: { revision: number } }).header.revision);
      await ctlOk(a, ['put', '/ui-keys/app/greeting', 'hello again', `--lease=${lease}`]);
      await ctlOk(a, ['put', '/ui-keys/app/config', '{"replicas":3,"tags":["a","b"]}']);
      await byTestId(page, 'key-refresh').click();
      const detail = await selectKey(page, '/ui-keys/app/greeting');
      const kv = (await ctlGetKv(a, '/ui-keys/app/greeting'))!;
      expect(await textOf(detail, 'key-value')).toBe('hello again');
      expect(await textOf(detail, 'key-create-revision')).toBe(String(kv.create_revision));
      expect(await textOf(detail, 'key-mod-revision')).toBe(String(kv.mod_revision));
      expect(await textOf(detail, 'key-version')).toBe(String(kv.version));
      const shownLease = await textOf(detail, 'key-lease');
      expect([lease, BigInt(`0x${lease}`).toString(), lease.padStart(16, '0')].some((f) => shownLease.includes(f)), `key-lease "${shownLease}" names lease ${lease}`).toBe(true);
      // History: the earlier value, at the revision etcdctl wrote it.
      const earlier = detail.locator(`[data-testid="key-history-item"][data-revision="${firstRev}"]`);
      await earlier.waitFor({ state: 'visible' });
      expect(await earlier.textContent()).toContain('hello');
      expect(await byTestId(detail, 'key-history-item').count()).toBe(1);

      // A JSON value is shown pretty-printed: still the same document.
      const json = await selectKey(page, '/ui-keys/app/config');
      const text = await textOf(json, 'key-value');
      expect(JSON.parse(text)).toEqual({ replicas: 3, tags: ['a', 'b'] });
      expect(text).toContain('\n');
      await browser().screenshot(page, 'keys');
    } finally {
      await close();
    }
  });

  it('edits a key in the page (confirmed) and etcdctl reads the new value; cancel leaves it', async () => {
    const [a, , c] = cluster().members as [Member, Member, Member];
    await ctlOk(a, ['put', '/ui-keys/edit/me', 'before']);
    const { page, close } = await keysPage(c);
    try {
      const detail = await selectKey(page, '/ui-keys/edit/me');
      await byTestId(page, 'key-edit').click();
      await byTestId(page, 'key-value-input').fill('not saved');
      await byTestId(page, 'key-save').click();
      await answerConfirm(page, false);
      expect((await ctlGetKv(a, '/ui-keys/edit/me'))?.value).toBe('before');

      // The form stays open after a cancelled save: change the value and save again.
      await byTestId(page, 'key-value-input').fill('after: edited in the page');
      await byTestId(page, 'key-save').click();
      await answerConfirm(page, true);
      await waitFor('etcdctl to read the edited value', 10_000, async () =>
        (await ctlGetKv(a, '/ui-keys/edit/me'))?.value === 'after: edited in the page' ? true : undefined,
      );
      const kv = (await ctlGetKv(a, '/ui-keys/edit/me'))!;
      expect(kv.version).toBe(2);
      await waitFor('the page to show the saved value', 10_000, async () =>
        (await textOf(detail, 'key-value')) === 'after: edited in the page' ? true : undefined,
      );
    } finally {
      await close();
    }
  });

  it('creates a new key in the page (confirmed): etcdctl reads it', async () => {
    const [a, b] = cluster().members as [Member, Member];
    const { page, close } = await keysPage(b);
    try {
      await byTestId(page, 'key-new').click();
      await byTestId(page, 'key-new-name').fill('/ui-keys/created/by-page');
      await byTestId(page, 'key-value-input').fill('made in Chromium');
      await byTestId(page, 'key-save').click();
      await answerConfirm(page, true);
      await waitFor('etcdctl to read the new key', 10_000, async () =>
        (await ctlGetKv(a, '/ui-keys/created/by-page'))?.value === 'made in Chromium' ? true : undefined,
      );
      expect((await ctlGetKv(a, '/ui-keys/created/by-page'))!.version).toBe(1);
      await byTestId(page, 'key-refresh').click();
      await revealKey(page, '/ui-keys/created/by-page');
    } finally {
      await close();
    }
  });

  it('deletes a key in the page only when confirmed; cancel leaves it', async () => {
    const [a, b] = cluster().members as [Member, Member];
    await ctlOk(a, ['put', '/ui-keys/delete/me', 'doomed']);
    await ctlOk(a, ['put', '/ui-keys/delete/neighbour', 'stays']);
    const { page, close } = await keysPage(b);
    try {
      await selectKey(page, '/ui-keys/delete/me');
      await byTestId(page, 'key-delete').click();
      await answerConfirm(page, false);
      expect((await ctlGetKv(a, '/ui-keys/delete/me'))?.value).toBe('doomed');

      await selectKey(page, '/ui-keys/delete/me');
      await byTestId(page, 'key-delete').click();
      await answerConfirm(page, true);
      await waitFor('etcdctl to find the key gone', 10_000, async () => ((await ctlGetKv(a, '/ui-keys/delete/me')) === undefined ? true : undefined));
      expect((await ctlGetKv(a, '/ui-keys/delete/neighbour'))?.value).toBe('stays');
      await byTestId(page, 'key-refresh').click();
      await revealKey(page, '/ui-keys/delete/neighbour');
      expect(await treeNode(page, '/ui-keys/delete/me').count()).toBe(0);
    } finally {
      await close();
    }
  });

  it('pages a prefix of 100,000 keys: every range carries a limit, and "more" loads the next page', async () => {
    const [a, b] = cluster().members as [Member, Member];
    await writeMany(a.endpoint, '/ui-big/k', MANY, { txnOps: BULK_TXN_OPS });
    // etcdctl 3.4 has no --count-only: one key with -w json carries the range's count.
    expect((JSON.parse(await ctlOk(a, ['get', '/ui-big/', '--prefix', '--limit', '1', '-w', 'json'])) as { count: number }).count).toBe(MANY);
    const { context, page } = await browser().newPage();
    const ranges = recordRanges(page);
    try {
      await openDashboard(page, b, 'keys');
      await byTestId(page, 'key-filter').fill('/ui-big/');
      await byTestId(page, 'key-filter-go').click();
      const first = await revealKey(page, '/ui-big/k000000');
      expect(await first.isVisible()).toBe(true);
      const shown = async (): Promise<number> =>
        (await byTestId(page, 'tree-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-key') ?? ''))).filter((k) => k.startsWith('/ui-big/k')).length;
      const firstPage = await shown();
      expect(firstPage).toBeGreaterThan(0);
      expect(firstPage, 'keys shown before "more"').toBeLessThan(MANY);
      await byTestId(page, 'key-tree-more').click();
      await waitFor('the next page of keys', 10_000, async () => ((await shown()) > firstPage ? true : undefined), 200);

      await ranges.settled();
      // Ranges over many keys (a range end): each asks for one page, never the whole prefix.
      const multi = ranges.calls.filter((r) => r.rangeEnd !== '' && !r.countOnly);
      expect(multi.length, JSON.stringify(ranges.calls)).toBeGreaterThan(1);
      for (const r of multi) {
        expect(r.limit, `range ${JSON.stringify(r)} carries a limit`).toBeGreaterThan(0);
        expect(r.limit, `range ${JSON.stringify(r)} asks for less than the prefix holds`).toBeLessThan(MANY);
      }
      const loaded = ranges.calls.reduce((n, r) => n + r.returned, 0);
      expect(loaded, 'kvs loaded in all, first page and "more"').toBeLessThan(MANY);
    } finally {
      await context.close();
    }
  });
  it('with 100,000 keys, shows every event of 10 puts a second on a watched prefix, and the tree still pages', async () => {
    const [a, b] = cluster().members as [Member, Member];
    // The previous case wrote the keys; write them here if it ran alone.
    const count = (JSON.parse(await ctlOk(a, ['get', '/ui-big/', '--prefix', '--limit', '1', '-w', 'json'])) as { count?: number }).count ?? 0;
    if (count < MANY) await writeMany(a.endpoint, '/ui-big/k', MANY, { txnOps: BULK_TXN_OPS });
    const { context, page } = await browser().newPage();
    try {
      await openDashboard(page, b, 'watch');
      await startWatch(page, a, '/ui-rate/');
      const revs: number[] = [];
      const writer = (async () => {
        for (let i = 0; i < 30; i++) {
          const started = Date.now();
          revs.push(await putRev(a, `/ui-rate/k${i % 5}`, `v${i}`));
          await sleep(Math.max(0, 100 - (Date.now() - started)));
        }
      })();
      // The controls answer while events stream in (pause, then resume: nothing lost).
      await byTestId(page, 'watch-pause').click();
      await byTestId(page, 'watch-pause').click();
      await writer;
      await waitFor('all 30 events in the page', 15_000, async () => {
        const shown = new Set((await shownEvents(page)).map((e) => e.revision));
        return revs.every((r) => shown.has(r)) ? true : undefined;
      }, 200);
      // The keys page over the large prefix still answers page by page.
      await navigate(page, 'keys');
      await byTestId(page, 'key-filter').fill('/ui-big/');
      await byTestId(page, 'key-filter-go').click();
      await revealKey(page, '/ui-big/k000000');
      await byTestId(page, 'key-tree-more').click();
      await treeNode(page, '/ui-big/k000100').waitFor({ state: 'visible' });
    } finally {
      await context.close();
    }
  });
});
