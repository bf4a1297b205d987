// Which permission each KV request needs (etcd's authApplierV3, apply_auth.go),
// on the request messages themselves:
//   Range            READ on [key, range_end)
//   Put              WRITE on key; READ on key too with prev_kv; WRITE on every
//                    key already attached to its lease (a user who could not
//                    revoke the lease must not attach a key to it)
//   DeleteRange      WRITE on [key, range_end); READ too with prev_kv
//   Txn              READ on every compare's range, and every op of both
//                    branches as above — nested txns included (etcd 3.4 skips
//                    them, which let a nested op escape the check)
//   LeaseRevoke      WRITE on every attached key
// Throws the store's AuthError; passes when auth is off.

import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../pb/types.js';
import type { AuthStore } from './store.js';
import type { AuthInfo } from './types.js';

const EMPTY = new Uint8Array(0);

/** The keys attached to a lease (empty when there is no such lease). */
export type LeaseKeys = (leaseId: bigint) => Iterable<Uint8Array>;

export function checkRange(as: AuthStore, ai: AuthInfo, r: Pick<RangeRequest, 'key' | 'rangeEnd'>): void {
  as.isRangePermitted(ai, r.key, r.rangeEnd);
}

export function checkPut(as: AuthStore, ai: AuthInfo, r: Pick<PutRequest, 'key' | 'lease' | 'prevKv'>, leaseKeys: LeaseKeys): void {
  as.isPutPermitted(ai, r.key);
  checkLeaseKeys(as, ai, r.lease, leaseKeys);
  if (r.prevKv) as.isRangePermitted(ai, r.key, EMPTY);
}

export function checkDeleteRange(as: AuthStore, ai: AuthInfo, r: Pick<DeleteRangeRequest, 'key' | 'rangeEnd' | 'prevKv'>): void {
  as.isDeleteRangePermitted(ai, r.key, r.rangeEnd);
  if (r.prevKv) as.isRangePermitted(ai, r.key, r.rangeEnd);
}

export function checkTxn(as: AuthStore, ai: AuthInfo, t: TxnRequest, leaseKeys: LeaseKeys): void {
  for (const c of t.compare) as.isRangePermitted(ai, c.key, c.rangeEnd);
  checkOps(as, ai, t.success, leaseKeys);
  checkOps(as, ai, t.failure, leaseKeys);
}

function checkOps(as: AuthStore, ai: AuthInfo, ops: RequestOp[], leaseKeys: LeaseKeys): void {
  for (const op of ops) {
    if (op.requestRange) checkRange(as, ai, op.requestRange);
    else if (op.requestPut) checkPut(as, ai, op.requestPut, leaseKeys);
    else if (op.requestDeleteRange) checkDeleteRange(as, ai, op.requestDeleteRange);
    else if (op.requestTxn) checkTxn(as, ai, op.requestTxn, leaseKeys);
  }
}

/** WRITE on every key attached to lease `id` (LeaseRevoke, and a Put onto that lease). */
export function checkLeaseKeys(as: AuthStore, ai: AuthInfo, id: bigint, leaseKeys: LeaseKeys): void {
  if (id === 0n || !as.enabled) return;
  for (const key of leaseKeys(id)) as.isPutPermitted(ai, key);
}
