// The leader lease (Raft thesis §6.4.1): how long this leader may take its
// leadership as confirmed without asking a quorum again.
//
// Why it holds. A follower that hears from its leader ignores every other
// candidate's vote request until an election timeout of its own ticks has passed
// without hearing from it again (check-quorum's stickiness, raft.ts). Once a
// quorum has answered a ReadIndex round this leader asked at time t, each of
// them heard from it after t, so no quorum can elect anyone else before
// t + (electionTicks − 1) ticks: a follower's first tick after a heartbeat may
// come at once, and its ticks are never closer together than a tick (Node's
// interval timers fire late, never early). Four gaps are closed elsewhere or
// here:
// - a restarted member forgets whom it heard from; it holds its vote for an
//   election timeout after start (raft-node.ts, holdVotesMs);
// - a leadership transfer makes the transferee campaign with a vote nobody may
//   ignore; a leader with a transfer under way does not use its lease
//   (RaftNode.leadsUndisturbed);
// - clocks: the lease is measured on this member's monotonic clock, a follower's
//   timeout on its own; LEASE_CLOCK_MARGIN absorbs their rates differing, and one
//   more tick is left out for the follower's tick timer;
// - a membership change: the quorum that answered may not be one of the new
//   configuration, so applying one ends the lease (invalidate()).
//
// What it is used for: only a lease keep-alive's confirmation that this member
// still leads (lease/coordinator.ts), unless ETCD_TS_LEADER_LEASE=off
// (compose.ts). Linearizable reads keep their ReadIndex round, as etcd's.

/** What a lease counts on of the clocks' rates agreeing, at most. */
export const LEASE_CLOCK_MARGIN = 0.1;

/** The lease a confirmed round gives, for a member with these Raft timings (ms). */
export function leaderLeaseMs(electionMs: number, tickMs: number): number {
  const ticks = Math.floor(electionMs / tickMs);
  return Math.max(0, (ticks - 2) * tickMs * (1 - LEASE_CLOCK_MARGIN));
}

/** When a round was asked (monotonic ms), and in which term this member led then. */
export interface LeaseStamp {
  readonly at: number;
  readonly term: number;
}

export class LeaderLease {
  private term = -1;
  /** Monotonic ms. */
  private until = -Infinity;

  constructor(
    private readonly now: () => number,
    readonly durationMs: number,
  ) {}

  /** A stamp for a round asked now by the leader of `term`. */
  stamp(term: number): LeaseStamp {
    return { at: this.now(), term };
  }

  /**
   * A quorum answered the round stamped `s`. The caller checks that this member
   * still leads in `s.term` (a round of an earlier term says nothing of this one).
   */
  confirmed(s: LeaseStamp): void {
    const until = s.at + this.durationMs;
    if (s.term !== this.term) {
      if (s.term < this.term) return;
      this.term = s.term;
      this.until = until;
    } else if (until > this.until) {
      this.until = until;
    }
  }

  /**
   * Ends the lease (a membership change: the quorum that answered may not be one
   * of the new configuration).
   */
  invalidate(): void {
    this.until = -Infinity;
  }

  /** Milliseconds the lease of `term` has left (0 when it has none). */
  remainingMs(term: number): number {
    if (term !== this.term) return 0;
    return Math.max(0, this.until - this.now());
  }
}
