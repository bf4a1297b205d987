// Membership changes, applied when the driver applies a committed ConfChange entry.
// Single-step: each change adds, removes, or re-roles one member, so consecutive
// majorities always overlap. A leader that is removed (or demoted) steps down.

import { bcastAppend } from './leader.js';
import type { ConfChangeRaft } from './core.js';
import { type ConfChange, type ConfState, ConfChangeType, NONE, StateType } from './types.js';

export function applyConfChange(r: ConfChangeRaft, cc: ConfChange): ConfState {
  const next = r.raftLog.lastIndex() + 1;
  if (cc.nodeId === NONE) {
    // An empty change (e.g. a refused proposal's placeholder): only unblocks the next one.
  } else if (cc.type === ConfChangeType.AddNode) {
    r.trk.addNode(cc.nodeId, false, next);
  } else if (cc.type === ConfChangeType.AddLearnerNode) {
    r.trk.addNode(cc.nodeId, true, next);
  } else if (cc.type === ConfChangeType.RemoveNode) {
    if (r.trk.voters.size === 1 && r.trk.voters.has(cc.nodeId)) {
      r.logger.warn({ id: String(cc.nodeId) }, 'refusing to remove the last voter');
    } else {
      r.trk.removeNode(cc.nodeId);
    }
  }
  const pr = r.trk.progress.get(r.id);
  r.isLearner = pr !== undefined && pr.isLearner;
  if (r.state !== StateType.Leader) return r.trk.confState();
  if (!pr || r.isLearner) {
    // Removed or demoted: tell the others the commit index, then step down.
    bcastAppend(r);
    r.becomeFollower(r.term, NONE);
    return r.trk.confState();
  }
  // The quorum changed: commit may move, and newcomers need appends.
  if (r.maybeCommit()) r.onLeaderCommitAdvanced();
  else bcastAppend(r, 'nothing');
  if (r.leadTransferee !== NONE && !r.trk.voters.has(r.leadTransferee)) r.abortLeaderTransfer();
  return r.trk.confState();
}
