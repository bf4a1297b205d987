// Whether this Ready's WAL write may block the Raft driver's thread
// (WAL.setInlineWrites) instead of going through libuv's thread pool. A pool
// write costs two thread wake-ups (the pool thread, then this thread for the
// completion); on a machine whose CPUs are shared each can wait a millisecond or
// more to be scheduled. An inline write costs neither, but blocks everything
// else this thread would do meanwhile.
//
// A follower: always. Its acknowledgement waits for the write, and nothing else
// it does is urgent for a fraction of a millisecond.
//
// A leader: only while it serves requests one at a time, i.e. the entry it
// appends is the only one in flight and so were those of the last few appends.
// Then little waits behind the write: the followers already have the entry (the
// appends go out before the write), and the leader applies an entry and answers
// its own client only once its own copy is on disk anyway. (A client of a
// follower needs only the commit, which two followers' acknowledgements could
// make before the leader's write ends; read after it instead, they cost that
// client nothing measurable here: put 1c via a follower's p99 stayed within
// noise.) With many clients the leader's thread must stay free: a request that
// arrives alone right after a commit is followed by others within microseconds,
// and a blocked thread would hold them in its sockets (tried: 256 clients' p99
// 1.14–1.22x). The streak is what tells the two apart.

import type { Entry } from '../raft/types.js';

/** Appends in a row that carried the only entry in flight before a leader writes inline. */
export const LEADER_ALONE_STREAK = 4;

export class InlineWritePolicy {
  /** Consecutive leader appends of one entry with nothing else uncommitted. */
  private aloneStreak = 0;

  /**
   * Decides for one Ready. `entries` are the ones it appends, `committed` the
   * commit index now (an entry at committed + 1 is then the only one in flight).
   * A Ready without entries (a commit notice, a hard state) leaves the streak as
   * it is: one client's puts alternate between the two.
   */
  decide(leader: boolean, entries: readonly Entry[], committed: number): boolean {
    if (!leader) {
      this.aloneStreak = 0;
      return true;
    }
    if (entries.length === 0) return false;
    const alone = entries.length === 1 && entries[0]!.index === committed + 1;
    this.aloneStreak = alone ? this.aloneStreak + 1 : 0;
    return this.aloneStreak >= LEADER_ALONE_STREAK;
  }
}
