// Issue #10 end to end: a Raft entry is applied exactly once, even when kill -9
// lands between a size-triggered backend batch and the next one.
//
// The backend writes a LevelDB batch synchronously once 10,000 ops are pending
// (flushMaxOps), otherwise on a 100 ms timer. The scenario: 9,999 keys under a
// prefix, flushed and idle; one DeleteRange of the prefix (entry I, revision D,
// 9,999 tombstones pending: below the threshold); then, within the 100 ms
// timer, a put of another key (entry I+1, revision D+1) whose one op makes
// 10,000 and starts a batch at once. Before the fix that batch carried both
// revisions but the consistent index of entry I (the put's was set after it was
// published): kill -9 once the batch is on disk and before the timer's batch,
// and WAL replay applies entry I+1 a second time on that member (revision D+2,
// version 2, a HashKV different from its peers). The delete itself is harmless
// to replay (the keys are gone, so nothing changes), which is why it is the put
// that must fill the batch.
//
// The delete and the put go to the leader back to back on one connection (the
// put does not wait for the delete's answer); their order is checked (put
// revision = delete revision + 1). A put sent after the delete's answer often
// came later than the 100 ms timer on two busy cores, and the timer then wrote
// the delete alone. A follower victim can still get the two commits far apart,
// so it is paused (SIGSTOP) while the leader and the other follower commit both,
// then resumed: it reads both entries from its socket at once. The victim is a
// follower (two rounds) or the leader (one).
//
// The kill is timed on the victim's disk, not on a guess: its LevelDB log files
// (member/db/*.log) grow by the batch's ~10,000 records once the batch is
// written, and the member is killed as soon as that growth holds still.
//
// One cluster for the whole file (two cores in CI); every case leaves all three
// members running.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as pb from '../../src/pb/types.js';
import { Cluster, eachCaseOnCluster, leaderLookups, MaintenanceClient, sleep, waitFor } from './helpers/cluster.js';
import { KvClient } from './helpers/kv-client.js';
import type { Member } from './helpers/member.js';
import { WatchClient } from './helpers/watch-client.js';

/** The backend's size threshold (flushMaxOps) and timer (flushIntervalMs) in src/mvcc. */
const FLUSH_MAX_OPS = 10_000;
const FLUSH_INTERVAL_MS = 100;
/** Deleted by one DeleteRange: one op short of a batch, so the put after it fills one. */
const KEYS = FLUSH_MAX_OPS - 1;
const OPS_PER_TXN = 128;
const CONCURRENT_TXNS = 8;
/** The batch of 9,999 tombstones is ~300 KB of LevelDB log; a batch with only an index is a few bytes. */
const BATCH_GROWTH_BYTES = 100_000;
/** How long the appended bytes must hold still before the batch counts as written. */
const STILL_MS = 5;
/** Give up waiting for the batch and kill anyway (the round still checks exactly-once; it just may miss the window). */
const KILL_BOUND_MS = 2_000;

const ELECTION_BOUND_MS = 10_000;
const CATCH_UP_BOUND_MS = 15_000;

const PUT = 0;
const DELETE = 1;

const prefixEnd = (p: string): Buffer => {
  const b = Buffer.from(p);
  b[b.length - 1]!++;
  return b;
};

/** Sizes of a member's LevelDB log files (where a batch lands first), by name. */
async function levelDbLogs(m: Member): Promise<Map<string, number>> {
  const dir = join(m.dataDir, 'member', 'db');
  const out = new Map<string, number>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.log')) continue;
    try {
      out.set(name, (await stat(join(dir, name))).size);
    } catch { /* rotated away meanwhile */ }
  }
  return out;
}

/** Bytes appended to the log files since `before` (a log LevelDB switched to counts whole; removed ones count nothing). */
function appended(before: Map<string, number>, now: Map<string, number>): number {
  let n = 0;
  for (const [name, size] of now) n += Math.max(0, size - (before.get(name) ?? 0));
  return n;
}

describe('one entry is applied once across kill -9 after a size-triggered batch (issue #10)', () => {
  let cluster: Cluster;
  const maint = new Map<Member, MaintenanceClient>();
  const kv = new Map<Member, KvClient>();
  const { statusOf, agreedLeader, memberById } = leaderLookups(() => cluster.running(), maint);
  let round = 0;

  /** Every member at the same applied index, holding still for one poll. */
  async function waitAllApplied(): Promise<bigint> {
    let prev: bigint | undefined;
    return waitFor('every member at the same applied index', CATCH_UP_BOUND_MS, async () => {
      const idx = await Promise.all(cluster.members.map(async (m) => (await statusOf(m, 1_000)).raftAppliedIndex));
      if (!idx.every((i) => i === idx[0])) return (prev = undefined);
      if (prev === idx[0]) return idx[0];
      prev = idx[0];
      return undefined;
    }, 100);
  }

  beforeAll(async () => {
    cluster = await Cluster.create();
    for (const m of cluster.members) {
      maint.set(m, new MaintenanceClient(m.endpoint));
      kv.set(m, new KvClient(m.endpoint, { channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 } }));
    }
    await cluster.start();
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
  });

  afterAll(async () => {
    for (const c of [...maint.values(), ...kv.values()]) c.close();
    await cluster?.cleanup();
  });

  beforeEach(eachCaseOnCluster(() => cluster, () => agreedLeader(cluster.members, ELECTION_BOUND_MS)));

  /** KEYS keys under `prefix`, in transactions of OPS_PER_TXN puts, CONCURRENT_TXNS at a time, through `via`. */
  async function fill(via: Member, prefix: string): Promise<void> {
    const client = kv.get(via)!;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const from = next;
        if (from >= KEYS) return;
        next = Math.min(KEYS, from + OPS_PER_TXN);
        const success: pb.Encodable<pb.RequestOp>[] = [];
        for (let i = from; i < next; i++) {
          success.push({ requestPut: { key: Buffer.from(`${prefix}${String(i).padStart(5, '0')}`), value: Buffer.from('v') } });
        }
        await client.txn({ success });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT_TXNS }, worker));
  }

  /**
   * One round: fill, let every backend go idle, delete the prefix and put `after`
   * through the leader, kill -9 the victim once the batch is on its disk, restart
   * it, and check that all three members hold the same state.
   */
  async function deleteThenPutThenKill(role: 'follower' | 'leader'): Promise<void> {
    const r = round++;
    const prefix = `r${r}/k/`;
    const afterKey = `r${r}/after`;
    const leader = await memberById(await agreedLeader(cluster.members, ELECTION_BOUND_MS));
    const victim = role === 'leader' ? leader : cluster.members.find((m) => m !== leader)!;
    const client = kv.get(leader)!;

    const t0 = Date.now();
    await fill(leader, prefix);
    const filledMs = Date.now() - t0;
    // Every member applied the fill and its timer wrote it out: nothing pending anywhere.
    await waitAllApplied();
    await sleep(3 * FLUSH_INTERVAL_MS);
    const logsBefore = await levelDbLogs(victim);

    // Both to the leader, back to back. A follower victim is paused meanwhile (the
    // leader and the other follower commit both), so that on resume it takes both
    // entries from its socket at once and applies the put right behind the delete.
    const sentAt = Date.now();
    if (role === 'follower') victim.pause();
    let del: pb.DeleteRangeResponse;
    let put: pb.PutResponse;
    try {
      [del, put] = await Promise.all([
        client.deleteRange({ key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix) }),
        client.put(afterKey, 'once'),
      ]);
    } finally {
      victim.resume();
    }
    const answeredMs = Date.now() - sentAt;
    expect(del.deleted, 'the prefix delete removes every key').toBe(BigInt(KEYS));
    const delRev = del.header!.revision;
    const putRev = put.header!.revision;
    expect(putRev, 'the put is the entry right after the delete').toBe(delRev + 1n);

    // Kill once the batch with both revisions is in the victim's LevelDB log (the
    // appended bytes hold still for a few ms: LevelDB writes a big record in 32 KB
    // pieces), before the timer's next batch 100 ms later.
    const watchFrom = Date.now();
    let last = -1;
    let lastChange = watchFrom;
    let grown = 0;
    let batchSeen = false;
    for (;;) {
      grown = appended(logsBefore, await levelDbLogs(victim));
      const now = Date.now();
      if (grown !== last) {
        last = grown;
        lastChange = now;
      } else if (grown >= BATCH_GROWTH_BYTES && now - lastChange >= STILL_MS) {
        batchSeen = true;
        break;
      }
      if (now - watchFrom >= KILL_BOUND_MS) break;
      await sleep(1);
    }
    await victim.kill9();
    console.log(
      `round ${r}: ${role} ${victim.name} killed ${Date.now() - watchFrom} ms after delete + put were answered ` +
        `(in ${answeredMs} ms); batch ${batchSeen ? 'seen' : 'NOT seen'} in its LevelDB log (${grown} bytes appended); fill ${filledMs} ms`,
    );

    await cluster.start([victim]);
    await agreedLeader(cluster.members, ELECTION_BOUND_MS);
    await waitAllApplied();

    // Same revision, same HashKV, and the put applied once (version 1 at putRev), on every member's own state.
    const got = await Promise.all(
      cluster.members.map(async (m) => {
        const [res, h] = await Promise.all([
          kv.get(m)!.range({ key: Buffer.from(afterKey), serializable: true }),
          maint.get(m)!.hashKV(0),
        ]);
        const e = res.kvs[0];
        return {
          member: m.name,
          revision: Number(res.header!.revision),
          hashRevision: Number(h.header!.revision),
          hash: h.hash,
          version: Number(e?.version ?? 0),
          modRevision: Number(e?.modRevision ?? 0),
        };
      }),
    );
    const peerHash = got.find((g) => g.member !== victim.name)!.hash;
    const want = got.map((g) => ({ member: g.member, revision: Number(putRev), hashRevision: Number(putRev), hash: peerHash, version: 1, modRevision: Number(putRev) }));
    expect(got, `round ${r}: ${role} ${victim.name} restarted after kill -9`).toEqual(want);

    // The restarted member's history from the delete: 9,999 deletes at delRev, one put at putRev, nothing else.
    const w = new WatchClient(victim.endpoint);
    try {
      w.create({ key: Buffer.from(`r${r}/`), rangeEnd: prefixEnd(`r${r}/`), startRevision: delRev });
      const created = await w.next();
      expect(created.created).toBe(true);
      const events = await w.events(created.watchId, KEYS + 1);
      await w.nothingFor(250);
      const deletes = events.filter((e) => e.type === DELETE);
      expect(deletes.length).toBe(KEYS);
      expect(new Set(deletes.map((e) => e.kv!.key.toString())).size).toBe(KEYS);
      expect(deletes.every((e) => e.kv!.modRevision === delRev)).toBe(true);
      const puts = events.filter((e) => e.type === PUT).map((e) => ({ key: e.kv!.key.toString(), version: Number(e.kv!.version), modRevision: Number(e.kv!.modRevision) }));
      expect(puts).toEqual([{ key: afterKey, version: 1, modRevision: Number(putRev) }]);
    } finally {
      w.close();
    }
  }

  it('kill -9 of a follower right after a 9,999-key prefix delete and a put that fills a batch', async () => {
    await deleteThenPutThenKill('follower');
    await deleteThenPutThenKill('follower');
  });

  it('kill -9 of the leader right after a 9,999-key prefix delete and a put that fills a batch', async () => {
    await deleteThenPutThenKill('leader');
  });
});
