// A leader tells its followers a new commit index with an empty MsgApp, sent as
// soon as the commit moves (Raft broadcasts one on every advance). With one
// request at a time, every put then costs each follower a second message, a
// second decode and step, and the leader two more socket writes: with the
// acknowledgements those notices had then (they are commit-only now, and go
// unanswered: raft/types.ts), ~11% of the cluster's CPU per put at one client
// (docs/PERFORMANCE.md, tenth round). Yet the very next
// append to that follower carries the same commit index, and under load it
// comes within a millisecond.
//
// So an empty MsgApp is held back for up to `delayMs`. If another MsgApp to the
// same follower goes out first, the held one is dropped: the later message
// carries a commit index at least as new (a leader's commit only grows within a
// term, and the term can only grow), and an empty append adds nothing else to
// the follower's log or to the leader's flow control (maybeSendAppend records no
// in-flight entries for it). Any other message to that follower (a heartbeat, a
// ReadIndex answer, a snapshot) sends the held one first, so each follower sees
// its messages in the order Raft made them, and a follower waiting to serve a
// linearizable read learns the commit index with the read index. When the timer
// fires, whatever is still held goes out.
//
// For Raft, holding a message is a network delay and dropping it a message
// loss, both of which it tolerates; nothing here waits for a disk or promises
// anything a client relies on. The cost is that followers learn a commit (and
// apply it, and notify their watchers) up to `delayMs` later when the leader is
// otherwise idle. Not for an auth or membership change: a follower that has not
// applied an auth change refuses requests with "revision of auth store is old"
// (clientv3 retries that, the etcd3 npm client does not), so the leader's
// applier sends what is held at once after one (RaftNode.flushCommitNotices).
//
// Nor for a follower waiting on the commit itself: a follower that forwarded a
// client's proposal answers that client only once it has applied the entry, so
// it must learn the commit as soon as the leader does. Holding that notice cost
// a put sent to a follower at one client a whole timer (p50 2.2 ms against
// etcd's 0.9, 0.43x its rate: docs/PERFORMANCE.md, twelfth round). The leader
// records the last index each follower's forwarded proposals reached
// (`awaitCommit`), and a notice that commits up to it goes at once.

import { type Message, MessageType } from '../raft/types.js';
import type { Cancel, Clock, Transport } from './raft-ports.js';

/** How long an empty MsgApp may wait for the next append to the same follower. */
export const DEFAULT_COMMIT_NOTICE_DELAY_MS = 1;

/** What is held for one follower, and what it waits for. */
interface FollowerNotices {
  /** The empty MsgApp held back (at most one: a newer one replaces it). */
  held: Message | undefined;
  /** The log index its forwarded proposals reached and it still waits to see committed (0: none). */
  awaited: number;
}

export class CommitNoticeDelay implements Transport {
  /**
   * Per follower, made once and never deleted: a Map that has keys deleted and
   * set again on every put grows and rehashes its table (~0.6 KB a put at one
   * client in a heap profile).
   */
  private readonly followers = new Map<bigint, FollowerNotices>();
  /** Followers with a notice held / with a commit awaited. */
  private heldCount = 0;
  private awaitedCount = 0;
  private timer: Cancel | undefined;

  constructor(
    private readonly inner: Transport,
    private readonly clock: Clock,
    private readonly delayMs: number,
  ) {}

  send(messages: Message[]): void {
    if (this.delayMs <= 0) {
      this.inner.send(messages);
      return;
    }
    // `out` stays undefined (and `messages` goes out as it is) until a message is held, dropped or inserted.
    let out: Message[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const f = this.heldCount > 0 || this.awaitedCount > 0 || isNotice(m) ? this.follower(m.to) : undefined;
      if (f === undefined) {
        out?.push(m);
        continue;
      }
      const held = f.held;
      // Any message that carries the awaited commit (an append, a heartbeat) ends the wait.
      const endsWait = f.awaited > 0 && m.commit >= f.awaited;
      if (endsWait) {
        f.awaited = 0;
        this.awaitedCount--;
      }
      if (isNotice(m) && !endsWait) {
        out ??= messages.slice(0, i);
        if (held === undefined) this.heldCount++;
        f.held = m;
        continue;
      }
      if (held !== undefined) {
        out ??= messages.slice(0, i);
        f.held = undefined;
        this.heldCount--;
        if (m.type !== MessageType.MsgApp) out.push(held);
      }
      out?.push(m);
    }
    const now = out ?? messages;
    if (now.length > 0) this.inner.send(now);
    if (this.heldCount > 0 && this.timer === undefined) this.timer = this.clock.after(this.delayMs, this.onTimer);
  }

  /** The timer fired: nothing to cancel (clearing a fired timer still costs an unlink, once per put at one client). */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };

  /**
   * `follower` forwarded proposals that now end at log index `index` (the
   * leader's last index after stepping them): the first notice that commits
   * that far goes to it at once.
   */
  awaitCommit(follower: bigint, index: number): void {
    if (this.delayMs <= 0) return;
    const f = this.follower(follower);
    if (index <= f.awaited) return;
    if (f.awaited === 0) this.awaitedCount++;
    f.awaited = index;
  }

  /** Sends everything held now. */
  flush(): void {
    this.timer?.();
    this.timer = undefined;
    if (this.heldCount === 0) return;
    const all: Message[] = [];
    for (const f of this.followers.values()) {
      if (f.held === undefined) continue;
      all.push(f.held);
      f.held = undefined;
    }
    this.heldCount = 0;
    this.inner.send(all);
  }

  private follower(id: bigint): FollowerNotices {
    let f = this.followers.get(id);
    if (f === undefined) {
      f = { held: undefined, awaited: 0 };
      this.followers.set(id, f);
    }
    return f;
  }

  /** Drops everything held (the member is stopping: for Raft, a lost message). */
  discard(): void {
    this.timer?.();
    this.timer = undefined;
    for (const f of this.followers.values()) {
      f.held = undefined;
      f.awaited = 0;
    }
    this.heldCount = 0;
    this.awaitedCount = 0;
  }
}

/** An empty MsgApp: it only tells the follower the commit index. */
function isNotice(m: Message): boolean {
  return m.type === MessageType.MsgApp && m.entries.length === 0;
}
