// The leader's (and candidate's) view of the membership: who votes, who learns,
// their replication progress, and votes received in the current election.
// Membership changes are single-step (one voter added or removed at a time), which
// keeps any two consecutive majorities overlapping.

import { emptyConfState } from './codec.js';
import { Progress } from './progress.js';
import { committedIndex, voteResult, type VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

export class ProgressTracker {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  confState(): ConfState {
    const cs = emptyConfState();
    cs.voters = [...this.voters].sort(cmpId);
    cs.learners = [...this.learners].sort(cmpId);
    return cs;
  }

  /** Reset membership from a ConfState (restart or snapshot install). */
  restore(cs: ConfState, nextIndex: number): void {
    this.voters.clear();
    this.learners.clear();
    this.progress.clear();
    // A joint state is flattened to its incoming side: we only run single-step changes.
    for (const id of cs.voters) this.addNode(id, false, nextIndex);
    for (const id of cs.learners) this.addNode(id, true, nextIndex);
  }

  addNode(id: NodeId, learner: boolean, nextIndex: number): void {
    let pr = this.progress.get(id);
    if (!pr) {
      pr = new Progress(nextIndex, this.maxInflight, learner);
      // Treat a new member as active so check-quorum doesn't immediately count it against us.
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
    pr.isLearner = learner;
    if (learner) {
      this.voters.delete(id);
      this.learners.add(id);
    } else {
      this.learners.delete(id);
      this.voters.add(id);
    }
  }

  removeNode(id: NodeId): void {
    this.voters.delete(id);
    this.learners.delete(id);
    this.progress.delete(id);
    this.votes.delete(id);
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Did a majority of voters show life since the last check? */
  quorumActive(selfId: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      active.set(id, id === selfId || pr.recentActive);
    }
    return voteResult(this.voters, active) === 'won';
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}

export function cmpId(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
