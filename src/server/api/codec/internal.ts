// Encoding of the Raft log payload (etcdserverpb.InternalRaftRequest, see
// proto/etcdserverpb/internal.proto). Same conventions as the API codecs.

import { messageCodec } from './registry.js';
import type { Encodable, InternalRaftRequest } from './types.js';

const codec = () => messageCodec<InternalRaftRequest>('etcdserverpb.InternalRaftRequest');

export function encodeInternalRequest(r: Encodable<InternalRaftRequest>): Uint8Array {
  return codec().encode(r);
}

export function decodeInternalRequest(b: Uint8Array): InternalRaftRequest {
  return codec().decode(b);
}
