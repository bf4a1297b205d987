// A lease as the Leases page shows it: what TimeToLive answered, and when, so
// the remaining seconds count down in the browser between refreshes.

import { decodeText, int } from '../api/codec.js';
import type { LeaseTimeToLiveResponse } from '../api/types.js';

export interface LeaseInfo {
  id: string;
  grantedTtl: number;
  /** Remaining seconds when asked. */
  ttl: number;
  /** Date.now() when asked. */
  askedAt: number;
  keys: string[];
}

/** undefined: the lease is gone (TimeToLive answers TTL -1 for an expired or revoked lease). */
export function leaseInfo(res: LeaseTimeToLiveResponse, askedAt: number): LeaseInfo | undefined {
  const ttl = int(res.TTL);
  if (ttl < 0) return undefined;
  return { id: res.ID, grantedTtl: int(res.grantedTTL), ttl, askedAt, keys: (res.keys ?? []).map((k) => decodeText(k)) };
}

export function remainingAt(lease: LeaseInfo, now: number): number {
  return Math.max(0, lease.ttl - Math.floor((now - lease.askedAt) / 1000));
}
