// Issue 4 acceptance: three bin/etcd-ts processes started with etcd's cluster flags
// form one fault-tolerant store, driven by the official etcdctl and a grpc-js client.
// One cluster is shared by the whole file (two cores): every case leaves all three
// members running, and starts any that an earlier failure left stopped.
//
// ETCD_TS_E2E_IMPL=etcd runs the same file against the real etcd on PATH, which
// keeps the expectations honest.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, eachCaseOnCluster, leaderLookups, MaintenanceClient, parseJsonBigIds, sleep, waitFor } from './helpers/cluster.js';
import { etcdctl, requireEtcdctl, type CtlResult } from './helpers/etcd-process.js';
import { KvClient } from './helpers/kv-client.js';
import type { Member } from './helpers/member.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const RUN = requireEtcdctl();

/** Bound for a new leader after the old one died: a few election timeouts (1 s by default) plus pre-vote. */
const ELECTION_BOUND_MS = 10_000;
/** Bound for a restarted or lagging member to catch up. */
const CATCH_UP_BOUND_MS = 15_000;

interface CtlStatus {
  Endpoint: string;
  Status: { header: { member_id: string | number }; leader: string | number; raftIndex: number; raftAppliedIndex?: number };
}
interface CtlMember { ID: string | number; name: string; peerURLs: string[]; clientURLs?: string[] }

function describeCtl(r: CtlResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

async function ctlOk(m: Member, args: string[]): Promise<string> {
  const r = await etcdctl(m.clientPort, args);
  expect(r.code, `etcdctl ${args.join(' ')} via ${m.name}: ${describeCtl(r)}`).toBe(0);
  return r.stdout;
}

describe.skipIf(!RUN)(`three-member cluster (${IMPL})`, () => {
  let cluster: Cluster;
  const maint = new Map<Member, MaintenanceClient>();

  const { statusOf, agreedLeader, memberById } = leaderLookups(() => cluster.running(), maint);

  /** Polls until every member reports the same applied index (and it holds still for a moment). */
  async function waitAllApplied(timeoutMs = CATCH_UP_BOUND_MS): Promise<bigint> {
    let prev: bigint | undefined;
    return waitFor('every member at the same applied index', timeoutMs, async () => {
      const idx = await Promise.all(cluster.members.map(async (m) => (await statusOf(m, 1_000)).raftAppliedIndex));
      const same = idx.every((i) => i === idx[0]);
      if (!same) {
        prev = undefined;
        return undefined;
      }
      if (prev === idx[0]) return idx[0];
      prev = idx[0];
      return undefined;
    }, 200);
  }

  beforeAll(async () => {
    // A low --snapshot-count: snapshots and log release happen throughout the file.
    cluster = await Cluster.create({ impl: IMPL, extraArgs: ['--snapshot-count', '200'] });
    for (const m of cluster.members) maint.set(m, new MaintenanceClient(m.endpoint));
    await cluster.start();
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
  });

  afterAll(async () => {
    for (const c of maint.values()) c.close();
    await cluster?.cleanup();
  });

  // A case that failed half-way may leave members stopped: the next one starts them.
  beforeEach(eachCaseOnCluster(() => cluster, () => agreedLeader(cluster.members, ELECTION_BOUND_MS)));

  it('member list (table and -w json) shows three members with names, peer and client URLs', async () => {
    const [, b, c] = cluster.members as [Member, Member, Member];

    // Table: "<hex id>, started, <name>, <peer urls>, <client urls>, <is learner>"
    const table = await ctlOk(b, ['member', 'list']);
    const rows = table.trim().split('\n').map((l) => l.split(', '));
    expect(rows, table).toHaveLength(3);
    for (const m of cluster.members) {
      const row = rows.find((r) => r[2] === m.name);
      expect(row, `${m.name} in\n${table}`).toBeDefined();
      expect(row![0]).toMatch(/^[0-9a-f]{1,16}$/);
      expect(row![1]).toBe('started');
      expect(row![3]).toBe(m.peerUrl);
      expect(row![4]).toBe(m.clientUrl);
    }

    const listJson = parseJsonBigIds(await ctlOk(c, ['member', 'list', '-w', 'json'])) as { members: CtlMember[] };
    expect(listJson.members).toHaveLength(3);
    const ids = new Set<string>();
    for (const m of cluster.members) {
      const entry = listJson.members.find((e) => e.name === m.name);
      expect(entry, `${m.name} in member list -w json`).toBeDefined();
      expect(entry!.peerURLs).toEqual([m.peerUrl]);
      expect(entry!.clientURLs).toEqual([m.clientUrl]);
      ids.add(String(entry!.ID));
      // The table's hex id is the JSON's decimal id.
      const row = rows.find((r) => r[2] === m.name)!;
      expect(BigInt(`0x${row[0]}`).toString()).toBe(String(entry!.ID));
    }
    expect(ids.size).toBe(3);
  });

  /** Checks `endpoint status -w json` output: one status per member, all naming the same leader, which is one of them. */
  async function expectOneLeader(via: Member, args: string[]): Promise<void> {
    const statuses = parseJsonBigIds(await ctlOk(via, ['endpoint', 'status', ...args, '-w', 'json'])) as CtlStatus[];
    expect(statuses.map((s) => s.Endpoint.replace(/^http:\/\//, '')).sort()).toEqual(cluster.members.map((m) => m.endpoint).sort());
    const ids = new Set(statuses.map((s) => String(s.Status.header.member_id)));
    expect(ids.size).toBe(3);
    const leaders = new Set(statuses.map((s) => String(s.Status.leader)));
    expect(leaders.size, JSON.stringify(statuses)).toBe(1);
    const [leader] = [...leaders];
    expect(leader).not.toBe('0');
    // Exactly one member is the leader all of them name.
    expect(statuses.filter((s) => String(s.Status.header.member_id) === leader), JSON.stringify(statuses)).toHaveLength(1);
  }

  it('endpoint status over the three client endpoints shows one leader', async () => {
    // etcdctl's --endpoints is a string slice: given twice, the second list is appended
    // to the helper's (a's endpoint), so this names all three once each.
    const [a, ...others] = cluster.members as [Member, Member, Member];
    await expectOneLeader(a, [`--endpoints=${cluster.endpoints(others)}`]);
  });

  it('endpoint status --cluster (client URLs from the member list) shows three members and one leader', async () => {
    // etcdctl dials each advertised client URL as given (http://...), which becomes
    // the HTTP/2 :authority of its Status call.
    for (const via of cluster.members) await expectOneLeader(via, ['--cluster']);
  });

  it('a write through one member is read through each of the others, linearizable and serializable', async () => {
    const [a, b, c] = cluster.members as [Member, Member, Member];
    for (const [writer, readers] of [[a, [b, c]], [b, [c, a]], [c, [a, b]]] as const) {
      const key = `rw/${writer.name}`;
      const value = `written-through-${writer.name}-${Date.now()}`;
      expect(await ctlOk(writer, ['put', key, value])).toBe('OK\n');
      for (const r of readers) {
        // Linearizable (the default): must see the acknowledged write at once.
        expect(await ctlOk(r, ['get', key]), `linearizable get via ${r.name}`).toBe(`${key}\n${value}\n`);
      }
    }
    // Serializable reads answer from local state and may lag; they converge within a bound.
    const key = 'rw/serializable';
    const value = `s-${Date.now()}`;
    expect(await ctlOk(a, ['put', key, value])).toBe('OK\n');
    for (const r of [b, c]) {
      await waitFor(`serializable read of ${key} via ${r.name}`, CATCH_UP_BOUND_MS, async () => {
        const out = await ctlOk(r, ['get', key, '--consistency=s']);
        return out === `${key}\n${value}\n` ? true : undefined;
      });
    }
  });

  it('a txn of reads through each member sees the write just acknowledged through another, and takes no log entry', async () => {
    const [a, b, c] = cluster.members as [Member, Member, Member];
    const txnOfReads = (key: string, value: string): string => `value("${key}") = "${value}"\n\nget ${key}\n\nget rw/none\n\n`;
    for (const [writer, readers] of [[a, [b, c]], [b, [c, a]], [c, [a, b]]] as const) {
      const key = `rtxn/${writer.name}`;
      const value = `v-${Date.now()}`;
      expect(await ctlOk(writer, ['put', key, value])).toBe('OK\n');
      for (const r of readers) {
        const r1 = await etcdctl(r.clientPort, ['txn', '-i'], txnOfReads(key, value));
        expect(r1.stdout, `txn of reads via ${r.name}: ${describeCtl(r1)}`).toContain(`SUCCESS\n\n${key}\n${value}\n`);
      }
    }
    // Served by the member after a ReadIndex barrier, as etcd's: the log does not grow.
    const before = await waitAllApplied();
    for (const m of cluster.members) {
      for (let i = 0; i < 3; i++) {
        const r = await etcdctl(m.clientPort, ['txn', '-i', '-w', 'json'], txnOfReads('rtxn/a', 'no'));
        expect(r.code, describeCtl(r)).toBe(0);
      }
    }
    expect(await waitAllApplied()).toBe(before);
  });

  it('kill -9 of the leader: a new leader, writes continue, the old leader restarts and catches up', async () => {
    const oldLeaderId = await agreedLeader(cluster.members, ELECTION_BOUND_MS);
    const oldLeader = await memberById(oldLeaderId);
    const survivors = cluster.members.filter((m) => m !== oldLeader);

    await oldLeader.kill9();
    const killedAt = Date.now();
    const newLeaderId = await agreedLeader(survivors, ELECTION_BOUND_MS, oldLeaderId);
    const electionMs = Date.now() - killedAt;
    console.log(`leader ${oldLeader.name} killed: new leader agreed by the survivors in ${electionMs} ms`);
    expect(survivors.map((m) => m.name)).toContain((await memberById(newLeaderId)).name);
    expect(electionMs).toBeLessThan(ELECTION_BOUND_MS);

    // Writes through each survivor; linearizable reads through the other.
    for (const [w, r] of [[survivors[0]!, survivors[1]!], [survivors[1]!, survivors[0]!]]) {
      const key = `failover/${w.name}`;
      expect(await ctlOk(w, ['put', key, `via-${w.name}`])).toBe('OK\n');
      expect(await ctlOk(r, ['get', key])).toBe(`${key}\nvia-${w.name}\n`);
    }
    const whileDown = `written-while-${oldLeader.name}-was-down-${Date.now()}`;
    expect(await ctlOk(survivors[0]!, ['put', 'failover/while-down', whileDown])).toBe('OK\n');

    // Same data dir and ports; the initial-cluster flags are ignored on restart.
    await cluster.start([oldLeader]);
    await waitFor(`${oldLeader.name} serves the key written while it was down (serializable)`, CATCH_UP_BOUND_MS, async () => {
      const r = await etcdctl(oldLeader.clientPort, ['get', 'failover/while-down', '--consistency=s']);
      return r.code === 0 && r.stdout === `failover/while-down\n${whileDown}\n` ? true : undefined;
    }, 200);
    // And linearizable through it, plus a write through it.
    expect(await ctlOk(oldLeader, ['get', 'failover/while-down'])).toBe(`failover/while-down\n${whileDown}\n`);
    expect(await ctlOk(oldLeader, ['put', 'failover/after', 'back'])).toBe('OK\n');
    expect(await ctlOk(survivors[1]!, ['get', 'failover/after'])).toBe('failover/after\nback\n');
  });

  it('two members alone accept writes; one alone refuses them with a timeout; the cluster recovers', async () => {
    const [a, b, c] = cluster.members as [Member, Member, Member];

    // If c was the leader, a and b still name it until they notice: wait for another.
    // (etcd transfers leadership before a graceful stop; a proposal forwarded to a
    // stopped leader is lost and its request only times out.)
    const cId = (await statusOf(c)).header!.memberId;
    await c.stop();
    await agreedLeader([a, b], ELECTION_BOUND_MS, cId);
    expect(await ctlOk(a, ['put', 'quorum/two', 'yes'])).toBe('OK\n');
    expect(await ctlOk(b, ['get', 'quorum/two'])).toBe('quorum/two\nyes\n');

    await b.stop();
    // etcdctl gives up after its --command-timeout (5 s, the helper's) or the server
    // answers "request timed out" / "no leader" first; either way: no OK, non-zero exit.
    const t0 = Date.now();
    const refused = await etcdctl(a.clientPort, ['put', 'quorum/one', 'no'], '', 20_000);
    console.log(`one member alone: put refused after ${Date.now() - t0} ms: exit ${refused.code}: ${refused.stderr.trim().split('\n').pop()}`);
    expect(refused.code, describeCtl(refused)).not.toBe(0);
    expect(refused.stdout).not.toContain('OK');
    expect(refused.stderr).toMatch(/request timed out|context deadline exceeded|no leader/);

    // Restart both together (each needs a quorum to publish itself and become ready).
    const t1 = Date.now();
    await cluster.start([b, c]);
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
    console.log(`two members restarted and a leader agreed in ${Date.now() - t1} ms`);
    expect(await ctlOk(c, ['put', 'quorum/recovered', 'yes'])).toBe('OK\n');
    for (const m of cluster.members) {
      expect(await ctlOk(m, ['get', 'quorum/recovered'])).toBe('quorum/recovered\nyes\n');
      expect(await ctlOk(m, ['get', 'quorum/two'])).toBe('quorum/two\nyes\n');
    }
  });

  it('writes in a loop across all endpoints while members are killed and restarted: nothing acknowledged is lost, HashKV agrees', async () => {
    const WRITERS = 4;
    const ROUNDS = 4;
    const acked = new Map<string, string>();
    // A short deadline: a put forwarded to a leader that just died is never answered
    // (the server gives up only after its request timeout) and would stall its writer.
    const clients = cluster.members.map(
      (m) => new KvClient(m.endpoint, {
        timeoutMs: 2_000,
        channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 },
      }),
    );
    let stop = false;
    let attempts = 0;
    let failures = 0;

    const writer = async (w: number): Promise<void> => {
      let i = 0;
      let target = w % clients.length;
      while (!stop) {
        const key = `chaos/${w}/${String(i).padStart(6, '0')}`;
        const value = `w${w}-i${i}-via${target}`;
        i++;
        attempts++;
        try {
          await clients[target]!.put(key, value);
          acked.set(key, value);
        } catch {
          failures++; // not acknowledged: the key may or may not exist at the end
          await sleep(50);
        }
        target = (target + 1) % clients.length;
      }
    };

    const rand = (n: number): number => Math.floor(Math.random() * n);
    const log: string[] = [];
    const chaos = async (): Promise<void> => {
      for (let round = 0; round < ROUNDS; round++) {
        await sleep(800 + rand(700));
        // Mostly one member at a time (quorum kept); the last round takes two down briefly.
        const victims = round === ROUNDS - 1 ? [...cluster.members].sort(() => Math.random() - 0.5).slice(0, 2) : [cluster.members[rand(3)]!];
        for (const v of victims) await v.kill9();
        log.push(`round ${round}: killed ${victims.map((v) => v.name).join('+')} at ${acked.size} acked`);
        await sleep(500 + rand(1000));
        const t0 = Date.now();
        await cluster.start(victims);
        log.push(`round ${round}: restarted in ${Date.now() - t0} ms, at ${acked.size} acked`);
      }
      await sleep(1_000);
    };

    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    try {
      await chaos();
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    for (const c of clients) c.close();
    console.log(`chaos: ${acked.size} acknowledged of ${attempts} attempts (${failures} failed)\n${log.join('\n')}`);
    expect(acked.size, `${attempts} attempts, ${failures} failures\n${log.join('\n')}`).toBeGreaterThan(100);

    // Quiesce: a leader everyone agrees on, and every member applied the same log.
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
    await waitAllApplied();

    // Every acknowledged write is on every member (serializable: each member's own state).
    const revisions: number[] = [];
    for (const m of cluster.members) {
      const kv = new KvClient(m.endpoint);
      try {
        const res = await kv.range({ key: Buffer.from('chaos/'), rangeEnd: Buffer.from('chaos0'), serializable: true });
        const found = new Map(res.kvs.map((e) => [e.key.toString(), e.value.toString()]));
        const missing = [...acked].filter(([k, v]) => found.get(k) !== v);
        expect(missing, `${m.name}: acknowledged writes missing or wrong\n${log.join('\n')}`).toEqual([]);
        revisions.push(Number(res.header!.revision));
      } finally {
        kv.close();
      }
    }
    expect(new Set(revisions).size, `revisions ${revisions.join(',')}`).toBe(1);

    // Same HashKV at the same revision on all three.
    const rev = revisions[0]!;
    const hashes = await Promise.all(cluster.members.map((m) => maint.get(m)!.hashKV(rev)));
    // hash_revision is absent in etcd 3.4's HashKVResponse (0); when set it must be the one asked for.
    for (const h of hashes) if (h.hashRevision !== 0n) expect(Number(h.hashRevision)).toBe(rev);
    const distinct = new Set(hashes.map((h) => h.hash));
    expect(distinct.size, `HashKV at ${rev}: ${hashes.map((h, i) => `${cluster.members[i]!.name}=${h.hash}`).join(' ')}`).toBe(1);

    // The same through etcdctl (endpoint hashkv --rev over the three endpoints).
    const [a, ...others] = cluster.members as [Member, Member, Member];
    const ctlHashes = parseJsonBigIds(
      await ctlOk(a, ['endpoint', 'hashkv', `--rev=${rev}`, `--endpoints=${cluster.endpoints(others)}`, '-w', 'json']),
    ) as { Endpoint: string; HashKV: { hash: number } }[];
    expect(ctlHashes).toHaveLength(3);
    for (const h of ctlHashes) expect(h.HashKV.hash, JSON.stringify(ctlHashes)).toBe(hashes[0]!.hash);
  }, 120_000);

  it('a member stopped while the others write far past the snapshot point catches up through a snapshot of the store', async () => {
    // The leader keeps CATCH_UP_ENTRIES (5000) entries below its latest snapshot; a
    // member further behind than that can only be brought up to date by a snapshot.
    const [a, b, c] = cluster.members as [Member, Member, Member];
    await c.stop();
    await agreedLeader([a, b], ELECTION_BOUND_MS);
    const WRITES = 6_000;
    const clients = [new KvClient(a.endpoint), new KvClient(b.endpoint)];
    let next = 0;
    const writer = async (k: number): Promise<void> => {
      for (let i = next++; i < WRITES; i = next++) await clients[k % 2]!.put(`snap/${i % 500}`, `v${i}`);
    };
    await Promise.all(Array.from({ length: 16 }, (_, k) => writer(k)));
    await clients[0]!.put('snap/last', 'written while c was down');
    for (const k of clients) k.close();

    await cluster.start([c]);
    const kv = new KvClient(c.endpoint);
    try {
      const got = await waitFor('c to serve the last write (serializable)', CATCH_UP_BOUND_MS, async () => {
        const res = await kv.range({ key: Buffer.from('snap/last'), serializable: true });
        return res.kvs[0]?.value.toString();
      });
      expect(got).toBe('written while c was down');
    } finally {
      kv.close();
    }
    if (IMPL === 'etcd-ts') expect(c.log()).toContain("installed the leader's store image from a snapshot");
    await waitAllApplied();
    const rev = Number((await statusOf(a)).header!.revision);
    const hashes = await Promise.all(cluster.members.map((m) => maint.get(m)!.hashKV(rev)));
    expect(new Set(hashes.map((h) => h.hash)).size, hashes.map((h) => h.hash).join(',')).toBe(1);
  }, 120_000);
});
