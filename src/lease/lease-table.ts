// The leases and their attached keys: the part of the lessor's state that is
// identical on every member, because it changes only on the apply path.
// (Deadlines live here too, but only the leader gives them meaning.)

import { strToKey, type LeaseId } from './types.js';

export class Lease {
  /** Keys attached, as latin1 strings (see keyToStr); none yet: undefined (most leases never get a key: no Set for them). */
  keys: Set<string> | undefined = undefined;
  /** When the lease expires, in clock ms; Infinity on followers, which never expire leases. */
  deadline = Infinity;

  constructor(
    readonly id: LeaseId,
    /** Granted TTL in seconds. */
    readonly ttl: number,
    /** Remaining seconds at the last applied checkpoint; 0 = none. */
    public remainingTtl = 0,
  ) {}

  /** Seconds a new leader counts from: the checkpointed remainder if any, else the TTL. */
  get effectiveTtl(): number {
    return this.remainingTtl > 0 ? this.remainingTtl : this.ttl;
  }

  /** Attached keys in byte order. */
  sortedKeys(): Uint8Array[] {
    return this.keys === undefined || this.keys.size === 0 ? [] : [...this.keys].sort().map(strToKey);
  }
}

export class LeaseTable {
  private readonly leases = new Map<LeaseId, Lease>();
  /** Which lease each attached key belongs to: a key has at most one. */
  private readonly keyLease = new Map<string, LeaseId>();

  get size(): number {
    return this.leases.size;
  }

  get(id: LeaseId): Lease | undefined {
    return this.leases.get(id);
  }

  all(): IterableIterator<Lease> {
    return this.leases.values();
  }

  add(lease: Lease): void {
    this.leases.set(lease.id, lease);
  }

  /** Drops a lease and forgets its keys' attachment; returns it. */
  remove(id: LeaseId): Lease | undefined {
    const lease = this.leases.get(id);
    if (lease === undefined) return undefined;
    this.leases.delete(id);
    if (lease.keys !== undefined) for (const k of lease.keys) this.keyLease.delete(k);
    return lease;
  }

  /** Whether any key is attached to any lease (a put without a lease then has nothing to detach). */
  hasAttachedKeys(): boolean {
    return this.keyLease.size > 0;
  }

  leaseOf(key: string): LeaseId | undefined {
    return this.keyLease.get(key);
  }

  /** Attaches a key to `lease`, moving it off any lease it was on. */
  attach(lease: Lease, key: string): void {
    const prev = this.keyLease.get(key);
    if (prev === lease.id) return;
    if (prev !== undefined) this.leases.get(prev)?.keys?.delete(key);
    (lease.keys ??= new Set()).add(key);
    this.keyLease.set(key, lease.id);
  }

  /** Detaches a key from `id` if it is attached there. */
  detach(id: LeaseId, key: string): boolean {
    if (this.keyLease.get(key) !== id) return false;
    this.keyLease.delete(key);
    this.leases.get(id)?.keys?.delete(key);
    return true;
  }

  clear(): void {
    this.leases.clear();
    this.keyLease.clear();
  }
}
