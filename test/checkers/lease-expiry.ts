// The model has no clock, so a lease that expires (the leader revokes it when
// its TTL runs out without a keep-alive) looks like keys vanishing for no
// reason. A history in which leases may expire declares it: for each granted
// lease, a leaseRevoke of unknown outcome, called when the lease could first
// expire, which the search may place at any later point or not at all.

import type { Operation } from './history.js';

export interface LeaseExpiryOptions {
  /**
   * When the lease could first expire, in the history's time unit; default the
   * grant's call (the weakest claim: it may expire at any time after).
   */
  earliestExpiry?: (grant: Operation) => number;
  /** Ids for the added operations start here (default: above every id in the history). */
  firstId?: number;
}

/** The history plus one possible-expiry operation per lease granted in it (and not already revoked by a client). */
export function withPossibleLeaseExpiry(ops: readonly Operation[], opts: LeaseExpiryOptions = {}): Operation[] {
  let nextId = opts.firstId ?? ops.reduce((m, o) => Math.max(m, o.id), 0) + 1;
  const out = [...ops];
  const seen = new Set<string>();
  for (const op of ops) {
    if (op.request.kind !== 'leaseGrant') continue;
    const id = op.request.id !== '0' ? op.request.id : op.response.kind === 'leaseGrant' ? op.response.id : undefined;
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    out.push({
      id: nextId++,
      client: -1,
      call: opts.earliestExpiry?.(op) ?? op.call,
      return: Infinity,
      request: { kind: 'leaseRevoke', id },
      response: { kind: 'error', message: 'lease expired (possible)', definite: false },
    });
  }
  return out;
}
