// Issue 5 acceptance on a three-member cluster: watches are served by whichever
// member the client is connected to, from its applied state; they survive leader
// changes; a client that reconnects after its member restarted resumes without
// gaps or duplicates; and a thousand watchers plus one client that never reads
// neither slow the writers and the other watchers beyond a bound nor grow the
// member's memory. One cluster is shared by the whole file (two cores); every
// case leaves all three members running and starts any a failure left stopped.
//
// ETCD_TS_E2E_IMPL=etcd runs the same file against the real etcd on PATH.

import { Etcd3, type IKeyValue } from 'etcd3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as pb from '../../src/pb/types.js';
import { Cluster, eachCaseOnCluster, MaintenanceClient, sleep, waitFor } from './helpers/cluster.js';
import { requireEtcdctl } from './helpers/etcd-process.js';
import { KvClient } from './helpers/kv-client.js';
import type { Member } from './helpers/member.js';
import { StuckWatch } from './helpers/stuck-watch.js';
import { WatchClient } from './helpers/watch-client.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const RUN = requireEtcdctl();
const ELECTION_BOUND_MS = 10_000;

const b = (s: string): Buffer => Buffer.from(s);

/** An etcd3 client on exactly one member that retries its watch stream quickly and never trips a circuit breaker. */
function etcd3On(m: Member): Etcd3 {
  const passThrough = { execute: <T>(fn: (ctx: { signal: AbortSignal }) => T) => Promise.resolve().then(() => fn({ signal: new AbortController().signal })) };
  const quickRetry = { duration: 200, next: () => quickRetry };
  return new Etcd3({
    hosts: `http://${m.endpoint}`,
    faultHandling: { host: () => passThrough as never, global: passThrough as never, watchBackoff: { next: () => quickRetry } as never },
  });
}

/** [type, key, value, mod revision] as both clients report them. */
type Ev = [string, string, string, number];

/** Writes through a KvClient, retrying while the cluster has no leader; returns the revision. */
async function putRetry(kv: KvClient, key: string, value: string, timeoutMs = 20_000): Promise<number> {
  return waitFor(`put ${key}`, timeoutMs, async () => Number((await kv.put(key, value)).header!.revision), 100);
}

describe.skipIf(!RUN)(`watch on a three-member cluster (${IMPL})`, () => {
  let cluster: Cluster;
  const maint = new Map<Member, MaintenanceClient>();

  async function leaderOf(): Promise<Member> {
    const id = await waitFor('one leader agreed by every running member', ELECTION_BOUND_MS, async () => {
      const ids = await Promise.all(cluster.running().map(async (m) => (await maint.get(m)!.status(1_000)).leader));
      return ids[0] !== 0n && ids.every((i) => i === ids[0]) ? ids[0] : undefined;
    });
    for (const m of cluster.running()) if ((await maint.get(m)!.status()).header!.memberId === id) return m;
    throw new Error('leader not among the running members');
  }

  beforeAll(async () => {
    cluster = await Cluster.create({ impl: IMPL });
    for (const m of cluster.members) maint.set(m, new MaintenanceClient(m.endpoint));
    await cluster.start();
    await leaderOf();
  });

  afterAll(async () => {
    for (const c of maint.values()) c.close();
    await cluster?.cleanup();
  });

  beforeEach(eachCaseOnCluster(() => cluster, leaderOf));

  it('etcd3 client: a prefix watched on one member, written through another: every event once, in order', async () => {
    const [a, , c] = cluster.members as [Member, Member, Member];
    const client = etcd3On(c);
    const kv = new KvClient(a.endpoint);
    const got: Ev[] = [];
    const want: Ev[] = [];
    try {
      const w = await client.watch().prefix('pfx/').create();
      w.on('put', (kv: IKeyValue) => got.push(['PUT', kv.key.toString(), kv.value.toString(), Number(kv.mod_revision)]));
      w.on('delete', (kv: IKeyValue) => got.push(['DELETE', kv.key.toString(), '', Number(kv.mod_revision)]));
      for (let i = 0; i < 150; i++) {
        const key = `pfx/${i % 40}`;
        if (i % 10 === 9) {
          const d = await kv.deleteRange({ key: b(key) });
          // deleting a missing key makes no revision and no event
          if (d.deleted > 0n) want.push(['DELETE', key, '', Number(d.header!.revision)]);
        } else if (i % 25 === 0) {
          const t = await kv.txn({ success: [{ requestPut: { key: b(`pfx/t${i}`), value: b('1') } }, { requestPut: { key: b(`pfx/u${i}`), value: b('2') } }] });
          const r = Number(t.header!.revision);
          want.push(['PUT', `pfx/t${i}`, '1', r], ['PUT', `pfx/u${i}`, '2', r]);
        } else {
          const r = Number((await kv.put(key, `v${i}`)).header!.revision);
          want.push(['PUT', key, `v${i}`, r]);
        }
        if (i % 50 === 0) await kv.put('other', 'not watched');
      }
      await waitFor('every event at the watcher', 15_000, async () => (got.length >= want.length ? true : undefined), 20);
      await sleep(300); // a duplicate would show up by now
      expect(got).toEqual(want);
      await w.cancel();
    } finally {
      kv.close();
      client.close();
    }
  });

  it('etcd3 client: the member it watches through restarts; it resumes from its last revision without a gap or a duplicate', async () => {
    const [a, , c] = cluster.members as [Member, Member, Member];
    const client = etcd3On(c);
    const kv = new KvClient(a.endpoint, { timeoutMs: 5_000 });
    const got: number[] = [];
    const want: number[] = [];
    let writing = true;
    let ambiguous = 0;
    try {
      const w = await client.watch().prefix('rs/').create();
      let disconnects = 0;
      w.on('disconnected', () => disconnects++);
      w.on('put', (kv: IKeyValue) => got.push(Number(kv.mod_revision)));
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const key = `rs/${i}`;
          try {
            want.push(Number((await kv.put(key, String(i))).header!.revision));
          } catch {
            // Not acknowledged (e.g. a leadership transfer dropped it): it may
            // still have been applied; a linearizable read settles which.
            ambiguous++;
            const r = await waitFor(`read back ${key}`, 20_000, async () => kv.get(key), 100);
            if (r.kvs.length > 0) want.push(Number(r.kvs[0]!.modRevision));
          }
          await sleep(5);
        }
      })();
      await waitFor('some events before the restart', 10_000, async () => (got.length >= 50 ? true : undefined), 20);
      await c.stop();
      const during = want.length;
      await waitFor('writes while the member is down', 10_000, async () => (want.length >= during + 50 ? true : undefined), 20);
      await cluster.start([c]);
      await waitFor('the watcher to reconnect and see new writes', 30_000, async () => (got.length > 0 && got[got.length - 1]! > want[during + 50]! ? true : undefined), 50);
      writing = false;
      await writer;
      await waitFor('every acknowledged write at the watcher', 15_000, async () => (got.length >= want.length ? true : undefined), 20);
      await sleep(300);
      expect(disconnects).toBeGreaterThan(0);
      expect(got, `${ambiguous} writes were read back`).toEqual(want);
      await w.cancel();
    } finally {
      writing = false;
      kv.close();
      client.close();
    }
  }, 90_000);

  it('a watch on a follower keeps its stream and its events through the loss of the leader', async () => {
    const leader = await leaderOf();
    const follower = cluster.members.find((m) => m !== leader)!;
    const w = new WatchClient(follower.endpoint);
    const kv = new KvClient(follower.endpoint, { timeoutMs: 3_000 });
    try {
      w.create({ key: b('lc/'), rangeEnd: b('lc0') });
      expect(await w.next()).toMatchObject({ created: true });
      const r1 = await putRetry(kv, 'lc/1', 'before');
      expect((await w.events(0n, 1)).map((e) => Number(e.kv!.modRevision))).toEqual([r1]);
      await leader.kill9();
      const r2 = await putRetry(kv, 'lc/2', 'after');
      const newLeader = await leaderOf();
      expect(newLeader).not.toBe(leader);
      const evs = await w.events(0n, 1, 15_000);
      expect(evs.map((e) => [e.kv!.key.toString(), Number(e.kv!.modRevision)])).toEqual([['lc/2', r2]]);
      expect(w.error).toBeUndefined();
    } finally {
      w.close();
      kv.close();
    }
  }, 60_000);

  it('1000 watchers on one prefix and one client that never reads: writers and watchers keep their pace, memory stays bounded, the stuck one catches up exactly once', async () => {
    const [a, , c] = cluster.members as [Member, Member, Member];
    const kv = new KvClient(a.endpoint);
    // 1000 watchers: 4 connections × 2 streams × 125 watchers, all on "fan/".
    const streams: WatchClient[] = [];
    for (let conn = 0; conn < 4; conn++) {
      const first = new WatchClient(c.endpoint);
      streams.push(first, new WatchClient(c.endpoint, { client: first.grpcClient }));
    }
    let stuck: StuckWatch | undefined;
    const metricsOf = async (m: Member): Promise<(name: string) => number> => {
      const text = await (await fetch(`${m.clientUrl}/metrics`)).text();
      return (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    };
    const watchersBefore = IMPL === 'etcd-ts' ? (await metricsOf(c))('etcd_debugging_mvcc_watcher_total') : 0;
    const received = (s: WatchClient): number => s.responses.reduce((n, r) => n + r.events.length, 0);
    try {
      for (const s of streams) for (let i = 0; i < 125; i++) s.create({ key: b('fan/'), rangeEnd: b('fan0') });
      await waitFor('1000 watchers created', 20_000, async () =>
        (streams.every((s) => s.responses.filter((r) => r.created).length === 125) ? true : undefined), 20);

      const value = 'x'.repeat(100);
      const writeAll = async (from: number, n: number): Promise<{ revs: number[]; ms: number }> => {
        const revs: number[] = [];
        const t0 = Date.now();
        for (let i = from; i < from + n; i++) revs.push(Number((await kv.put(`fan/${i}`, value)).header!.revision));
        return { revs, ms: Date.now() - t0 };
      };
      const allDelivered = (count: number, ms: number) =>
        waitFor(`${count} events at each of the 1000 watchers`, ms, async () =>
          (streams.every((s) => received(s) >= 125 * count) ? true : undefined), 20);

      // Baseline: the 1000 watchers alone.
      const base = await writeAll(0, 100);
      await allDelivered(100, 30_000);

      // One more watcher on the prefix whose client stops reading at once. Its
      // 1 KiB HTTP/2 window, Node's and grpc-js's write buffers and then the
      // stream's queue take a few hundred responses before the hub is refused.
      stuck = new StuckWatch(c.endpoint, 1024);
      stuck.create({ key: b('fan/'), rangeEnd: b('fan0') });
      await waitFor('the stuck watcher created', 10_000, async () => (stuck!.responses.length === 1 ? true : undefined), 20);
      stuck.pause();
      const t0 = Date.now();
      const more = await writeAll(100, 400);
      await allDelivered(500, 30_000);
      const lagMs = Date.now() - t0 - more.ms;

      // Writers: per-write time within a generous factor of the baseline.
      expect(more.ms / 400, `baseline ${base.ms / 100} ms/put`).toBeLessThan(3 * (base.ms / 100) + 20);
      // The other watchers had everything a few seconds after the last write at most.
      expect(lagMs).toBeLessThan(10_000);
      const want = [...base.revs, ...more.revs];
      for (const s of streams) {
        const byId = new Map<bigint, number[]>();
        for (const r of s.responses) for (const e of r.events) byId.set(r.watchId, [...(byId.get(r.watchId) ?? []), Number(e.kv!.modRevision)]);
        expect(byId.size).toBe(125);
        for (const revs of byId.values()) expect(revs).toEqual(want);
      }

      // The stuck watcher was moved aside, and what waits for it is bounded.
      if (IMPL === 'etcd-ts') {
        const metric = await metricsOf(c);
        expect(metric('etcd_debugging_mvcc_watcher_total')).toBe(watchersBefore + 1001);
        expect(metric('etcd_debugging_mvcc_slow_watcher_total')).toBe(1);
        expect(metric('etcdts_watch_send_buffer_bytes')).toBeLessThan(256 * 1024);
        expect(metric('process_resident_memory_bytes')).toBeLessThan(400 * 1024 * 1024);
      }

      // Once it reads, it gets every event once, in order.
      stuck.resume();
      await waitFor('the stuck watcher to catch up', 20_000, async () =>
        (stuck!.responses.reduce((n, r) => n + r.events.length, 0) >= 400 ? true : undefined), 20);
      await sleep(300);
      expect(stuck.responses.flatMap((r: pb.WatchResponse) => r.events.map((e) => Number(e.kv!.modRevision)))).toEqual(more.revs);
    } finally {
      stuck?.close();
      for (const s of streams) s.close();
      kv.close();
    }
  }, 120_000);
});
