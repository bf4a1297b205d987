// Issue 14 acceptance: a real HTTP-only client works unchanged. Debian's Patroni 3.0.2
// with PostgreSQL 15, three members, uses a 3-member cluster of ours as its DCS
// through the /v3 JSON gateway (Patroni's `etcd3` section): it elects a leader, a
// `patronictl switchover` moves the leader, and after the leader's Patroni and
// postmaster are killed a replica takes over once the old leader key's lease expires.
// Rows written through each primary must be on the next one (streaming replication
// driven by what Patroni read from the DCS).
//
// ETCD_TS_E2E_IMPL=etcd runs the same file against etcd 3.4.23 (/usr/bin/etcd), which
// keeps the harness honest. Skips only without patroni/PostgreSQL 15 and CI unset.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, waitFor } from './helpers/cluster.js';
import { etcdctl, requireEtcdctl } from './helpers/etcd-process.js';
import { PATRONI_TIMING, PatroniCluster, requirePatroni, type PatroniNode } from './helpers/patroni.js';

const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const RUN = requireEtcdctl() && requirePatroni();
const SCOPE = 'etcdts';
const LEADER_KEY = `/service/${SCOPE}/leader`;

describe.skipIf(!RUN)(`Patroni over the /v3 JSON gateway (${IMPL})`, () => {
  let etcd: Cluster | undefined;
  let patroni: PatroniCluster | undefined;
  let leader: PatroniNode;
  const rows: string[] = [];

  beforeAll(async () => {
    etcd = await Cluster.create({ impl: IMPL });
    await etcd.start();
    patroni = await PatroniCluster.create(etcd.members.map((m) => m.endpoint), SCOPE);
    patroni.start();
  }, 60_000);

  afterAll(async () => {
    await patroni?.cleanup();
    await etcd?.cleanup();
  }, 60_000);

  function diagnose(): string {
    return patroni!.logs();
  }

  async function psqlOk(node: PatroniNode, sql: string): Promise<string> {
    const r = await patroni!.psql(node, sql);
    expect(r.code, `psql on ${node.name}: ${sql}\n${r.stderr}\n${diagnose()}`).toBe(0);
    return r.stdout.trim();
  }

  /** Writes a row through the primary and waits until every other running member serves it. */
  async function writeAndReplicate(primary: PatroniNode, row: string): Promise<void> {
    await psqlOk(primary, `INSERT INTO t VALUES ('${row}')`);
    rows.push(row);
    const replicas = patroni!.nodes.filter((n) => n !== primary && n.running);
    const expected = [...rows].sort().join(',');
    for (const r of replicas) {
      await waitFor(`rows ${expected} on replica ${r.name}`, 30_000, async () => {
        const res = await patroni!.psql(r, `SELECT string_agg(v, ',' ORDER BY v) FROM t`);
        if (res.code === 0 && res.stdout.trim() === expected) return true;
        throw new Error(`${res.stdout.trim()}${res.stderr}`);
      }, 250).catch((e: Error) => {
        throw new Error(`${e.message}\n${diagnose()}`);
      });
    }
  }

  /** The leader key as our store holds it: Patroni's name for the leader, bound to its lease. */
  async function leaderKey(): Promise<{ value: string; lease: bigint }> {
    const r = await etcdctl(etcd!.members[0]!.clientPort, ['get', LEADER_KEY, '-w', 'fields']);
    const lease = /"Lease" : (\d+)/.exec(r.stdout);
    const value = /"Value" : "(.*)"/.exec(r.stdout);
    expect(lease && value, `etcdctl get ${LEADER_KEY}: ${r.stdout}${r.stderr}`).toBeTruthy();
    return { value: value![1]!, lease: BigInt(lease![1]!) };
  }

  it('elects one leader, and the replicas stream from it', async () => {
    leader = await patroni!.waitForLeader(100_000, { replicas: 2 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnose()}`);
    });
    expect(await psqlOk(leader, 'SELECT pg_is_in_recovery()')).toBe('f');
    await psqlOk(leader, 'CREATE TABLE t (v text PRIMARY KEY)');
    await writeAndReplicate(leader, 'bootstrap');
    // The leader key names the leader and is bound to a lease (Patroni's session).
    const key = await leaderKey();
    expect(key.value).toBe(leader.name);
    expect(key.lease).toBeGreaterThan(0n);
  }, 150_000);

  it('switches over to the named candidate with patronictl', async () => {
    const candidate = patroni!.nodes.find((n) => n !== leader)!;
    const r = await patroni!.patronictl(['switchover', SCOPE, '--leader', leader.name, '--candidate', candidate.name, '--force']);
    expect(r.code, `patronictl switchover: ${r.stdout}${r.stderr}\n${diagnose()}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Successfully switched over to "${candidate.name}"`));
    const next = await patroni!.waitForLeader(60_000, { not: leader.name, replicas: 2 });
    expect(next.name).toBe(candidate.name);
    leader = next;
    expect((await leaderKey()).value).toBe(leader.name);
    expect(await psqlOk(leader, 'SELECT pg_is_in_recovery()')).toBe('f');
    await writeAndReplicate(leader, 'after-switchover');
  }, 120_000);

  it("fails over after the leader's Patroni is killed, once its leader key's lease expires", async () => {
    const { lease } = await leaderKey();
    const ttl = await etcdctl(etcd!.members[0]!.clientPort, ['lease', 'timetolive', lease.toString(16)]);
    const remaining = Number(/remaining\((-?\d+)s\)/.exec(ttl.stdout)?.[1]);
    expect(remaining, `lease timetolive: ${ttl.stdout}${ttl.stderr}`).toBeGreaterThan(0);
    const old = leader;
    const killedAt = Date.now();
    await old.crash();
    const next = await patroni!.waitForLeader(PATRONI_TIMING.ttl * 1000 + 45_000, { not: old.name, replicas: 1 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnose()}`);
    });
    const tookMs = Date.now() - killedAt;
    // No replica may take over while the old leader's lease lives (1 s for rounding).
    expect(tookMs, `failover after ${tookMs} ms; the lease had ${remaining} s left`).toBeGreaterThanOrEqual((remaining - 1) * 1000);
    const gone = await etcdctl(etcd!.members[0]!.clientPort, ['lease', 'timetolive', lease.toString(16)]);
    expect(gone.stdout).toMatch(/already expired/);
    leader = next;
    const key = await leaderKey();
    expect(key.value).toBe(leader.name);
    expect(key.lease).not.toBe(lease);
    expect(await psqlOk(leader, 'SELECT pg_is_in_recovery()')).toBe('f');
    expect(await psqlOk(leader, `SELECT string_agg(v, ',' ORDER BY v) FROM t`)).toBe([...rows].sort().join(','));
    await writeAndReplicate(leader, 'after-failover');
  }, 120_000);
});
