// Message handling while follower, candidate or pre-candidate: accepting appends,
// heartbeats and snapshots from the leader, counting votes, forwarding requests.

import { campaign, poll } from './election.js';
import { bcastAppend } from './leader.js';
import { commitFromLeaderPersisted, stepLeaderPersisted } from './persisted-hint.js';
import type { FollowerRaft } from './core.js';
import { type Message, type Snapshot, MessageType, NONE, StateType } from './types.js';
import { CAMPAIGN_TRANSFER, EMPTY_BYTES, newMessage } from './util.js';

function handleAppendEntries(r: FollowerRaft, m: Message): void {
  const log = r.raftLog;
  if (m.index < log.committed) {
    // Everything up to our commit index matches any leader's log; say where we are.
    const resp = newMessage(MessageType.MsgAppResp, m.from, r.id);
    resp.index = log.committed;
    r.send(resp);
    return;
  }
  const lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  const resp = newMessage(MessageType.MsgAppResp, m.from, r.id);
  if (lastNew >= 0) {
    if (lastNew > r.matchedLeader) r.matchedLeader = lastNew;
    // The leader may have said its copy is on disk before these entries came.
    commitFromLeaderPersisted(r);
    // A notice with nothing to write: our acknowledgement of the entries says it (types.ts).
    if (m.commitOnly === true && m.entries.length === 0) return;
    resp.index = lastNew;
    r.send(resp);
    return;
  }
  // Rejection with a hint: the largest index ≤ m.index whose term is ≤ m.logTerm, so
  // the leader can skip over a whole divergent term in one round trip.
  let hintIndex = Math.min(m.index, log.lastIndex());
  hintIndex = log.findConflictByTerm(hintIndex, m.logTerm);
  resp.index = m.index;
  resp.reject = true;
  resp.rejectHint = hintIndex;
  resp.logTerm = log.termOr0(hintIndex);
  r.send(resp);
}

function handleHeartbeat(r: FollowerRaft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  const resp = newMessage(MessageType.MsgHeartbeatResp, m.from, r.id);
  if (m.context) resp.context = m.context;
  r.send(resp);
}

function handleSnapshot(r: FollowerRaft, m: Message): void {
  const resp = newMessage(MessageType.MsgAppResp, m.from, r.id);
  if (m.snapshot && restore(r, m.snapshot)) {
    resp.index = r.raftLog.lastIndex();
  } else {
    resp.index = r.raftLog.committed;
  }
  r.send(resp);
}

/** Install a leader's snapshot; false if it is stale or our log already covers it. */
export function restore(r: FollowerRaft, s: Snapshot): boolean {
  const meta = s.metadata;
  if (meta.index <= r.raftLog.committed) return false;
  if (r.state !== StateType.Follower) {
    // Only a leader of our term sends snapshots, so we must be its follower.
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  const cs = meta.confState;
  // A snapshot taken before we were added doesn't list us; we accept it anyway and
  // learn our membership from the entries that follow (we can't campaign meanwhile).
  if (r.raftLog.matchTerm(meta.index, meta.term)) {
    // We have the entries already: just fast-forward the commit.
    r.raftLog.commitTo(meta.index);
    return false;
  }
  r.raftLog.restore(s);
  r.trk.restore(cs, r.raftLog.lastIndex() + 1);
  const pr = r.trk.progress.get(r.id);
  if (pr) pr.maybeUpdate(meta.index);
  r.isLearner = r.trk.learners.has(r.id);
  r.logger.info({ id: String(r.id), index: meta.index, term: meta.term }, 'restored snapshot');
  return true;
}

export function stepFollower(r: FollowerRaft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgProp:
      // A peer's proposal (Raft.propose refuses local ones without a leader): keep it
      // until a leader is known (Raft.holdProposal).
      if (r.lead === NONE) {
        r.holdProposal(m);
        return;
      }
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === NONE) return;
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.MsgTimeoutNow:
      // The leader hands over: campaign at once, skipping pre-vote and leases.
      r.step({ ...newMessage(MessageType.MsgHup, NONE, r.id), context: CAMPAIGN_TRANSFER });
      return;
    case MessageType.MsgReadIndex:
      if (r.lead === NONE) {
        r.logger.info({ id: String(r.id) }, 'no leader; dropping read index request');
        return;
      }
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.MsgReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context ?? EMPTY_BYTES });
      return;
    case MessageType.MsgLeaderPersisted:
      stepLeaderPersisted(r, m.index, m.from);
      return;
  }
}


export function stepCandidate(r: FollowerRaft, m: Message): void {
  const myVoteResp = r.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgProp:
      // Only a peer's (Raft.propose refuses local ones): kept until we win or learn the leader.
      r.holdProposal(m);
      return;
    case MessageType.MsgApp:
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case MessageType.MsgTimeoutNow:
      return;
  }
  if (m.type !== myVoteResp) return;
  const res = poll(r, m.from, !m.reject);
  if (res === 'won') {
    if (r.state === StateType.PreCandidate) campaign(r, true, false);
    else {
      r.becomeLeader();
      bcastAppend(r);
    }
  } else if (res === 'lost') {
    // A rejection may carry a higher term (handled in step); otherwise stay in our term.
    r.becomeFollower(r.term, NONE);
  }
}
