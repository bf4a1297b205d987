// Elections: deciding to campaign, the pre-vote and vote phases, counting votes.

import type { ElectionRaft } from './core.js';
import type { VoteResult } from './quorum.js';
import { cmpId } from './tracker.js';
import { type NodeId, EntryType, MessageType, StateType } from './types.js';
import { CAMPAIGN_TRANSFER, newMessage } from './util.js';

export function hup(r: ElectionRaft, transfer: boolean): void {
  if (r.state === StateType.Leader) return;
  if (!r.promotable()) {
    r.logger.warn({ id: String(r.id) }, 'is unpromotable and can not campaign');
    return;
  }
  // A committed-but-unapplied conf change could change whether we may lead.
  const from = Math.max(r.raftLog.applied + 1, r.bootstrapIndex + 1);
  const ents = from <= r.raftLog.committed ? r.raftLog.slice(from, r.raftLog.committed + 1) : [];
  for (const e of ents) {
    if (e.type !== EntryType.Normal) {
      r.logger.warn({ id: String(r.id) }, 'cannot campaign: pending configuration changes to apply');
      return;
    }
  }
  if (r.preVote && !transfer) campaign(r, false, transfer);
  else campaign(r, true, transfer);
}

/** Start a (pre-)election; real=false runs the pre-vote phase. */
export function campaign(r: ElectionRaft, real: boolean, transfer: boolean): void {
  let voteMsg: MessageType;
  let term: number;
  if (!real) {
    r.becomePreCandidate();
    voteMsg = MessageType.MsgPreVote;
    term = r.term + 1; // the term we would campaign in
  } else {
    r.becomeCandidate();
    voteMsg = MessageType.MsgVote;
    term = r.term;
  }
  if (poll(r, r.id, true) === 'won') {
    // Single voter: no one to ask.
    if (!real) campaign(r, true, transfer);
    else r.becomeLeader();
    return;
  }
  const ids = [...r.trk.voters].sort(cmpId);
  for (const id of ids) {
    if (id === r.id) continue;
    const m = newMessage(voteMsg, id, r.id);
    m.term = term;
    m.index = r.raftLog.lastIndex();
    m.logTerm = r.raftLog.lastTerm();
    if (transfer) m.context = CAMPAIGN_TRANSFER;
    r.send(m);
  }
}

export function poll(r: ElectionRaft, id: NodeId, granted: boolean): VoteResult {
  r.trk.recordVote(id, granted);
  return r.trk.tallyVotes().result;
}
