// Issue 6 acceptance on a three-member cluster: leases survive the loss of the
// leader while a client keeps them alive and expire once it stops; ids above 2^53
// work through followers (which forward keep-alives and time-to-live to the
// leader); members restarted (SIGTERM and kill -9) still hold their leases and
// attached keys, and a lease granted before a restart still expires; 10,000
// leases kept alive do not expire. One cluster is shared by the whole file (two
// cores): every case leaves all three members running, and starts any that an
// earlier failure left stopped.
//
// ETCD_TS_E2E_IMPL=etcd runs the same file against the real etcd on PATH, which
// keeps the expectations honest.

import * as grpc from '@grpc/grpc-js';
import { Etcd3, type Lease } from 'etcd3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, eachCaseOnCluster, leaderLookups, MaintenanceClient, parseJsonBigIds, sleep, waitFor } from './helpers/cluster.js';
import { CtlProcess } from './helpers/ctl-process.js';
import { etcdctl, requireEtcdctl, type CtlResult } from './helpers/etcd-process.js';
import { KvClient } from './helpers/kv-client.js';
import { LeaseClient, leaseHex } from './helpers/lease-client.js';
import type { Member } from './helpers/member.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const RUN = requireEtcdctl();

/** The members' election timeout (the default). */
const ELECTION_MS = 1_000;
/** Bound for a new leader after the old one died: a few election timeouts plus pre-vote. */
const ELECTION_BOUND_MS = 10_000;
/** Bound for a restarted or lagging member to catch up. */
const CATCH_UP_BOUND_MS = 15_000;
/** How long after its last renewal a lease may take to disappear from every member: TTL + 2 election timeouts + 3 s. */
const expiryBoundMs = (ttlSec: number): number => ttlSec * 1_000 + 2 * ELECTION_MS + 3_000;

function describeCtl(r: CtlResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

async function ctlOk(m: Member, args: string[]): Promise<string> {
  const r = await etcdctl(m.clientPort, args);
  expect(r.code, `etcdctl ${args.join(' ')} via ${m.name}: ${describeCtl(r)}`).toBe(0);
  return r.stdout;
}

/** etcd prints a lease's keys in Go map order (random): sorted, for comparing. */
function sortAttachedKeys(out: string): string {
  return out.replace(/attached keys\(\[([^\]]*)\]\)/, (_, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`);
}

/** `lease grant` through a member; the id it printed. */
async function grant(m: Member, ttl: number): Promise<bigint> {
  const out = await ctlOk(m, ['lease', 'grant', String(ttl)]);
  const hex = /^lease ([0-9a-f]{16}) granted with TTL\((\d+)s\)\n$/.exec(out);
  expect(hex, out).not.toBeNull();
  return BigInt(`0x${hex![1]}`);
}

/** Keys under `prefix` in this member's own state (serializable), with their lease ids. */
async function localKeys(m: Member, prefix: string): Promise<Map<string, bigint>> {
  const kv = new KvClient(m.endpoint, { timeoutMs: 5_000 });
  try {
    const end = Buffer.from(prefix);
    end[end.length - 1]!++;
    const res = await kv.range({ key: Buffer.from(prefix), rangeEnd: end, serializable: true });
    return new Map(res.kvs.map((e) => [e.key.toString(), e.lease]));
  } finally {
    kv.close();
  }
}

/** This member's own lease list (LeaseLeases is answered from local state). */
async function localLeases(m: Member): Promise<bigint[]> {
  const lc = new LeaseClient(m.endpoint, { timeoutMs: 5_000 });
  try {
    return (await lc.leases()).leases.map((l) => l.ID);
  } finally {
    lc.close();
  }
}

describe.skipIf(!RUN)(`leases on a three-member cluster (${IMPL})`, () => {
  let cluster: Cluster;
  const maint = new Map<Member, MaintenanceClient>();
  /** Long-running helpers a failed case may leave behind; stopped in afterAll. */
  const ctlProcs: CtlProcess[] = [];
  const etcd3Clients: Etcd3[] = [];

  const { statusOf, agreedLeader, memberById } = leaderLookups(() => cluster.running(), maint);

  async function leaderAndFollowers(): Promise<{ leader: Member; leaderId: bigint; followers: Member[] }> {
    const leaderId = await agreedLeader(cluster.members, ELECTION_BOUND_MS);
    const leader = await memberById(leaderId);
    return { leader, leaderId, followers: cluster.members.filter((m) => m !== leader) };
  }

  /** Polls until every member reports the same applied index (and it holds still for a moment). */
  async function waitAllApplied(timeoutMs = CATCH_UP_BOUND_MS): Promise<void> {
    let prev: bigint | undefined;
    await waitFor('every member at the same applied index', timeoutMs, async () => {
      const idx = await Promise.all(cluster.members.map(async (m) => (await statusOf(m, 1_000)).raftAppliedIndex));
      if (!idx.every((i) => i === idx[0])) {
        prev = undefined;
        return undefined;
      }
      if (prev === idx[0]) return true;
      prev = idx[0];
      return undefined;
    }, 200);
  }

  beforeAll(async () => {
    cluster = await Cluster.create({ impl: IMPL });
    for (const m of cluster.members) maint.set(m, new MaintenanceClient(m.endpoint));
    await cluster.start();
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
  });

  afterAll(async () => {
    for (const p of ctlProcs) await p.kill();
    for (const c of etcd3Clients) c.close();
    for (const c of maint.values()) c.close();
    await cluster?.cleanup();
  });

  beforeEach(eachCaseOnCluster(() => cluster, () => agreedLeader(cluster.members, ELECTION_BOUND_MS)));

  it('a lease id above 2^53 (2^60+7) through followers: grant, put, timetolive and keep-alive forwarded to the leader, revoke', async () => {
    const { leader, followers } = await leaderAndFollowers();
    const [f1, f2] = followers as [Member, Member];
    const ID = 2n ** 60n + 7n;
    const viaF1 = new LeaseClient(f1.endpoint);
    const viaF2 = new LeaseClient(f2.endpoint);
    const viaLeader = new LeaseClient(leader.endpoint);
    const kv = new KvClient(f2.endpoint);
    try {
      const g = await viaF1.grant(60, ID);
      expect(g.ID).toBe(ID);
      expect(g.TTL).toBe(60n);
      await kv.put('big/k', 'v', { lease: ID });
      for (const m of cluster.members) {
        await waitFor(`big/k on ${m.name}`, CATCH_UP_BOUND_MS, async () => ((await localKeys(m, 'big/')).get('big/k') === ID ? true : undefined));
        expect(await localLeases(m), m.name).toContain(ID);
      }
      for (const lc of [viaF1, viaF2, viaLeader]) {
        const t = await lc.timeToLive(ID, true);
        expect(t.ID).toBe(ID);
        expect(t.grantedTTL).toBe(60n);
        expect(t.TTL > 0n && t.TTL <= 60n, `TTL ${t.TTL}`).toBe(true);
        expect(t.keys.map((k) => k.toString())).toEqual(['big/k']);
        const ka = await lc.keepAliveOnce(ID);
        expect(ka.ID).toBe(ID);
        expect(ka.TTL).toBe(60n);
      }
      // etcdctl through a follower: the hex id, exactly.
      expect(await ctlOk(f2, ['lease', 'keep-alive', '--once', leaseHex(ID)])).toBe('lease 1000000000000007 keepalived with TTL(60)\n');
      const j = parseJsonBigIds(await ctlOk(f1, ['lease', 'timetolive', leaseHex(ID), '-w', 'json'])) as { id: string };
      expect(BigInt(j.id)).toBe(ID);

      await viaF2.revoke(ID);
      for (const m of cluster.members) {
        await waitFor(`big/k gone on ${m.name}`, CATCH_UP_BOUND_MS, async () => ((await localKeys(m, 'big/')).size === 0 ? true : undefined));
        expect(await localLeases(m), m.name).not.toContain(ID);
      }
      expect((await viaF1.timeToLive(ID)).TTL).toBe(-1n);
      expect((await viaF1.keepAliveOnce(ID)).TTL).toBe(0n);
    } finally {
      for (const c of [viaF1, viaF2, viaLeader]) c.close();
      kv.close();
    }
  });

  it('kill -9 of the leader while etcdctl and the etcd3 client keep leases alive over all endpoints: no expiry on any member; once they stop, the leases expire within the bound and a watcher sees the deletes', async () => {
    const TTL = 6;
    const { leader, leaderId, followers } = await leaderAndFollowers();
    const watchVia = followers[0]!;
    const all = cluster.endpoints();

    // A watcher on a member that stays up, through the etcd3 client.
    const watchClient = new Etcd3({ hosts: watchVia.endpoint });
    etcd3Clients.push(watchClient);
    const events: { type: string; key: string; at: number }[] = [];
    const watcher = await watchClient.watch().prefix('ka/').create();
    watcher.on('put', (kv) => events.push({ type: 'PUT', key: kv.key.toString(), at: Date.now() }));
    watcher.on('delete', (kv) => events.push({ type: 'DELETE', key: kv.key.toString(), at: Date.now() }));

    // etcdctl keep-alive over all three endpoints.
    const ctlLease = await grant(followers[1]!, TTL);
    await ctlOk(followers[1]!, ['put', 'ka/ctl', 'x', `--lease=${leaseHex(ctlLease)}`]);
    const keeper = CtlProcess.start(all, ['lease', 'keep-alive', leaseHex(ctlLease)]);
    ctlProcs.push(keeper);
    await keeper.until('the first keep-alive', () => keeper.stdout.includes('keepalived'), 10_000);

    // The etcd3 client's own keep-alive loop over all three endpoints.
    const client = new Etcd3({ hosts: all.split(',') });
    etcd3Clients.push(client);
    const lease: Lease = client.lease(TTL);
    const lost: string[] = [];
    lease.on('lost', (err) => lost.push(err.message));
    await lease.put('ka/etcd3').value('y');
    const etcd3Lease = BigInt(await lease.grant());

    await leader.kill9();
    const killedAt = Date.now();
    const survivors = followers;
    await agreedLeader(survivors, ELECTION_BOUND_MS, leaderId);
    console.log(`leader ${leader.name} killed; new leader agreed in ${Date.now() - killedAt} ms`);

    // Three TTLs with the keep-alives running: both leases live on every surviving member.
    const problems: string[] = [];
    const watchUntil = Date.now() + 3 * TTL * 1_000;
    while (Date.now() < watchUntil) {
      for (const m of survivors) {
        const keys = await localKeys(m, 'ka/').catch((e: Error) => new Map([[`error: ${e.message}`, 0n]]));
        if (keys.get('ka/ctl') !== ctlLease || keys.get('ka/etcd3') !== etcd3Lease) {
          problems.push(`${((Date.now() - killedAt) / 1000).toFixed(1)} s: ${m.name} has ${JSON.stringify([...keys.keys()])}`);
        }
        for (const id of [ctlLease, etcd3Lease]) {
          const r = await etcdctl(m.clientPort, ['lease', 'timetolive', leaseHex(id)]);
          if (r.code !== 0 || !new RegExp(`^lease ${leaseHex(id)} granted with TTL\\(${TTL}s\\), remaining\\(\\d+s\\)\\n$`).test(r.stdout)) {
            problems.push(`${((Date.now() - killedAt) / 1000).toFixed(1)} s: timetolive ${leaseHex(id)} via ${m.name}: ${describeCtl(r)}`);
          }
        }
      }
      await sleep(500);
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect(lost).toEqual([]);
    expect(keeper.running, keeper.stdout + keeper.stderr).toBe(true);
    expect(events.filter((e) => e.type === 'DELETE')).toEqual([]);

    // The old leader comes back with both leases and their keys.
    await cluster.start([leader]);
    await waitFor(`${leader.name} to catch up`, CATCH_UP_BOUND_MS, async () => {
      const keys = await localKeys(leader, 'ka/');
      return keys.get('ka/ctl') === ctlLease && keys.get('ka/etcd3') === etcd3Lease ? true : undefined;
    }, 200);
    const restored = await localLeases(leader);
    expect(restored).toContain(ctlLease);
    expect(restored).toContain(etcd3Lease);
    expect(await ctlOk(leader, ['lease', 'timetolive', leaseHex(ctlLease), '--keys'])).toMatch(
      new RegExp(`^lease ${leaseHex(ctlLease)} granted with TTL\\(${TTL}s\\), remaining\\(\\d+s\\), attached keys\\(\\[ka/ctl\\]\\)\\n$`),
    );
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);

    // Stop keeping them alive: both expire, everywhere, within the bound.
    await keeper.kill();
    lease.release();
    const stoppedAt = Date.now();
    const keptUntil = events.length; // nothing deleted so far
    for (const m of cluster.members) {
      await waitFor(`ka/ keys gone on ${m.name}`, expiryBoundMs(TTL), async () => ((await localKeys(m, 'ka/')).size === 0 ? true : undefined), 100);
    }
    console.log(`keep-alives stopped: keys gone from every member after ${Date.now() - stoppedAt} ms (TTL ${TTL} s)`);
    for (const id of [ctlLease, etcd3Lease]) {
      expect(await ctlOk(cluster.members[0]!, ['lease', 'timetolive', leaseHex(id)])).toBe(`lease ${leaseHex(id)} already expired\n`);
    }
    await waitFor('the watcher to see both deletes', 5_000, async () => (events.filter((e) => e.type === 'DELETE').length >= 2 ? true : undefined));
    const deletes = events.slice(keptUntil).filter((e) => e.type === 'DELETE');
    expect(deletes.map((e) => e.key).sort()).toEqual(['ka/ctl', 'ka/etcd3']);
    for (const d of deletes) expect(d.at).toBeGreaterThanOrEqual(stoppedAt);
    await watcher.cancel();
  }, 120_000);

  it('a keep-alive on a member cut off from the others ends its stream with an error (no hang), as etcd does', async () => {
    const [a, b, c] = cluster.members as [Member, Member, Member];
    const lc = new LeaseClient(a.endpoint);
    try {
      const id = (await lc.grant(60)).ID;
      await b.stop();
      await c.stop();
      await waitFor(`${a.name} to lose the leader`, ELECTION_BOUND_MS, async () => ((await statusOf(a)).leader === 0n ? true : undefined), 200);
      const stream = lc.keepAliveStream();
      const t0 = Date.now();
      // etcd gives up after its request timeout (5 s + 2 election timeouts) with "no leader".
      const outcome = await new Promise<string>((res) => {
        const timer = setTimeout(() => res('no answer and no error in 20 s'), 20_000);
        stream.on('data', (r) => {
          clearTimeout(timer);
          res(`answered: TTL ${String(r.TTL)}`);
        });
        stream.on('error', (e: grpc.ServiceError) => {
          clearTimeout(timer);
          res(`error ${grpc.status[e.code]}: ${e.details}`);
        });
        stream.write({ ID: id });
      });
      stream.cancel();
      console.log(`keep-alive without quorum: ${outcome} after ${Date.now() - t0} ms`);
      expect(outcome).toMatch(/^error UNAVAILABLE: etcdserver: (no leader|request timed out)$/);
      await cluster.start([b, c]);
      await agreedLeader(cluster.members, ELECTION_BOUND_MS);
      await lc.revoke(id);
    } finally {
      lc.close();
    }
  }, 60_000);

  it('restarts (one member by SIGTERM, the leader by kill -9, all by SIGTERM, all by kill -9): leases and attached keys survive; a lease granted before a restart still expires after it', async () => {
    const { followers } = await leaderAndFollowers();
    const long = await grant(followers[0]!, 300);
    await ctlOk(followers[0]!, ['put', 'r/1', 'a', `--lease=${leaseHex(long)}`]);
    await ctlOk(followers[1]!, ['put', 'r/2', 'b', `--lease=${leaseHex(long)}`]);
    await ctlOk(followers[1]!, ['put', 'r/plain', 'c']);

    /** A member's own state: the lease in its list, both keys attached to it. */
    const checkLocal = async (m: Member, what: string): Promise<void> => {
      await waitFor(`${m.name} to serve r/ after ${what}`, CATCH_UP_BOUND_MS, async () => ((await localKeys(m, 'r/')).size === 3 ? true : undefined), 200);
      const keys = await localKeys(m, 'r/');
      expect([...keys], `${m.name} after ${what}`).toEqual([['r/1', long], ['r/2', long], ['r/plain', 0n]]);
      expect(await localLeases(m), `${m.name} after ${what}`).toContain(long);
    };
    const checkAll = async (what: string): Promise<void> => {
      await agreedLeader(cluster.members, ELECTION_BOUND_MS);
      for (const m of cluster.members) {
        await checkLocal(m, what);
        const out = await ctlOk(m, ['lease', 'timetolive', leaseHex(long), '--keys']);
        expect(sortAttachedKeys(out), `via ${m.name} after ${what}`).toMatch(
          new RegExp(`^lease ${leaseHex(long)} granted with TTL\\(300s\\), remaining\\(\\d+s\\), attached keys\\(\\[r/1 r/2\\]\\)\\n$`),
        );
      }
    };

    // One follower, SIGTERM.
    const f = followers[0]!;
    const code = await f.stop();
    // A clean exit (etcd re-raises SIGTERM after its cleanup, so it has none).
    if (IMPL === 'etcd-ts') expect(code).toBe(0);
    await cluster.start([f]);
    await checkAll(`SIGTERM of ${f.name}`);

    // The leader, kill -9.
    const { leader } = await leaderAndFollowers();
    await leader.kill9();
    await cluster.start([leader]);
    await checkAll(`kill -9 of the leader ${leader.name}`);

    // All three, SIGTERM: whoever leads next answers from state it restored from disk.
    for (const m of cluster.members) await m.stop();
    await cluster.start();
    await checkAll('SIGTERM of every member');

    // A short lease, then all three kill -9: it still expires after the restart.
    const SHORT = 6;
    const short = await grant(cluster.members[2]!, SHORT);
    await ctlOk(cluster.members[2]!, ['put', 'r/short', 'd', `--lease=${leaseHex(short)}`]);
    await waitAllApplied();
    await Promise.all(cluster.members.map((m) => m.kill9()));
    await cluster.start();
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
    const backAt = Date.now();
    // The short lease is back too (until it expires): its key on every member.
    for (const m of cluster.members) {
      const keys = await localKeys(m, 'r/');
      if (keys.has('r/short')) expect(keys.get('r/short')).toBe(short);
    }
    for (const m of cluster.members) {
      await waitFor(`r/short to expire on ${m.name}`, expiryBoundMs(SHORT), async () => ((await localKeys(m, 'r/')).has('r/short') ? undefined : true), 100);
    }
    console.log(`lease granted before kill -9 of every member: gone ${Date.now() - backAt} ms after the cluster was back (TTL ${SHORT} s)`);
    expect(await ctlOk(cluster.members[0]!, ['lease', 'timetolive', leaseHex(short)])).toBe(`lease ${leaseHex(short)} already expired\n`);
    await checkAll('kill -9 of every member');

    // Revoke: every member deletes the keys its restored lessor has attached.
    await ctlOk(followers[1]!, ['lease', 'revoke', leaseHex(long)]);
    for (const m of cluster.members) {
      await waitFor(`r/1 and r/2 gone on ${m.name}`, CATCH_UP_BOUND_MS, async () => {
        const keys = await localKeys(m, 'r/');
        return keys.size === 1 && keys.has('r/plain') ? true : undefined;
      }, 200);
    }
    await waitAllApplied();
    const rev = Number((await statusOf(cluster.members[0]!)).header!.revision);
    const hashes = await Promise.all(cluster.members.map((m) => maint.get(m)!.hashKV(rev)));
    expect(new Set(hashes.map((h) => h.hash)).size, hashes.map((h) => h.hash).join(',')).toBe(1);
  }, 180_000);

  it('10,000 leases kept alive over three light streams (one per member, bursts of 3,333 every TTL/3): none expires over more than two TTLs', async () => {
    const N = 10_000;
    const TTL = 20;
    /** Each lease is renewed every TTL/3, as clientv3 and the etcd3 client do. */
    const PERIOD_MS = (TTL * 1_000) / 3;
    const WITH_KEY_EVERY = 100;

    // One keep-alive stream per member; each renews its third of the leases every
    // PERIOD_MS in one burst, as clientv3 does when leases granted together come
    // due together (the server must take the burst without starving Raft). The
    // streams run from the start and renew each lease from the round after its
    // grant: on a loaded machine the 10,000 grants can take longer than a TTL.
    const clients = cluster.members.map((m) => new LeaseClient(m.endpoint, { timeoutMs: 30_000 }));
    const kvs = cluster.members.map((m) => new KvClient(m.endpoint, { timeoutMs: 30_000 }));
    const ids: bigint[] = new Array<bigint>(N);
    const mine: bigint[][] = cluster.members.map(() => []);
    const lastRenewed = new Map<bigint, number>();
    const lost = new Set<bigint>();
    const streamErrors: string[] = [];
    let answered = 0;
    let stop = false;
    const loops = cluster.members.map(async (_m, s) => {
      const open = (): ReturnType<LeaseClient['keepAliveStream']> => {
        const st = clients[s]!.keepAliveStream();
        st.on('data', (r) => {
          answered++;
          if (r.TTL > 0n) lastRenewed.set(r.ID, Date.now());
          else lost.add(r.ID);
        });
        st.on('error', (e: grpc.ServiceError) => {
          if (e.code !== grpc.status.CANCELLED) streamErrors.push(`stream ${s}: ${e.details}`);
        });
        return st;
      };
      let stream = open();
      while (!stop) {
        if (stream.destroyed) stream = open();
        for (const id of mine[s]!) stream.write({ ID: id });
        for (let waited = 0; waited < PERIOD_MS && !stop; waited += 250) await sleep(250);
      }
      stream.end();
    });

    // Grants spread over the members, 64 in flight.
    const t0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 64 }, async () => {
      for (let i = next++; i < N; i = next++) {
        ids[i] = (await clients[i % 3]!.grant(TTL)).ID;
        mine[i % 3]!.push(ids[i]!);
        if (i % WITH_KEY_EVERY === 0) await kvs[i % 3]!.put(`many/${i}`, 'v', { lease: ids[i] });
      }
    }));
    console.log(`${N} leases granted in ${Date.now() - t0} ms`);

    const keptFrom = Date.now();
    const HOLD_MS = 2 * TTL * 1_000 + 5_000;
    await sleep(HOLD_MS);
    const renewedAt = Date.now();

    // Every lease still exists on every member, and every key is still there.
    const problems: string[] = [];
    for (const m of cluster.members) {
      const present = new Set(await localLeases(m));
      const missing = ids.filter((id) => !present.has(id));
      if (missing.length) problems.push(`${m.name}: ${missing.length} of ${N} leases missing (e.g. ${leaseHex(missing[0]!)})`);
      const keys = await localKeys(m, 'many/');
      if (keys.size !== N / WITH_KEY_EVERY) problems.push(`${m.name}: ${keys.size} of ${N / WITH_KEY_EVERY} keys left`);
    }
    stop = true;
    await Promise.all(loops);
    // Each lease was renewed within the last round or so (the keep-alives were really running).
    const stale = ids.filter((id) => (lastRenewed.get(id) ?? 0) < renewedAt - 2 * PERIOD_MS);
    console.log(`${N} leases kept alive for ${Date.now() - keptFrom} ms: ${answered} keep-alives answered, ${lost.size} lost, ${stale.length} stale, ${streamErrors.length} stream errors`);
    expect(problems, problems.join('\n')).toEqual([]);
    expect([...lost].map(leaseHex).slice(0, 10)).toEqual([]);
    expect(stale.map(leaseHex).slice(0, 10)).toEqual([]);
    expect(streamErrors).toEqual([]);
    for (const c of clients) c.close();
    for (const k of kvs) k.close();
  }, 240_000);
});
