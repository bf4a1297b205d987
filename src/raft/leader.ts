// Message handling while leader: proposals, replication with per-follower flow
// control, commit, heartbeats, ReadIndex, leadership transfer.

import { ErrCompacted, ErrProposalDropped, ErrSnapshotTemporarilyUnavailable, ErrUnavailable } from './errors.js';
import type { LeaderRaft, ReplicationRaft } from './core.js';
import { type Entry, type Message, type NodeId, EntryType, MessageType, NONE } from './types.js';
import { readFloor } from './persisted-hint.js';
import { EMPTY_BYTES, newMessage, proposalEntry } from './util.js';

/**
 * What an append to a follower with no new entries to receive becomes: nothing,
 * an empty append (a probe, a catch-up after a heartbeat), or a commit notice (an
 * empty append spreading a new commit index, commit-only where it may be).
 */
export type WhenNothingNew = 'nothing' | 'empty' | 'commit-notice';

/**
 * Send an append (or a snapshot, when the follower's next entry is compacted) if the
 * follower's flow control allows it; with no new entries, as `whenNothingNew` says.
 * Returns whether a message was sent.
 */
export function maybeSendAppend(r: ReplicationRaft, to: NodeId, whenNothingNew: WhenNothingNew): boolean {
  const pr = r.trk.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const log = r.raftLog;
  let term: number | undefined = log.termOrUndefined(pr.next - 1);
  let ents: Entry[] | undefined;
  if (term !== undefined) {
    try {
      ents = log.entries(pr.next, r.maxMsgSize);
    } catch (e) {
      if (!(e instanceof ErrCompacted || e instanceof ErrUnavailable)) throw e;
      term = undefined;
    }
  }
  if (term === undefined || ents === undefined) {
    // The entries we'd send are gone: fall back to the snapshot.
    if (!pr.recentActive) return false;
    let snap;
    try {
      snap = log.snapshot();
    } catch (e) {
      if (e instanceof ErrSnapshotTemporarilyUnavailable) return false;
      throw e;
    }
    if (snap.metadata.index === 0) throw new Error('need non-empty snapshot');
    const m = newMessage(MessageType.MsgSnap, to, r.id);
    m.snapshot = snap;
    r.send(m);
    pr.becomeSnapshot(snap.metadata.index);
    return true;
  }
  if (ents.length === 0 && whenNothingNew === 'nothing') return false;
  const m = newMessage(MessageType.MsgApp, to, r.id);
  m.index = pr.next - 1;
  m.logTerm = term;
  m.entries = ents;
  m.commit = log.committed;
  // A commit notice to a follower we stream to: it was sent everything up to
  // m.index, and it acknowledges those entries when they are durable, so an
  // answer to the notice would repeat that acknowledgement (one wake-up of the
  // leader and two socket operations per commit and follower). If that
  // acknowledgement is lost, the next heartbeat's answer finds match behind and
  // sends an ordinary append, which is answered; a follower that lacks m.index
  // rejects the notice, which is always answered; a probe is never commit-only.
  if (whenNothingNew === 'commit-notice' && ents.length === 0 && pr.state === 'replicate') m.commitOnly = true;
  r.send(m);
  if (ents.length > 0) {
    if (pr.state === 'replicate') {
      const last = ents[ents.length - 1].index;
      pr.optimisticUpdate(last);
      pr.inflights.add(last);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
  }
  return true;
}

export function sendAppend(r: ReplicationRaft, to: NodeId): void {
  maybeSendAppend(r, to, 'empty');
}

export function bcastAppend(r: ReplicationRaft, whenNothingNew: WhenNothingNew = 'empty'): void {
  for (const id of r.trk.progress.keys()) {
    if (id !== r.id) maybeSendAppend(r, id, whenNothingNew);
  }
}

/** Spread a new commit index: appends where there are new entries, commit notices elsewhere. */
export function bcastCommit(r: ReplicationRaft): void {
  bcastAppend(r, 'commit-notice');
}

function sendHeartbeat(r: LeaderRaft, to: NodeId, ctx: Uint8Array | undefined): void {
  const pr = r.trk.progress.get(to)!;
  // A follower must never be told a commit index beyond what it is known to hold.
  const m = newMessage(MessageType.MsgHeartbeat, to, r.id);
  m.commit = Math.min(pr.match, r.raftLog.committed);
  if (ctx) m.context = ctx;
  r.send(m);
}

export function bcastHeartbeat(r: LeaderRaft, ctx?: Uint8Array): void {
  if (ctx === undefined) ctx = r.readOnly.lastPendingRequestCtx();
  for (const id of r.trk.progress.keys()) if (id !== r.id) sendHeartbeat(r, id, ctx);
}

function sendTimeoutNow(r: LeaderRaft, to: NodeId): void {
  r.send(newMessage(MessageType.MsgTimeoutNow, to, r.id));
}

/** Answer a read at `index`: locally via readStates, or to the follower that asked. */
function readIndexResponse(r: LeaderRaft, req: Message, index: number): void {
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, requestCtx: req.context ?? EMPTY_BYTES });
    return;
  }
  const m = newMessage(MessageType.MsgReadIndexResp, req.from, r.id);
  m.index = index;
  m.context = req.context;
  r.send(m);
}

function handleReadIndex(r: LeaderRaft, m: Message): void {
  if (!r.committedEntryInCurrentTerm()) {
    // Our commit index may lag the true one until an entry of our term commits.
    r.pendingReadIndexMessages.push(m);
    return;
  }
  // Not below what a follower may have committed on its own (persisted-hint.ts).
  const index = readFloor(r);
  if (r.trk.isSingleton()) {
    readIndexResponse(r, m, index);
    return;
  }
  const roundCtx = r.readOnly.addRequest(index, m, r.id);
  if (roundCtx !== undefined) bcastHeartbeat(r, roundCtx);
}

function handlePropose(r: LeaderRaft, m: Message): void {
  if (m.entries.length === 0) throw new Error(`${r.id} stepped empty MsgProp`);
  if (!r.trk.progress.has(r.id)) throw new ErrProposalDropped('leader was removed from the configuration');
  if (r.leadTransferee !== NONE) {
    // Only a peer's proposal gets here (Raft.propose refuses local ones at once): it
    // waits for the transfer's outcome instead of being dropped (Raft.holdProposal).
    r.holdProposal(m);
    return;
  }
  const ents = m.entries;
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i];
    if (e.type !== EntryType.Normal) {
      // One membership change at a time: a second one while the previous is not yet
      // applied becomes an empty entry (the proposer sees it never takes effect).
      if (r.pendingConfIndex > r.raftLog.applied) {
        r.logger.info({ index: r.pendingConfIndex }, 'ignoring conf change while one is pending');
        ents[i] = proposalEntry(EntryType.Normal, EMPTY_BYTES);
      } else {
        r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
      }
    }
  }
  if (!r.appendEntry(ents)) throw new ErrProposalDropped('too many uncommitted entries');
  // A follower's proposals: it hears when they are on this leader's disk (persisted-hint.ts).
  if (m.from !== NONE && m.from !== r.id) {
    const fpr = r.trk.progress.get(m.from);
    if (fpr !== undefined) fpr.forwardedUpTo = r.raftLog.lastIndex();
  }
  // Appends go out when the driver next asks for a Ready, so proposals made in
  // between share one message per follower.
  r.appendPending = true;
}

function handleTransferLeader(r: LeaderRaft, m: Message): void {
  const transferee = m.from;
  const pr = r.trk.progress.get(transferee);
  if (!pr || pr.isLearner) return;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return;
    r.abortLeaderTransfer();
  }
  if (transferee === r.id) return;
  // The transfer must finish within an election timeout (see tickHeartbeat).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, transferee);
  else sendAppend(r, transferee);
}

export function stepLeader(r: LeaderRaft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgBeat:
      bcastHeartbeat(r);
      return;
    case MessageType.MsgCheckQuorum:
      if (!r.trk.quorumActive(r.id)) {
        r.logger.warn({ id: String(r.id), term: r.term }, 'stepped down: quorum is not active');
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case MessageType.MsgProp:
      handlePropose(r, m);
      return;
    case MessageType.MsgReadIndex:
      handleReadIndex(r, m);
      return;
  }

  const pr = r.trk.progress.get(m.from);
  if (!pr) return;
  switch (m.type) {
    case MessageType.MsgAppResp: {
      pr.recentActive = true;
      if (m.reject) {
        let nextProbe = m.rejectHint;
        if (m.logTerm > 0) nextProbe = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm);
        if (pr.maybeDecrTo(m.index, nextProbe)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          sendAppend(r, m.from);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index)) return;
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

      if (r.maybeCommit()) r.onLeaderCommitAdvanced();
      else if (oldPaused) sendAppend(r, m.from);
      // Keep the pipe full: send as much as flow control allows.
      while (maybeSendAppend(r, m.from, 'nothing')) {
        /* loop */
      }
      if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, m.from);
      return;
    }
    case MessageType.MsgHeartbeatResp: {
      pr.recentActive = true;
      pr.probeSent = false;
      // A heartbeat round trip frees a slot so a stalled pipe can't deadlock.
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.raftLog.lastIndex()) sendAppend(r, m.from);
      if (!m.context || m.context.length === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks) return;
      let n = 0;
      for (const id of acks) if (r.trk.voters.has(id)) n++;
      if (n < (r.trk.voters.size >> 1) + 1) return;
      for (const rs of r.readOnly.advance(m.context)) readIndexResponse(r, rs.req, rs.index);
      return;
    }
    case MessageType.MsgSnapStatus:
      if (pr.state !== 'snapshot') return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for a heartbeat response before probing (the snapshot may still be landing).
      pr.probeSent = true;
      return;
    case MessageType.MsgUnreachable:
      if (pr.state === 'replicate') pr.becomeProbe();
      return;
    case MessageType.MsgTransferLeader:
      handleTransferLeader(r, m);
      return;
  }
}
