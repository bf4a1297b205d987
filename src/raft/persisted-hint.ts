// A follower that forwarded a client's proposal learns that it is committed
// without waiting for the leader to count acknowledgements.
//
// Why. A put sent to a follower E crosses, after the leader L appended it: L's
// appends to E and O, their writes, the first acknowledgement back to L, L's
// commit notice back to E. With three voters, L's copy and E's are a majority:
// once L has its own copy on disk it says so to E (MsgLeaderPersisted), and E,
// once its own copy is on disk too, knows the entry is on a majority and so
// committed. The E → L → E round trip and one wake-up of L leave the put's
// critical path (docs/PERFORMANCE.md, twenty-sixth round). The leader's notice
// still comes, and E commits at whichever comes first.
//
// Why it is safe. An entry of term T, made by the leader of term T, that is on
// the disks of a majority of the voters is committed (Raft §5.4.2: every later
// leader has it), whoever observes that. E counts only:
// - L's copy: L said so in term T, and its log up to that index is what it
//   sent E (within a term a leader never changes its log below its last index);
// - its own copy: entries up to the last index of an append it accepted from L
//   in term T (`matchedLeader`: below it E's log is L's), and on its disk
//   (stableIndex);
// - an entry of term T at the index it commits, as a leader's commit requires
//   (Figure 8); the entries before it are committed with it.
// And {L, E} must be a majority: L sends the hint only with at most three
// voters, both of them among them, and no membership change in its log that it
// has not applied (pendingConfIndex): any later change comes after the hinted
// entries, and single-step changes keep every majority of the configurations
// next to this one overlapping {L, E}.
//
// What the leader owes in return. E may answer its client before L knows the
// entry is committed. A linearizable read that reaches L right after must not be
// served below it: L's read index is at least the highest index it hinted
// (`hintedPersisted`, readFloor), and the keep-alive confirmation waits for that
// too (RaftNode.committedNow).

import type { FollowerRaft, LeaderRaft } from './core.js';
import { MessageType, NONE, StateType } from './types.js';
import { newMessage } from './util.js';

/** Whether this leader's copy and voter `to`'s make a majority now (see above). */
export function persistedHintAllowed(r: LeaderRaft, to: bigint): boolean {
  const voters = r.trk.voters;
  return voters.size <= 3 && voters.has(r.id) && voters.has(to) && r.pendingConfIndex <= r.raftLog.applied;
}

/**
 * The leader's own write is on disk up to `stable` and its commit index is
 * now what the followers' acknowledgements made it: each follower whose
 * forwarded proposals are written here but not yet committed gets a hint.
 */
export function sendPersistedHints(r: LeaderRaft, stable: number): void {
  const committed = r.raftLog.committed;
  // keys() and get(): entries() would make an array per member on every write.
  for (const id of r.trk.progress.keys()) {
    const pr = r.trk.progress.get(id)!;
    const upTo = pr.forwardedUpTo;
    if (upTo === 0 || id === r.id) continue;
    if (upTo <= committed) {
      // The commit notice tells it.
      pr.forwardedUpTo = 0;
      continue;
    }
    // Not all on disk here yet: a later write's hint covers them.
    if (upTo > stable) continue;
    pr.forwardedUpTo = 0;
    if (!persistedHintAllowed(r, id)) continue;
    const m = newMessage(MessageType.MsgLeaderPersisted, id, r.id);
    m.index = stable;
    r.send(m);
    if (stable > r.hintedPersisted) r.hintedPersisted = stable;
  }
}

/**
 * The lowest index a linearizable read on this leader may be served at: its
 * commit index, or the highest index it hinted if that is higher (0 on a
 * follower, so there just the commit index).
 */
export function readFloor(r: LeaderRaft): number {
  return Math.max(r.raftLog.committed, r.hintedPersisted);
}

/** A follower: its leader (`from`) said its log is on disk up to `index`. */
export function stepLeaderPersisted(r: FollowerRaft, index: number, from: bigint): void {
  if (r.state !== StateType.Follower || r.lead === NONE || from !== r.lead) return;
  if (index > r.leaderPersisted) r.leaderPersisted = index;
  commitFromLeaderPersisted(r);
}

/**
 * A follower commits what is on its leader's disk and on its own, when both
 * are known: after a hint, and after each of its own writes.
 */
export function commitFromLeaderPersisted(r: FollowerRaft): void {
  const log = r.raftLog;
  if (r.leaderPersisted <= log.committed || r.state !== StateType.Follower || log.hasPendingSnapshot()) return;
  const c = Math.min(r.leaderPersisted, r.matchedLeader, log.stableIndex());
  if (c > log.committed && log.termOr0(c) === r.term) log.commitTo(c);
}
