// The member's store as an etcd backend image source (etcd-writer.ts): maps our
// LevelDB keyspace (mvcc/keyspace.ts) onto etcd's buckets, reading everything
// from one point-in-time view, so writes go on while a snapshot streams.
//
//   ours                                    etcd
//   'k' BE64 main · BE64 sub [· 't']  →    key: BE64 main · '_' · BE64 sub [· 't'] (same value bytes)
//   'l' BE64 id                        →    lease: BE64 id (same leasepb bytes)
//   'm' consistent_index, compaction   →    meta (compaction marks become revision bytes)
//   'm' authEnabled / authRevision     →    auth
//   'u' name / 'r' name                →    authUsers / authRoles (same authpb bytes)
//   'a' BE64 member · type             →    alarm: AlarmMember bytes
//   (Raft state, not in the store)     →    members, members_removed, cluster: from the caller

import {
  ALARM_PREFIX,
  AUTH_ROLE_PREFIX,
  AUTH_USER_PREFIX,
  LEASE_PREFIX,
  META_AUTH_ENABLED,
  META_AUTH_REVISION,
  META_CONSISTENT_INDEX,
  META_FINISHED_COMPACT,
  META_SCHEDULED_COMPACT,
  REV_PREFIX,
  type StoreView,
} from '../mvcc/index.js';
import { parseRevKey } from '../mvcc/revision.js';
import type { EtcdAlarm, EtcdMember } from './etcd-buckets.js';
import type { EtcdImageSource, LeaseRecordBytes, RevisionRecordBytes } from './etcd-writer.js';

/** What the store does not hold: the cluster's membership, from Raft. */
export interface ClusterState {
  members: EtcdMember[];
  membersRemoved: bigint[];
  clusterVersion: string | undefined;
}

const READ_BATCH = 1000;

const u64 = (b: Uint8Array | undefined): number => {
  if (!b || b.length < 8) return 0;
  const dv = new DataView(b.buffer, b.byteOffset, 8);
  return dv.getUint32(0) * 0x1_0000_0000 + dv.getUint32(4);
};

async function collect(view: StoreView, prefix: number): Promise<[Uint8Array, Uint8Array][]> {
  const out: [Uint8Array, Uint8Array][] = [];
  for await (const batch of view.scan(prefix, READ_BATCH)) out.push(...batch);
  return out;
}

/** Reads the small buckets now; the revisions and leases are scanned on each pass. */
export async function storeImageSource(view: StoreView, cluster: ClusterState): Promise<EtcdImageSource> {
  const [ci, scheduled, finished, authEnabled, authRevision] = await Promise.all(
    [META_CONSISTENT_INDEX, META_SCHEDULED_COMPACT, META_FINISHED_COMPACT, META_AUTH_ENABLED, META_AUTH_REVISION].map((k) => view.get(k)),
  );
  const alarms: EtcdAlarm[] = [];
  for (const [k] of await collect(view, ALARM_PREFIX)) {
    if (k.length !== 10) continue;
    alarms.push({ memberID: new DataView(k.buffer, k.byteOffset + 1, 8).getBigUint64(0), alarm: k[9]! });
  }
  const named = async (prefix: number) => (await collect(view, prefix)).map(([k, v]) => ({ name: k.subarray(1), raw: v }));
  return {
    consistentIndex: u64(ci),
    scheduledCompactRev: u64(scheduled),
    finishedCompactRev: u64(finished),
    async *revisions() {
      for await (const batch of view.scan(REV_PREFIX, READ_BATCH)) {
        yield batch.map(([k, v]): RevisionRecordBytes => {
          const r = parseRevKey(k);
          return { revMain: r.main, revSub: r.sub, tombstone: r.tombstone, raw: v };
        });
      }
    },
    async *leases() {
      for await (const batch of view.scan(LEASE_PREFIX, READ_BATCH)) {
        yield batch.filter(([k]) => k.length === 9).map(([k, v]): LeaseRecordBytes => ({ id: new DataView(k.buffer, k.byteOffset + 1, 8).getBigInt64(0), raw: v }));
      }
    },
    members: cluster.members,
    membersRemoved: cluster.membersRemoved,
    clusterVersion: cluster.clusterVersion,
    alarms,
    auth: {
      enabled: authEnabled === undefined ? undefined : authEnabled[0] === 1,
      revision: u64(authRevision),
      users: await named(AUTH_USER_PREFIX),
      roles: await named(AUTH_ROLE_PREFIX),
    },
  };
}
