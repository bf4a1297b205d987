// Bench (not a test: it prints numbers and asserts only that the run worked): the
// dashboard with a large keyspace and a steady watch. A 3-member bin/etcd-ts cluster
// gets UI_BENCH_KEYS keys (default 100,000) under /bench/ in txn batches; headless
// Chromium opens the keys page and pages through the prefix, then watches
// /bench-watch/ while UI_BENCH_RATE puts a second (default 10) go on for
// UI_BENCH_SECONDS (default 20). Printed: the load's rate; time to the first tree
// node, to the filtered prefix and to the next page; the range requests the page sent
// (count, largest limit, kvs and bytes loaded); each event's delay from the put's
// acknowledgement to its row in the DOM (p50/p95/max); main-thread long tasks; the
// round trip of a requestAnimationFrame probe while events stream; the page's JS heap.
// Run with bench/ui-responsive.sh.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserForFile } from '../../test/e2e/helpers/browser.js';
import { writeMany } from '../../test/e2e/helpers/bulk-write.js';
import { clusterForBlock, sleep, waitFor } from '../../test/e2e/helpers/cluster.js';
import { byTestId, gotoUi, openDashboard, revealKey } from '../../test/e2e/helpers/dashboard.js';
import { KvClient } from '../../test/e2e/helpers/kv-client.js';
import type { Member } from '../../test/e2e/helpers/member.js';
import { clusterView } from '../../test/e2e/helpers/ui-ctl.js';

const KEYS = Number(process.env.UI_BENCH_KEYS ?? 100_000);
const RATE = Number(process.env.UI_BENCH_RATE ?? 10);
const SECONDS = Number(process.env.UI_BENCH_SECONDS ?? 20);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const ms = (x: number): string => `${x.toFixed(0)} ms`;

/** Installs in-page recorders: each watch-event row's arrival time, and long tasks. */
async function instrument(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __bench: { arrivals: Record<string, number>; longTasks: number[] } };
    w.__bench = { arrivals: {}, longTasks: [] };
    new MutationObserver((muts) => {
      const now = Date.now();
      for (const m of muts)
        for (const n of m.addedNodes) {
          if (!(n instanceof Element)) continue;
          const rows = n.matches('[data-testid="watch-event"]') ? [n] : [...n.querySelectorAll('[data-testid="watch-event"]')];
          for (const r of rows) {
            const rev = r.getAttribute('data-revision');
            if (rev && !(rev in w.__bench.arrivals)) w.__bench.arrivals[rev] = now;
          }
        }
    }).observe(document.body, { childList: true, subtree: true });
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__bench.longTasks.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    } catch {
      // no long-task timing in this browser: reported as none
    }
  });
}

describe('bench: dashboard with a large keyspace and a steady watch', () => {
  const cluster = clusterForBlock({}, 120_000);
  const browser = browserForFile();

  it(`${KEYS} keys, ${RATE} events/s for ${SECONDS} s`, async () => {
    const [a, b] = cluster().members as [Member, Member];
    await clusterView(cluster().members);
    const t0 = Date.now();
    await writeMany(a.endpoint, '/bench/k', KEYS, { parallel: 8 });
    const loadSec = (Date.now() - t0) / 1000;
    console.log(`load: ${KEYS} keys in ${loadSec.toFixed(1)} s (${(KEYS / loadSec).toFixed(0)} keys/s, txn batches of 128, 8 in flight)`);

    const { context, page } = await browser().newPage();
    const ranges: { limit: number; kvs: number; bytes: number }[] = [];
    page.on('response', (res) => {
      if (!res.url().includes('/v3/kv/range')) return;
      void res.body().then((body) => {
        const req = (res.request().postDataJSON() ?? {}) as { limit?: string | number };
        const kvs = (JSON.parse(body.toString()) as { kvs?: unknown[] }).kvs?.length ?? 0;
        ranges.push({ limit: Number(req.limit ?? 0), kvs, bytes: body.length });
      }, () => undefined);
    });
    try {
      const t1 = Date.now();
      await openDashboard(page, b, 'keys');
      await byTestId(page, 'tree-node').first().waitFor({ state: 'visible', timeout: 60_000 });
      const firstNode = Date.now() - t1;
      const t2 = Date.now();
      await byTestId(page, 'key-filter').fill('/bench/');
      await byTestId(page, 'key-filter-go').click();
      await revealKey(page, '/bench/k000000', 60_000);
      const filtered = Date.now() - t2;
      const count = async (): Promise<number> => byTestId(page, 'tree-node').count();
      const before = await count();
      const t3 = Date.now();
      await byTestId(page, 'key-tree-more').click();
      await waitFor('the next page', 60_000, async () => ((await count()) > before ? true : undefined), 20);
      const more = Date.now() - t3;
      await sleep(500);
      console.log(`keys page: first tree node ${ms(firstNode)}, /bench/ filtered to its first key ${ms(filtered)}, next page ${ms(more)} (${before} -> ${await count()} nodes)`);
      console.log(`range requests: ${ranges.length}, largest limit ${Math.max(0, ...ranges.map((r) => r.limit))}, kvs loaded ${ranges.reduce((n, r) => n + r.kvs, 0)} of ${KEYS}, ${(ranges.reduce((n, r) => n + r.bytes, 0) / 1024).toFixed(0)} KiB`);

      // The watch page under a steady stream.
      await gotoUi(page, b, 'watch');
      await byTestId(page, 'watch-prefix-input').fill('/bench-watch/');
      await byTestId(page, 'watch-start').click();
      await instrument(page);
      const kv = new KvClient(a.endpoint, { timeoutMs: 5_000 });
      const acked = new Map<string, number>();
      const probes: number[] = [];
      try {
        // Let the watch register: probe puts until one shows.
        await waitFor('the watch to deliver', 15_000, async () => {
          await kv.put('/bench-watch/probe', 'p');
          return (await byTestId(page, 'watch-event').count()) > 0 ? true : undefined;
        }, 300);
        const end = Date.now() + SECONDS * 1000;
        const writer = (async () => {
          for (let i = 0; Date.now() < end; i++) {
            const started = Date.now();
            const res = await kv.put(`/bench-watch/k${i % 50}`, `value ${i}`);
            acked.set(String(res.header!.revision), Date.now());
            await sleep(Math.max(0, 1000 / RATE - (Date.now() - started)));
          }
        })();
        while (Date.now() < end) {
          const s = Date.now();
          await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => r())));
          probes.push(Date.now() - s);
          await sleep(250);
        }
        await writer;
        await sleep(2_000);
      } finally {
        kv.close();
      }
      const seen = (await page.evaluate(() => (window as unknown as { __bench: { arrivals: Record<string, number>; longTasks: number[] } }).__bench));
      const delays = [...acked].flatMap(([rev, t]) => (rev in seen.arrivals ? [seen.arrivals[rev]! - t] : []));
      const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);
      console.log(`watch: ${acked.size} puts at ${RATE}/s, ${delays.length} shown; put ack -> row in DOM p50 ${ms(pct(delays, 50))}, p95 ${ms(pct(delays, 95))}, max ${ms(Math.max(...delays))}`);
      console.log(`main thread: ${seen.longTasks.length} long tasks (max ${ms(Math.max(0, ...seen.longTasks))}, total ${ms(seen.longTasks.reduce((x, y) => x + y, 0))}); rAF probe round trip p50 ${ms(pct(probes, 50))}, max ${ms(Math.max(...probes))}; JS heap ${(heap / 2 ** 20).toFixed(1)} MiB; ${await byTestId(page, 'watch-event').count()} event rows`);
      console.log(JSON.stringify({ keys: KEYS, loadSec, firstNode, filtered, more, ranges: ranges.length, delaysP50: pct(delays, 50), delaysP95: pct(delays, 95), longTasks: seen.longTasks.length, probeP50: pct(probes, 50), heap }));
      expect(delays.length, 'events shown').toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  }, 15 * 60_000);
});
