// The v2 API's ports over one in-process MvccStore, for unit tests.
import type * as http from 'node:http';
import { type MvccStore, WatchHub } from '../../src/mvcc/index.js';
import { httpHandler } from '../../src/server/api/http.js';
import { v2Routes } from '../../src/server/api/v2/routes.js';
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
      return { id, ttl: Number(ttl), revision: 0 };
    },
    revoke: async (id) => {
      leases.delete(id);
      return { revision: 0 };
    },
    renew: async () => ({ ttl: 0 }),
    timeToLive: async (id) => (leases.has(id) ? { ttl: leases.get(id)! - 1, grantedTtl: leases.get(id)!, keys: [] } : { ttl: -1, grantedTtl: 0, keys: [] }),
    leases: () => [...leases.keys()],
  };
  return { kv, lease, leases };
}


/** The client port's HTTP handler with /v2 over one MvccStore (members a and b; `leader` as the leader). */
export function v2HttpHandler(store: MvccStore, leader = 1n): http.RequestListener {
  const p = ports(store);
  const info = { memberId: 1n, clusterId: 0xabcn, leader, term: 2, header: () => ({ clusterId: 0xabcn, memberId: 1n, revision: 0n, raftTerm: 2n }) };
  const v2 = v2Routes({
    info, kv: p.kv, lease: p.lease, watch: { watchHub: new WatchHub(store) },
    cluster: { members: () => [{ id: 1n, name: 'a', peerURLs: ['http://127.0.0.1:1'], clientURLs: ['http://127.0.0.1:2'], isLearner: false }, { id: 2n, name: 'b', peerURLs: [], clientURLs: [], isLearner: false }] },
    maintenance: { status: async () => ({ leader, raftIndex: 42, raftTerm: 2, raftAppliedIndex: 42, dbSize: 0, isLearner: false }) },
  });
  const health = { leader: 1n, range: async () => ({}) };
  const metrics = { scrapeMetrics: async () => ({ contentType: 'text/plain', body: '' }) };
  return httpHandler({ health, metrics }, { v2 });
}
