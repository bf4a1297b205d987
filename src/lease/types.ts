// Lease ids, time and key representation shared by the lessor's parts.
//
// Lease ids are etcd's int64 (LeaseGrantRequest.ID, KeyValue.lease): they do
// not fit a JavaScript number, so they are bigints, branded so a member id or a
// request id cannot be passed where a lease id is meant (revisions are plain
// numbers, so they cannot be confused either).

import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';

export type LeaseId = bigint & { readonly __brand: 'LeaseId' };

/** The "no lease" id (KeyValue.lease = 0). Granting it is refused. */
export const NO_LEASE = 0n as LeaseId;

/** Largest TTL etcd grants, in seconds (about 285 years); above is `too large lease TTL`. */
export const MAX_LEASE_TTL = 9_000_000_000;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A lease id from a wire value; throws if it is not a signed 64-bit integer. */
export function toLeaseId(v: bigint | number): LeaseId {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  if (b < INT64_MIN || b > INT64_MAX) throw new RangeError(`lease id out of int64 range: ${b}`);
  return b as LeaseId;
}

/**
 * The id a proposer gives a grant that asked for id 0: a fresh request id with
 * its top bit cleared, so the lease id is positive, as etcd does. The result can
 * be 0 (NO_LEASE); the caller must then draw another request id.
 */
export function leaseIdFromRequestId(requestId: bigint): LeaseId {
  return BigInt.asUintN(63, requestId) as LeaseId;
}

/**
 * How etcdctl prints an id (`lease %016x granted …`): Go's %016x on an int64,
 * zero-padded to 16 characters, a negative id as '-' and its magnitude.
 */
export function formatLeaseId(id: LeaseId): string {
  if (id < 0n) return '-' + (-id).toString(16).padStart(15, '0');
  return id.toString(16).padStart(16, '0');
}

/**
 * etcd's minimum lease TTL in seconds: 1.5 election timeouts, so a lease cannot
 * expire during a leader election. The tick product uses integer division, as
 * etcd computes it, and the result rounds up to whole seconds.
 */
export function minLeaseTtl(electionTicks: number, heartbeatMs: number): number {
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * heartbeatMs) / 1000);
}

/**
 * A monotonic clock in milliseconds: it only moves forward, at the rate of real
 * time, and a wall-clock step (NTP, a manual date change) does not move it; its
 * zero is arbitrary, so its readings mean something only relative to each other.
 * Every lease deadline, expiry, checkpoint and rate limit runs on one, as etcd's
 * do on Go's monotonic time. Injected so tests need no real time; never inject
 * Date.now (a step of the wall clock would revoke live leases or keep dead ones).
 */
export interface MonotonicClock {
  now(): number;
}

/** The process's monotonic clock (performance.now()). */
export const monotonicClock: MonotonicClock = { now: () => performance.now() };

// Keys are byte strings; Sets and Maps compare Uint8Arrays by identity, so keys
// are held as latin1 strings (one UTF-16 unit per byte): equal bytes give equal
// strings, and string order is byte order, which is the order etcd deletes a
// revoked lease's keys in.
export const keyToStr = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
export const strToKey = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
