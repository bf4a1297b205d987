// The v2 API's ports over one in-process MvccStore, for unit tests.
import type { MvccStore } from '../../src/mvcc/index.js';
import type * as pb from '../../src/pb/types.js';
import type { LeaseApi, RaftKV } from '../../src/server/api/ports.js';
import { rangeFromPb, rangeToPb, txnFromPb, txnToPb } from '../../src/server/kv-convert.js';

/** RaftKV and LeaseApi over one MvccStore: what the member does after Raft, without Raft. */
export function ports(store: MvccStore): { kv: RaftKV; lease: LeaseApi; leases: Map<bigint, number> } {
  let ci = 1;
  let applied: Promise<void> = Promise.resolve();
  const header = (revision: number): pb.ResponseHeader => ({ clusterId: 1n, memberId: 1n, revision: BigInt(revision), raftTerm: 1n });
  const leases = new Map<bigint, number>();
  let nextLease = 100n;
  store.setLeaseChecker((id) => leases.has(id));
  const kv: RaftKV = {
    range: async (r) => {
      const res = await store.range(rangeFromPb(r));
      return rangeToPb(res, header(res.revision));
    },
    // One write at a time, in order, as the applier applies committed entries.
    txn: (r) => {
      const done = applied.then(() => store.txn(txnFromPb(r), ci++));
      applied = done.then(() => undefined, () => undefined);
      return done.then((res) => txnToPb(res, header(res.revision)));
    },
    put: () => Promise.reject(new Error('unused')),
    deleteRange: () => Promise.reject(new Error('unused')),
    compact: () => Promise.reject(new Error('unused')),
  };
  const lease: LeaseApi = {
    grant: async (ttl) => {
      const id = nextLease++;
      leases.set(id, Number(ttl));
      return { id, ttl: Number(ttl) };
    },
    revoke: async (id) => void leases.delete(id),
    renew: async () => ({ ttl: 0 }),
    timeToLive: async (id) => (leases.has(id) ? { ttl: leases.get(id)! - 1, grantedTtl: leases.get(id)!, keys: [] } : { ttl: -1, grantedTtl: 0, keys: [] }),
    leases: () => [...leases.keys()],
  };
  return { kv, lease, leases };
}

