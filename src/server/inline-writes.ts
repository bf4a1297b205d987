// Whether this Ready's WAL write may block the Raft driver's thread
// (WAL.saveNow) instead of going through libuv's thread pool. A pool
// write costs two thread wake-ups (the pool thread, then this thread for the
// completion); on a machine whose CPUs are shared each can wait a millisecond or
// more to be scheduled. An inline write costs neither, but blocks everything
// else this thread would do meanwhile.
//
// A follower: always. Its acknowledgement waits for the write, and nothing else
// it does is urgent for a fraction of a millisecond.
//
// A leader: only while it serves its own clients' requests one at a time, i.e.
// the entry it appends is the only one in flight, and so were those of the last
// few appends. Then little waits behind the write: the followers already have
// the entry (the appends go out before the write), and the leader applies an
// entry and answers its client only once its own copy is on disk anyway. An
// entry a follower forwarded too, when the leader can tell that follower its
// copy is on disk (raft/persisted-hint.ts: three voters): the follower then
// commits from that word and its own copy, and the write on this thread sends
// the word with no wake-up between (put 1c via a follower: 1.06x the rate, p99
// 0.89x, 0.92x the CPU, in an A/B). Not otherwise: that follower answers its
// client once the entry is committed, which two followers' acknowledgements can
// do before the leader's write ends, and an inline write would hold them until
// it does (before the hint: 0.96x the rate, p99 1.05x). With many clients the
// leader's thread must stay free: a request that arrives alone right after a
// commit is followed by others within microseconds, and a blocked thread would
// hold them in its sockets (tried: 256 clients' p99 1.14–1.22x). The streak is
// what tells the two apart. Linearizable reads (a ReadIndex, this member's or a
// follower's) start it again too: a single writer beside many readers would
// otherwise hold the readers for one disk write per put.

import type { Entry } from '../raft/types.js';

/** Appends in a row that carried the only entry in flight before a leader writes inline. */
export const LEADER_ALONE_STREAK = 4;

/**
 * A leader writes inline only while its last write took less than this (ms).
 * Its thread may have other clients to serve (serializable reads, watches,
 * keep-alives) that the streak does not see; on a disk whose writes take
 * milliseconds it keeps the pool. A follower has the WAL's default bound.
 */
export const LEADER_INLINE_MAX_LAST_MS = 1;

export class InlineWritePolicy {
  /** Consecutive leader appends of one entry with nothing else uncommitted. */
  private aloneStreak = 0;
  /** The leader's last log index after it took forwarded proposals whose follower gets no hint. */
  private forwardedUpTo = 0;

  /**
   * A leader took proposals a follower forwarded that it cannot tell when its
   * copy is on disk (raft/persisted-hint.ts); they end at log index `lastIndex`.
   */
  forwarded(lastIndex: number): void {
    this.forwardedUpTo = lastIndex;
  }

  /** Other clients are being served (a linearizable read): the streak starts again. */
  otherWork(): void {
    this.aloneStreak = 0;
  }

  /**
   * The bound on the last write's duration that goes with the decision: a
   * leader's tighter one (LEADER_INLINE_MAX_LAST_MS), or undefined for the log's
   * own default (a follower's).
   */
  maxLastWriteMs(leader: boolean): number | undefined {
    return leader ? LEADER_INLINE_MAX_LAST_MS : undefined;
  }

  /**
   * Decides for one Ready. `entries` are the ones it appends, `committed` the
   * commit index now (an entry at committed + 1 is then the only one in flight);
   * an entry at or below the last forwarded() index came from a follower.
   * A Ready without entries (a commit notice, a hard state) leaves the streak as
   * it is: one client's puts alternate between the two.
   */
  decide(leader: boolean, entries: readonly Entry[], committed: number): boolean {
    if (!leader) {
      this.aloneStreak = 0;
      this.forwardedUpTo = 0;
      return true;
    }
    if (entries.length === 0) return false;
    const e = entries[0]!;
    const alone = entries.length === 1 && e.index === committed + 1 && e.index > this.forwardedUpTo;
    this.aloneStreak = alone ? this.aloneStreak + 1 : 0;
    return this.aloneStreak >= LEADER_ALONE_STREAK;
  }
}
