// What an etcd 3.4 member's data dir becomes in our layout, keeping the member:
// same member and cluster ids, same Raft log (term, index, HardState), so the
// member resumes where etcd stopped.
//   - store: the backend file (member/snap/db) with its consistent index, so our
//     applier skips what etcd applied and applies the WAL entries after it;
//   - Raft: the newest .snap that has a marker in the WAL becomes our snapshot
//     (its v2 store's members become our membership), the WAL entries after it
//     our log (mapped to our encodings, entries.ts); with no .snap the log starts
//     at index 1 and the membership is rebuilt from its conf changes.

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Snapshot } from '../../raft/types.js';
import type { EtcdImage } from '../../snapshot/etcd-image.js';
import {
  etcdSnapFilesNewestFirst,
  EtcdWalError,
  membersFromV2Store,
  readEtcdWal,
  type EtcdWal,
} from '../../snapshot/etcd-wal/index.js';
import { encodeSnapshotData } from '../snapshot-data.js';
import { mapEtcdEntry, type EntryMapStats } from './entries.js';
import type { MemberDirPlan } from './member-dir.js';
import { etcdStoreImage } from './store-image.js';

/** The WAL read from the newest usable snapshot, or from the start when there is none. */
async function readWalFromNewestSnapshot(memberDir: string, walDir: string, logger: Logger): Promise<{ wal: EtcdWal; snapshot?: Snapshot }> {
  const snaps = await etcdSnapFilesNewestFirst(join(memberDir, 'snap'), (file, reason) =>
    logger.warn({ file, reason }, 'skipping a damaged etcd snapshot file'),
  );
  for (const { file, snapshot } of snaps) {
    const { index, term } = snapshot.metadata;
    try {
      return { wal: await readEtcdWal(walDir, { index, term }), snapshot };
    } catch (err) {
      if (!(err instanceof EtcdWalError) || !/snapshot not found|file not found/.test(err.message)) throw err;
      logger.warn({ file, index, term }, 'etcd snapshot has no marker in the WAL; trying an older one');
    }
  }
  return { wal: await readEtcdWal(walDir) };
}

/** Our membership JSON (Membership.restore's shape) from the members a v2 store names. */
function membershipJson(snapshot: Snapshot): Uint8Array {
  const { members, removed } = membersFromV2Store(snapshot.data);
  return Buffer.from(
    JSON.stringify({
      members: members.map((m) => ({ id: m.id.toString(16), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner })),
      removed: removed.map((id) => id.toString(16)),
      recent: [],
    }),
  );
}

export interface EtcdMemberPlan {
  plan: MemberDirPlan;
  summary: Record<string, unknown>;
}

export async function planFromEtcdMember(memberDir: string, walDir: string, image: EtcdImage, bcryptCost: number, logger: Logger): Promise<EtcdMemberPlan> {
  const { wal, snapshot } = await readWalFromNewestSnapshot(memberDir, walDir, logger);
  if (wal.tornTail) logger.warn(wal.tornTail, 'etcd WAL ends in a torn record (crash mid-write); it is left out, as etcd repairs it');
  const snapIndex = snapshot?.metadata.index ?? 0;
  if (image.consistentIndex < snapIndex) {
    throw new Error(`etcd database file (index ${image.consistentIndex}) does not match with snapshot (index ${snapIndex})`);
  }
  const stats: EntryMapStats = { v2Dropped: 0, passwordsHashed: 0 };
  const entries = [];
  for (const e of wal.entries) entries.push(await mapEtcdEntry(e, bcryptCost, stats));
  const hardState = { ...wal.hardState, commit: Math.max(wal.hardState.commit, snapIndex) };
  const ours: Snapshot | undefined = snapshot && {
    data: encodeSnapshotData({ membership: membershipJson(snapshot) }),
    metadata: snapshot.metadata,
  };
  return {
    plan: {
      memberId: wal.memberId,
      clusterId: wal.clusterId,
      hardState,
      entries,
      ...(ours ? { snapshot: ours } : {}),
      store: etcdStoreImage(image, { consistentIndex: image.consistentIndex }),
    },
    summary: {
      'member-id': wal.memberId.toString(16),
      'cluster-id': wal.clusterId.toString(16),
      term: hardState.term,
      commit: hardState.commit,
      'snapshot-index': snapIndex,
      'consistent-index': image.consistentIndex,
      'wal-entries': entries.length,
      revision: image.lastRevision,
      leases: image.leases.length,
      'v2-requests-dropped': stats.v2Dropped,
      'passwords-hashed': stats.passwordsHashed,
    },
  };
}
