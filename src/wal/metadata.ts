// What our WAL's metadata record holds: this member's and its cluster's ids, in
// the layout of etcd's etcdserverpb.Metadata (NodeID = 1, ClusterID = 2).

import { WireReader, WireWriter } from '../pb/wire-messages.js';

/** The WAL metadata: this member's and its cluster's ids (etcd's etcdserverpb.Metadata). */
export function encodeWalMetadata(memberId: bigint, clusterId: bigint): Uint8Array {
  return new WireWriter().uint64(1, memberId).uint64(2, clusterId).finish();
}

export function decodeWalMetadata(b: Uint8Array): { memberId: bigint; clusterId: bigint } {
  const r = new WireReader(b);
  let memberId = 0n;
  let clusterId = 0n;
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1) memberId = r.bigVarint();
    else if (f === 2) clusterId = r.bigVarint();
    else r.skip(wt);
  }
  return { memberId, clusterId };
}
