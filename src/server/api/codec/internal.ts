// Encoding of the Raft log payload (etcdserverpb.InternalRaftRequest, see
// proto/etcdserverpb/internal.proto). Same conventions as the API codecs.

import { messageCodec } from './registry.js';
import type { Encodable, InternalRaftRequest } from './types.js';

const codec = () => messageCodec<InternalRaftRequest>('etcdserverpb.InternalRaftRequest');

export function encodeInternalRequest(r: Encodable<InternalRaftRequest>): Uint8Array {
  // The result lives in the Raft log until the next snapshot. Small Buffers are
  // carved from shared 8 KiB pool slabs, and one long-lived slice pins its whole
  // slab, so the entry gets a backing store of its own.
  const pooled = codec().encode(r);
  const own = new Uint8Array(pooled.length);
  own.set(pooled);
  return own;
}

export function decodeInternalRequest(b: Uint8Array): InternalRaftRequest {
  return codec().decode(b);
}
