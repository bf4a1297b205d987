// Encoding of the Raft log payload (etcdserverpb.InternalRaftRequest, see
// proto/etcdserverpb/internal.proto). Same conventions as the API codecs.

import { WireWriter } from './wire.js';
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

/** The user (and auth revision checked against) a request is proposed for: RequestHeader.username / auth_revision. */
export interface RequestCaller {
  username: string;
  revision: number;
}

/** Field numbers of InternalRaftRequest (proto/etcdserverpb/internal.proto). */
export const INTERNAL_FIELD = { header: 100, put: 4, deleteRange: 5, txn: 6 } as const;

/**
 * An InternalRaftRequest holding a header with `id` and one request given as the
 * wire bytes it arrived in: it decodes exactly as what encodeInternalRequest would
 * write for the decoded request (fields in another order), without a second encode.
 */
export function encodeInternalRequestRaw(id: bigint, field: number, request: Uint8Array, caller?: RequestCaller): Uint8Array {
  return new WireWriter(request.length + 32 + (caller?.username.length ?? 0))
    .message(INTERNAL_FIELD.header, (h) => {
      h.uint64(1, id);
      // RequestHeader.username (2) and auth_revision (3): who the apply-time auth check is for.
      if (caller) h.bytes(2, new TextEncoder().encode(caller.username)).uint64(3, caller.revision);
    })
    .bytes(field, request, true)
    .finish();
}
