// Lease requests: grant, revoke (with its keys), checkpoint.
// A grant's and a revoke's answer carries the store revision as of its apply
// (etcd's newHeader in apply.go), not the one when the proposer is answered:
// entries applied in between would give it a later revision.

import { toLeaseId } from '../../lease/index.js';
import type { RequestOp } from '../../mvcc/index.js';
import type { InternalRaftRequest } from '../../pb/types.js';
import type { RequestHandler } from './handler.js';

export function leaseHandler(req: InternalRaftRequest): RequestHandler | undefined {
  const { leaseGrant, leaseRevoke, leaseCheckpoint } = req;
  if (leaseGrant) {
    return {
      name: 'leaseGrant',
      run: ({ store, lessor }, index) => {
        const granted = lessor.grant(toLeaseId(leaseGrant.ID), leaseGrant.TTL);
        store.setConsistentIndex(index); // same batch as the lease record
        // etcd's answer carries the store revision when the grant applied, not when it is sent.
        return { ...granted, revision: store.currentRevision() };
      },
    };
  }
  if (leaseRevoke) {
    return {
      name: 'leaseRevoke',
      run: ({ store, lessor }, index) => {
        // Throws (not found) before anything changes; the keys go in one revision.
        const keys = lessor.revoke(toLeaseId(leaseRevoke.ID));
        if (keys.length === 0) {
          // No keys: answered at once, as a grant is (the applier then awaits nothing).
          store.setConsistentIndex(index);
          return { revision: store.currentRevision() };
        }
        const deletes: RequestOp[] = keys.map((key) => ({ deleteRange: { key, rangeEnd: new Uint8Array(0), prevKv: false } }));
        return store.txn({ compare: [], success: deletes, failure: [] }, index).then((r) => ({ revision: r.revision }));
      },
    };
  }
  if (leaseCheckpoint) {
    return {
      name: 'leaseCheckpoint',
      run: ({ store, lessor }, index) => {
        for (const c of leaseCheckpoint.checkpoints) lessor.checkpoint(toLeaseId(c.ID), c.remainingTTL);
        store.setConsistentIndex(index);
        return undefined;
      },
    };
  }
  return undefined;
}
