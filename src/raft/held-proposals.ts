// Proposals a peer forwarded to this member when it could not place them: it
// leads but a leadership transfer is under way (etcd-io/raft drops them), or it
// follows (or campaigns) without knowing a leader. Dropping one is silent for its
// proposer: the drop happens on this member, not in the proposer's synchronous
// propose call, so it would only learn at its deadline. Held, it goes on as soon
// as there is somewhere to put it (Raft.placeHeldProposals).
//
// Safe: a held proposal was never appended to any log, and it leaves the queue
// exactly once (appended, forwarded or dropped), so it is applied at most once.
//
// It belongs to the core rather than the driver because only the core knows the
// moments that matter (a transfer starts, is aborted, a leader becomes known) as
// they happen, in the same step; a driver would have to infer them from Readies
// and status polls. Still pure: no clock but ticks, no I/O. Bounded by count and
// bytes (beyond that a proposal is dropped as before) and by age.

import { ErrProposalDropped } from './errors.js';
import type { Message } from './types.js';
import { dataBytes } from './util.js';

export const MAX_HELD_PROPOSALS = 4096;
export const MAX_HELD_BYTES = 64 * 1024 * 1024;

export class HeldProposals {
  private queue: Message[] = [];
  private bytes = 0;
  /** Ticks since the queue became non-empty. */
  private elapsed = 0;

  /** What is held, oldest first. */
  get messages(): readonly Message[] {
    return this.queue;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Keeps `m`; throws ErrProposalDropped when the queue is full. */
  hold(m: Message): void {
    const bytes = dataBytes(m.entries);
    if (this.queue.length >= MAX_HELD_PROPOSALS || this.bytes + bytes > MAX_HELD_BYTES) {
      throw new ErrProposalDropped('too many proposals held for a leader');
    }
    if (this.queue.length === 0) this.elapsed = 0;
    this.queue.push(m);
    this.bytes += bytes;
  }

  /**
   * One tick. Once the queue has waited `maxTicks` with nowhere to go, everything
   * in it is dropped (their proposers' deadlines tell the clients); returns how
   * many.
   */
  tick(maxTicks: number): number {
    if (this.queue.length === 0 || ++this.elapsed < maxTicks) return 0;
    return this.takeAll().length;
  }

  /** Empties the queue and returns what it held, oldest first. */
  takeAll(): Message[] {
    const held = this.queue;
    this.queue = [];
    this.bytes = 0;
    return held;
  }
}
