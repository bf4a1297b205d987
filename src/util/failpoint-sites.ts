// Every failpoint the code has, where it is, and whether its site has a failure
// path (so error(msg) means something there). Names are etcd's gofail names where
// etcd has a failpoint at the same moment; the others say what they stand before
// or after. A name not listed here is refused when set (a typo would never fire).

export interface FailpointSite {
  /** Where the check is and what has (not) happened when it fires. */
  where: string;
  /** error(msg) is allowed: the site turns a thrown error into a failure it reports. */
  canFail: boolean;
}

export const FAILPOINT_SITES = {
  // src/server/raft-node.ts: the Ready loop.
  raftBeforeLeaderSend: { where: 'leader, before this Ready\'s appends/heartbeats go out (before its own WAL write)', canFail: false },
  raftBeforeSave: { where: 'before a Ready\'s hard state and entries are written and fsync\'ed to the WAL', canFail: true },
  raftAfterSave: { where: 'after the WAL write and fsync, before the entries reach the in-memory log', canFail: true },
  raftBeforeFollowerSend: { where: 'follower/candidate, before sending what waited for the WAL write (acks, votes)', canFail: false },
  applyBeforeOpenSnapshot: { where: 'follower, before a leader\'s snapshot replaces the store', canFail: true },
  raftBeforeSaveSnap: { where: 'follower, store replaced, before the snapshot file and WAL snapshot record are written', canFail: true },
  raftAfterSaveSnap: { where: 'follower, after the snapshot file and WAL snapshot record are written', canFail: true },
  raftBeforeApplySnap: { where: 'follower, before the snapshot is installed in the in-memory Raft log', canFail: true },
  raftAfterApplySnap: { where: 'follower, after the snapshot is installed in the in-memory Raft log', canFail: true },
  // src/server/log-compactor.ts: the member's own snapshot every --snapshot-count entries.
  raftBeforeWALSaveSnaphot: { where: 'own snapshot: snapshot file written, before its WAL record (etcd\'s spelling)', canFail: true },
  raftAfterWALRelease: { where: 'own snapshot: after WAL segments below it were released', canFail: true },
  // src/server/apply/applier.ts: one committed entry at a time.
  beforeApply: { where: 'before a committed request\'s effects are applied to the store', canFail: true },
  afterApply: { where: 'after a request\'s effects are in the store (not yet flushed), before its proposer is answered', canFail: true },
  beforeApplyOneConfChange: { where: 'before a committed conf change is applied to the membership and the Raft core', canFail: false },
  // src/mvcc/backend.ts: one LevelDB batch (effects of whole entries plus their consistent index).
  beforeCommit: { where: 'before a LevelDB batch of applied entries and their consistent index is written', canFail: true },
  afterCommit: { where: 'after a LevelDB batch is written', canFail: false },
  // src/mvcc/kv-store.ts and compaction.ts: the background part of a compaction.
  compactBeforeCommitScheduledCompact: { where: 'before the batch carrying scheduledCompactRev is written', canFail: true },
  compactAfterCommitScheduledCompact: { where: 'after scheduledCompactRev is written, before any revision is deleted', canFail: false },
  compactBeforeCommitBatch: { where: 'before one batch of physical compaction deletes is written', canFail: true },
  compactAfterCommitBatch: { where: 'after one batch of physical compaction deletes is written', canFail: false },
  // src/mvcc/backend.ts: Maintenance.Defragment (LevelDB rewrites its files in place).
  defragBeforeCopy: { where: 'before LevelDB compacts (rewrites) the whole key range', canFail: true },
  defragAfterCopy: { where: 'after the rewrite, before the freed space is reported reclaimed', canFail: false },
} as const satisfies Record<string, FailpointSite>;

export type FailpointName = keyof typeof FAILPOINT_SITES;
