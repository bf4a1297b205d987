// etcd's concurrency.Session as its v3lock/v3election servers use it: built on
// the caller's lease, or, when the request names lease 0 (clientv3.NoLease), on
// a fresh lease of the default session TTL, which is then left to expire (the
// servers orphan their sessions: nothing keeps the lease alive).

import type { RecipeContext } from './ports.js';

/** concurrency.defaultSessionTTL, in seconds. */
export const DEFAULT_SESSION_TTL = 60n;

/** The lease the recipe's keys are bound to. */
export async function sessionLease(ctx: RecipeContext, lease: bigint): Promise<bigint> {
  if (lease !== 0n) return lease;
  return (await ctx.leases.grant(DEFAULT_SESSION_TTL, 0n)).id;
}

/** A session's own key under a prefix: fmt.Sprintf("%s%x", prefix, lease), signed hex as Go prints an int64. */
export function sessionKey(prefix: Uint8Array, lease: bigint): Buffer {
  return Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
}

/** Recipes use "<name>/" as the prefix of a lock or election. */
export function prefixOf(name: Uint8Array): Buffer {
  return Buffer.concat([name, Buffer.from('/')]);
}
