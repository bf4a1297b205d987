// How this leader confirms that it still leads before a lease keep-alive renews
// (lease/coordinator.ts): a ReadIndex round, or, under the leader lease
// (leader-lease.ts), no round trip at all while the lease holds.
//
// The lease comes from ReadIndex rounds: each round is stamped when asked
// (readIndexHooks) and extends the lease once a quorum answered it. A steady
// stream of keep-alives would let the lease run out between rounds, so a round
// is asked ahead, one at a time, once half of the lease is gone.

import type { LeaderLease, LeaseStamp } from './leader-lease.js';
import type { ReadIndexerOptions } from './read-index.js';

/** What the confirmation reads of this member's Raft state (raft-node.ts). */
export interface LeaderView {
  /** The term this member is in now. */
  readonly termNow: number;
  /** The commit index this member knows now. */
  readonly committedNow: number;
  /** Whether this member leads in `term` with no leadership transfer under way. */
  leadsUndisturbed(term: number): boolean;
}

export interface LeadershipConfirmationParts {
  raft: LeaderView;
  /** The index this member has applied (and told its waiters of). */
  appliedIndex: () => number;
  /** A ReadIndex round: resolves once a quorum confirmed this leader and the read index is applied here. */
  round: () => Promise<void>;
  /** Undefined without the leader lease: every confirmation takes a round. */
  lease: LeaderLease | undefined;
}

export class LeadershipConfirmation {
  private readonly raft: LeaderView;
  private readonly appliedIndex: () => number;
  private readonly round: () => Promise<void>;
  private readonly lease: LeaderLease | undefined;
  /** A round asked early to extend the lease (one at a time). */
  private refresh: Promise<void> | undefined;

  constructor(parts: LeadershipConfirmationParts) {
    ({ raft: this.raft, appliedIndex: this.appliedIndex, round: this.round, lease: this.lease } = parts);
  }

  /**
   * What the ReadIndexer calls to stamp a round and to report it confirmed (empty
   * without a lease). A round counts only if this member led undisturbed in the
   * stamp's term both when it asked and when the quorum answered.
   */
  readIndexHooks(): Pick<ReadIndexerOptions, 'stampRound' | 'onConfirmed'> {
    const lease = this.lease;
    if (lease === undefined) return {};
    return {
      stampRound: () => {
        const term = this.raft.termNow;
        return this.raft.leadsUndisturbed(term) ? lease.stamp(term) : undefined;
      },
      onConfirmed: (stamp: LeaseStamp) => {
        if (this.raft.leadsUndisturbed(stamp.term)) lease.confirmed(stamp);
      },
    };
  }

  /**
   * Resolves once this member is confirmed as leader and has applied everything
   * committed before the call. Under the lease that needs no round trip when
   * this leader has applied its own commit index (then the cluster's); otherwise
   * it takes a round, whose wait the ReadIndexer bounds by the request timeout.
   */
  async confirm(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return this.round();
    const left = this.leftMs(lease, this.raft.termNow);
    if (left <= 0) return this.round();
    if (left < lease.durationMs / 2 && this.refresh === undefined) {
      this.refresh = this.round().then(
        () => { this.refresh = undefined; },
        () => { this.refresh = undefined; },
      );
    }
    if (this.appliedIndex() < this.raft.committedNow) return this.round();
  }

  /**
   * The lease this member would use now: its term and the milliseconds left
   * (0: none). For the simulation's check that no other leader exists while one
   * holds a lease.
   */
  leaseNow(): { term: number; remainingMs: number } {
    const term = this.raft.termNow;
    return { term, remainingMs: this.lease ? this.leftMs(this.lease, term) : 0 };
  }

  /** A membership change was applied: the quorum behind the lease may not be one any more. */
  onConfChangeApplied(): void {
    this.lease?.invalidate();
  }

  /** What is left of `lease` while this member leads undisturbed in `term` (0 otherwise). */
  private leftMs(lease: LeaderLease, term: number): number {
    return this.raft.leadsUndisturbed(term) ? lease.remainingMs(term) : 0;
  }
}
