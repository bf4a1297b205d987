// The lessor: leases, their keys, and when they expire.
//
// Two kinds of callers, two sets of methods:
//
// - The applier, on every member, in log order: grant, revoke, checkpoint,
//   attach/detach (via keyPut/keyDeleted). These change the replicated state and
//   its stored records, and their results depend only on the log, never on the
//   clock or on who leads; so every member holds the same leases and keys.
//
// - The leader ("primary"), locally: promote/demote, renew, expired,
//   checkpointsDue, timeToLive. Only the leader keeps deadlines; a follower's
//   leases never expire. The leader decides that a lease has expired, but the
//   revoke itself is a Raft entry, so every member deletes the same keys at the
//   same revision. Renewals change only the leader's deadline and go through no
//   log at all; what survives a leader change is the checkpointed remaining TTL.
//   (The leader's deadlines and queues live in schedule.ts.)

import { errLeaseExists, errLeaseNotFound, errLeaseTtlTooLarge, errNotPrimary } from './errors.js';
import { Lease, LeaseTable } from './lease-table.js';
import { decodeLeaseRecord, encodeLeaseRecord, noStorage, type LeaseStorage } from './record.js';
import { LeaderSchedule, type Checkpoint } from './schedule.js';
import { keyToStr, MAX_LEASE_TTL, NO_LEASE, monotonicClock, type MonotonicClock, type LeaseId } from './types.js';

export interface LessorOptions {
  /** Shortest TTL granted, in seconds (see minLeaseTtl); shorter requests get this. Default 1. */
  minTtl?: number;
  clock?: MonotonicClock;
  /** Where records go; default: nowhere (state lives in memory only). */
  storage?: LeaseStorage;
  /** How often the leader checkpoints a long lease's remaining TTL (etcd: 5 min). */
  checkpointIntervalMs?: number;
  /** An expired lease not revoked after this long is reported by expired() again (etcd: the request timeout). */
  expiredRetryMs?: number;
  /** Revokes per second the server allows; promote spreads deadlines to 3/4 of it. Default 1000. */
  revokeRate?: number;
}

export interface LeaseInfo {
  id: LeaseId;
  ttl: number;
  remainingTtl: number;
  keys: Uint8Array[];
}

export interface TimeToLive {
  id: LeaseId;
  /** Whole seconds left, truncated as etcd does (negative while a revoke is pending). */
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}

export type { Checkpoint };

export interface RestoreSummary {
  leases: number;
  attachedKeys: number;
  /** (key, lease) pairs whose lease has no record; etcd logs these and leaves the key unattached. */
  orphans: Array<[Uint8Array, LeaseId]>;
}

/** A TTL from the wire (int64) as a number; anything past MAX_LEASE_TTL stays past it. */
function ttlNumber(v: number | bigint): number {
  if (typeof v === 'bigint') return v > BigInt(MAX_LEASE_TTL) ? MAX_LEASE_TTL + 1 : Number(v);
  return Number.isNaN(v) ? 0 : Math.trunc(v);
}

export class Lessor {
  private readonly table = new LeaseTable();
  private readonly schedule: LeaderSchedule;
  private readonly minTtl: number;
  private readonly storage: LeaseStorage;

  constructor(opts: LessorOptions = {}) {
    this.minTtl = opts.minTtl ?? 1;
    this.storage = opts.storage ?? noStorage;
    this.schedule = new LeaderSchedule(this.table, opts.clock ?? monotonicClock, {
      checkpointIntervalMs: opts.checkpointIntervalMs ?? 5 * 60_000,
      expiredRetryMs: opts.expiredRetryMs ?? 3000,
      revokeRate: opts.revokeRate ?? 1000,
    });
  }

  get size(): number {
    return this.table.size;
  }

  get isPrimary(): boolean {
    return this.schedule.isPrimary;
  }

  has(id: LeaseId): boolean {
    return this.table.get(id) !== undefined;
  }

  lookup(id: LeaseId): LeaseInfo | undefined {
    const l = this.table.get(id);
    return l && { id: l.id, ttl: l.ttl, remainingTtl: l.remainingTtl, keys: l.sortedKeys() };
  }

  /** The lease a key is attached to, NO_LEASE if none. */
  leaseOf(key: Uint8Array): LeaseId {
    return this.table.leaseOf(keyToStr(key)) ?? NO_LEASE;
  }

  // ---- apply path ------------------------------------------------------------

  /**
   * Grants lease `id` (chosen by the proposer; 0 is not a lease). A TTL below
   * the minimum is raised to it. Returns the TTL granted.
   */
  grant(id: LeaseId, ttl: number | bigint): { id: LeaseId; ttl: number } {
    if (id === NO_LEASE) throw errLeaseNotFound();
    let secs = ttlNumber(ttl);
    if (secs > MAX_LEASE_TTL) throw errLeaseTtlTooLarge();
    if (this.table.get(id) !== undefined) throw errLeaseExists();
    if (secs < this.minTtl) secs = this.minTtl;
    const lease = new Lease(id, secs);
    this.table.add(lease);
    this.persist(lease);
    this.schedule.granted(lease);
    return { id, ttl: secs };
  }

  /**
   * Removes lease `id` and returns its keys in byte order: the applier deletes
   * them all in one revision, in this order, so every member's store (and its
   * hash) comes out the same.
   */
  revoke(id: LeaseId): Uint8Array[] {
    const lease = this.table.get(id);
    if (lease === undefined) throw errLeaseNotFound();
    const keys = lease.sortedKeys();
    this.table.remove(id);
    this.schedule.removed(id);
    this.storage.delete(id);
    return keys;
  }

  /**
   * Records a lease's remaining TTL, proposed by the leader (0 clears it after a
   * renewal). It does not move the current leader's deadline; it is what the
   * next leader counts from. Unknown leases are ignored (already revoked).
   */
  checkpoint(id: LeaseId, remainingTtl: number | bigint): boolean {
    const lease = this.table.get(id);
    if (lease === undefined) return false;
    lease.remainingTtl = Math.max(0, ttlNumber(remainingTtl));
    this.persist(lease);
    this.schedule.checkpointed(lease);
    return true;
  }

  /** Attaches `key` to lease `id`, moving it off its previous lease. */
  attach(id: LeaseId, key: Uint8Array): void {
    const lease = this.table.get(id);
    if (lease === undefined) throw errLeaseNotFound();
    this.table.attach(lease, keyToStr(key));
  }

  /** Detaches `key` from lease `id`; false if it was not attached there. */
  detach(id: LeaseId, key: Uint8Array): boolean {
    return this.table.detach(id, keyToStr(key));
  }

  /**
   * A put of `key` with `lease` was applied: the key now belongs to that lease
   * (NO_LEASE: to none). Throws not-found for an unknown lease; the applier must
   * have checked `has()` before applying the put.
   */
  keyPut(key: Uint8Array, lease: LeaseId): void {
    // Most puts carry no lease and no key is attached: skip the key's string copy.
    if (lease === NO_LEASE && !this.table.hasAttachedKeys()) return;
    const k = keyToStr(key);
    if (lease === NO_LEASE) {
      const prev = this.table.leaseOf(k);
      if (prev !== undefined) this.table.detach(prev, k);
      return;
    }
    const l = this.table.get(lease);
    if (l === undefined) throw errLeaseNotFound();
    this.table.attach(l, k);
  }

  /** A delete of `key` was applied: it leaves whatever lease it was on. */
  keyDeleted(key: Uint8Array): void {
    this.keyPut(key, NO_LEASE);
  }

  // ---- leader side -------------------------------------------------------------

  /**
   * This member became leader and has applied everything from earlier terms (etcd
   * promotes on applying the new term's empty entry). Every lease gets a fresh
   * deadline: now + `extendMs` (an election timeout) + its checkpointed remaining
   * TTL, or its full TTL if none. A holder that kept renewing at the old leader
   * has at least that long to find this one.
   */
  promote(extendMs: number): void {
    this.schedule.promote(extendMs);
  }

  /** This member is no longer leader: nothing expires here until promoted again. */
  demote(): void {
    this.schedule.demote();
  }

  /**
   * Renews a lease on the leader: its deadline becomes now + its TTL. Returns
   * the TTL. Throws not-primary on a follower (forward to the leader), not-found
   * for an unknown lease, expired if the deadline has passed (see errLeaseExpired).
   *
   * If checkpointResetNeeded() says so, the server must first propose a
   * checkpoint of 0 for this lease and wait for it to apply, as etcd does:
   * otherwise a leader change would count from the stale remainder and could
   * expire the renewed lease early.
   */
  renew(id: LeaseId): number {
    if (!this.schedule.isPrimary) throw errNotPrimary();
    const lease = this.table.get(id);
    if (lease === undefined) throw errLeaseNotFound();
    this.schedule.renew(lease);
    return lease.ttl;
  }

  /** Whether a renewal must first clear the lease's checkpointed remaining TTL (see renew). */
  checkpointResetNeeded(id: LeaseId): boolean {
    return this.schedule.isPrimary && (this.table.get(id)?.remainingTtl ?? 0) > 0;
  }

  /**
   * Up to `limit` leases whose deadline has passed, earliest first, for the
   * server to revoke through Raft. A lease reported here is reported again after
   * expiredRetryMs if it is still not revoked (the proposal was lost). Empty on
   * followers.
   */
  expired(limit: number): LeaseId[] {
    return this.schedule.expired(limit);
  }

  /**
   * Up to `limit` checkpoints due, for the server to propose (one
   * LeaseCheckpointRequest may carry them all). A lease is checkpointed every
   * interval while its remaining time exceeds one interval: a dead holder's lease
   * then expires on time after a leader change instead of restarting its TTL.
   */
  checkpointsDue(limit: number): Checkpoint[] {
    return this.schedule.checkpointsDue(limit);
  }

  /** LeaseTimeToLive, answered by the leader (a follower forwards: throws not-primary). */
  timeToLive(id: LeaseId, withKeys = false): TimeToLive {
    if (!this.schedule.isPrimary) throw errNotPrimary();
    const lease = this.table.get(id);
    if (lease === undefined) throw errLeaseNotFound();
    // etcd: int64(Remaining().Seconds()), a truncation toward zero ("|| 0" turns -0 into 0).
    const ttl = Math.trunc((lease.deadline - this.schedule.now()) / 1000) || 0;
    return { id, ttl, grantedTtl: lease.ttl, keys: withKeys ? lease.sortedKeys() : [] };
  }

  /** Every lease id, soonest deadline first (by id where deadlines tie, as on followers). */
  leases(): LeaseId[] {
    return [...this.table.all()]
      .sort((a, b) => (a.deadline === b.deadline ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.deadline < b.deadline ? -1 : 1))
      .map((l) => l.id);
  }

  // ---- start-up and snapshots ------------------------------------------------------

  /**
   * Replaces all state with what storage holds: every lease record, and the
   * (key, lease) pairs of the live keys in the MVCC store, which rebuild the
   * attachments. Records with a TTL below the minimum are raised to it. On a
   * leader the leases get fresh deadlines as in the last promote.
   */
  restore(records: Iterable<Uint8Array>, attached: Iterable<readonly [Uint8Array, LeaseId]>): RestoreSummary {
    this.table.clear();
    this.schedule.clear();
    for (const bytes of records) {
      const r = decodeLeaseRecord(bytes);
      if (r.id === NO_LEASE) continue;
      this.table.add(new Lease(r.id, Math.max(r.ttl, this.minTtl), Math.max(0, r.remainingTtl)));
    }
    const summary: RestoreSummary = { leases: this.table.size, attachedKeys: 0, orphans: [] };
    for (const [key, id] of attached) {
      if (id === NO_LEASE) continue;
      const lease = this.table.get(id);
      if (lease === undefined) {
        summary.orphans.push([key, id]);
        continue;
      }
      this.table.attach(lease, keyToStr(key));
      summary.attachedKeys++;
    }
    this.schedule.repromote();
    return summary;
  }

  // ---- internals -----------------------------------------------------------------

  private persist(lease: Lease): void {
    this.storage.put(lease.id, encodeLeaseRecord({ id: lease.id, ttl: lease.ttl, remainingTtl: lease.remainingTtl }));
  }
}
