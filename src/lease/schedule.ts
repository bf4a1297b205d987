// The leader's timing of leases: deadlines, the expiry queue and the checkpoint
// queue. None of this is replicated: a follower holds no deadlines (its leases
// never expire), and a new leader rebuilds everything in promote() from the
// replicated TTLs and checkpointed remainders.

import { errLeaseExpired } from './errors.js';
import type { Lease, LeaseTable } from './lease-table.js';
import { LeaseQueue } from './lease-queue.js';
import { spreadDeadlines } from './spread.js';
import type { LeaseId, MonotonicClock } from './types.js';

export interface ScheduleOptions {
  checkpointIntervalMs: number;
  expiredRetryMs: number;
  revokeRate: number;
}

export interface Checkpoint {
  id: LeaseId;
  remainingTtl: number;
}

export class LeaderSchedule {
  /** Every lease by deadline, or by retry time once reported expired. */
  private readonly expiry = new LeaseQueue();
  /** Leases long enough to be worth checkpointing, by next checkpoint time. */
  private readonly checkpoints = new LeaseQueue();
  private primary = false;
  private lastExtendMs = 0;

  constructor(
    private readonly table: LeaseTable,
    private readonly clock: MonotonicClock,
    private readonly opts: ScheduleOptions,
  ) {}

  get isPrimary(): boolean {
    return this.primary;
  }

  now(): number {
    return this.clock.now();
  }

  promote(extendMs: number): void {
    this.primary = true;
    this.lastExtendMs = extendMs;
    const now = this.clock.now();
    this.checkpoints.clear();
    for (const lease of this.table.all()) {
      this.setDeadline(lease, now + extendMs + lease.effectiveTtl * 1000);
      this.scheduleCheckpoint(lease, now);
    }
    // Below the revoke rate, every lease can be revoked within a second anyway.
    if (this.table.size < this.opts.revokeRate) return;
    const all = [...this.table.all()].map((l) => ({ id: l.id, deadline: l.deadline }));
    for (const m of spreadDeadlines(all, Math.floor((3 * this.opts.revokeRate) / 4))) {
      this.setDeadline(this.table.get(m.id)!, m.deadline);
    }
  }

  /** Promotes again with the last extension (state was replaced while leader). */
  repromote(): void {
    if (this.primary) this.promote(this.lastExtendMs);
  }

  demote(): void {
    this.primary = false;
    for (const lease of this.table.all()) lease.deadline = Infinity;
    this.clear();
  }

  clear(): void {
    this.expiry.clear();
    this.checkpoints.clear();
  }

  /** A lease was granted: on the leader it runs from now for its full TTL. */
  granted(lease: Lease): void {
    if (!this.primary) return;
    const now = this.clock.now();
    this.setDeadline(lease, now + lease.ttl * 1000);
    this.scheduleCheckpoint(lease, now);
  }

  /** A checkpoint was applied; a reset (0) after a renewal restarts the checkpoint chain. */
  checkpointed(lease: Lease): void {
    if (this.primary) this.scheduleCheckpoint(lease, this.clock.now());
  }

  removed(id: LeaseId): void {
    this.expiry.remove(id);
    this.checkpoints.remove(id);
  }

  /** Restarts a lease's full TTL from now (the caller checked primary and existence). */
  renew(lease: Lease): void {
    const now = this.clock.now();
    if (lease.deadline <= now) throw errLeaseExpired();
    this.setDeadline(lease, now + lease.ttl * 1000);
    this.scheduleCheckpoint(lease, now);
  }

  expired(limit: number): LeaseId[] {
    const out: LeaseId[] = [];
    if (!this.primary) return out;
    const now = this.clock.now();
    while (out.length < limit) {
      const top = this.expiry.peek();
      if (top === undefined || top.time > now) break;
      const lease = this.table.get(top.id);
      if (lease === undefined) {
        this.expiry.remove(top.id);
        continue;
      }
      if (lease.deadline > now) {
        this.expiry.set(lease.id, lease.deadline);
        continue;
      }
      // Keep it queued: if the revoke proposal is lost, it is reported again.
      this.expiry.set(lease.id, now + this.opts.expiredRetryMs);
      out.push(lease.id);
    }
    return out;
  }

  checkpointsDue(limit: number): Checkpoint[] {
    const out: Checkpoint[] = [];
    if (!this.primary) return out;
    const now = this.clock.now();
    const interval = this.opts.checkpointIntervalMs;
    while (out.length < limit) {
      const top = this.checkpoints.peek();
      if (top === undefined || top.time > now) break;
      this.checkpoints.remove(top.id);
      const lease = this.table.get(top.id);
      if (lease === undefined || lease.deadline <= now) continue;
      const remaining = Math.ceil((lease.deadline - now) / 1000);
      // A remainder of the full TTL tells a new leader nothing it does not know.
      if (remaining < lease.ttl) out.push({ id: lease.id, remainingTtl: remaining });
      // Unlike etcd 3.4, the chain does not depend on the checkpoint applying:
      // a lease renewed right at its checkpoint stays scheduled.
      if (remaining * 1000 > interval) this.checkpoints.set(lease.id, now + interval);
    }
    return out;
  }

  private setDeadline(lease: Lease, deadline: number): void {
    lease.deadline = deadline;
    this.expiry.set(lease.id, deadline);
  }

  /**
   * Queues a lease's next checkpoint, unless one is queued already (frequent
   * renewals must not keep pushing it back) or the lease has no more than an
   * interval left (it expires or is renewed before a checkpoint would help).
   */
  private scheduleCheckpoint(lease: Lease, now: number): void {
    if (this.checkpoints.has(lease.id)) return;
    const interval = this.opts.checkpointIntervalMs;
    if (lease.deadline - now > interval) this.checkpoints.set(lease.id, now + interval);
  }
}
